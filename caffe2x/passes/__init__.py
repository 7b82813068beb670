"""Graph -> graph passes. Each returns a new graph (the input is not changed)
and never changes numerics beyond fp32 rounding; tests/test_passes.py runs
every pass on the golden nets through the reference executor."""

from __future__ import annotations

from collections.abc import Callable

from ..ir.graph import Graph
from .dropout import remove_dropout, scaling_dropout_as_power
from .fold import fold_batchnorm_scale, fold_into_convolution, merge_scale_into_batchnorm

Pass = Callable[[Graph], Graph]

# What every target runs unless told otherwise, in order.
DEFAULT_PASSES: list[Pass] = [remove_dropout, fold_batchnorm_scale, fold_into_convolution]


def run_passes(graph: Graph, passes: list[Pass] | None = None) -> Graph:
    for graph_pass in DEFAULT_PASSES if passes is None else passes:
        graph = graph_pass(graph)
    return graph


# For trainable targets (PyTorch, Keras): keep Dropout and BatchNorm, give BatchNorm its Scale.
TRAINABLE_PASSES: list[Pass] = [scaling_dropout_as_power, merge_scale_into_batchnorm]

__all__ = ["DEFAULT_PASSES", "Pass", "TRAINABLE_PASSES", "fold_batchnorm_scale", "fold_into_convolution",
           "merge_scale_into_batchnorm", "remove_dropout", "run_passes", "scaling_dropout_as_power"]
