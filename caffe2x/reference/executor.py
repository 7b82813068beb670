"""Run a graph forward with the reference kernels, like Caffe's Net::Forward."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np

from ..errors import InputShapeError, UnsupportedLayerError, WeightsError
from ..ir.graph import Graph, Node
from ..registry import Registry
from .base import REFERENCE, Kernel


def check_inputs(graph: Graph, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Inputs keyed by Caffe input name -> float32 arrays keyed by value name."""
    by_top = {graph.values[name].top: name for name in graph.inputs}
    missing = [top for top in by_top if top not in inputs]
    extra = [key for key in inputs if key not in by_top]
    if missing or extra:
        raise InputShapeError(
            f"net inputs are {sorted(by_top)}; missing {missing or 'none'}, unexpected {extra or 'none'}."
        )
    arrays = {}
    for top, name in by_top.items():
        array = np.ascontiguousarray(inputs[top], dtype=np.float32)
        if array.shape != graph.values[name].shape:
            raise InputShapeError(
                f"input '{top}' has shape {list(array.shape)}, the net was built for "
                f"{list(graph.values[name].shape)} (set it with --input-shape {top}=...)."
            )
        arrays[name] = array
    return arrays


def _check_runnable(graph: Graph, registry: Registry[Kernel]) -> None:
    pairs = [(n.name, n.type) for n in graph.nodes if n.type != "Input"]
    missing = registry.missing(pairs)
    if missing:
        raise UnsupportedLayerError(missing, registry.stage)
    unweighted = [n.name for n in graph.nodes if n.weight_shapes and not n.weights]
    if unweighted:
        raise WeightsError(
            f"layer(s) {', '.join(repr(n) for n in unweighted)} have no weights: pass a caffemodel "
            "(-w) or fill random ones (caffe2x.weights.fill_random)."
        )


def iter_forward(
    graph: Graph, inputs: Mapping[str, np.ndarray], *, keep: set[str] | None = None,
    registry: Registry[Kernel] = REFERENCE, overrides: Mapping[str, np.ndarray] | None = None,
) -> Iterator[tuple[Node, list[np.ndarray]]]:
    """Yield (node, its float32 outputs) in order; values nobody needs later are freed
    unless listed in `keep` (None keeps everything). `overrides` (value name -> array) replaces
    what a node computes for that value, so later layers run on it (verify's near-ties)."""
    _check_runnable(graph, registry)
    values = check_inputs(graph, inputs)
    last_use = {name: i for i, node in enumerate(graph.nodes) for name in node.inputs}
    for index, node in enumerate(graph.nodes):
        if node.type == "Input":
            yield node, [values[name] for name in node.outputs]
            continue
        bottoms = [values[name] for name in node.inputs]
        outputs = registry.get(node.type)(node, bottoms)
        expected = _expected_shapes(node, graph, bottoms)
        outputs = [_as_blob(node, shape, (overrides or {}).get(name, out))
                   for name, shape, out in zip(node.outputs, expected, outputs)]
        values.update(zip(node.outputs, outputs))
        yield node, outputs
        if keep is not None:
            for name in node.inputs:
                if last_use.get(name) == index and name not in keep:
                    values.pop(name, None)


def _expected_shapes(node: Node, graph: Graph, bottoms: list[np.ndarray]) -> list[tuple[int, ...]]:
    """The tops' shapes by the layer's shape rule: as built, or, downstream of a data-dependent
    dim (a Proposal's rows, which ROIPooling, fc6 and cls_prob then carry), the rule applied to
    the bottoms as they are."""
    from ..layers import LAYERS

    built = [graph.values[name].shape for name in node.outputs]
    actual = [tuple(b.shape) for b in bottoms]
    if actual == [graph.values[name].shape for name in node.inputs]:
        return built
    return [tuple(shape) for shape in LAYERS.get(node.type).infer(node.params, actual)]


def _as_blob(node: Node, expected: tuple[int, ...], array: np.ndarray) -> np.ndarray:
    from ..layers import LAYERS, shapes_agree

    array = np.asarray(array, dtype=np.float32)
    # A kernel disagreeing with its own shape rule is our bug (data-dependent dims excepted).
    if not shapes_agree(expected, array.shape, LAYERS.get(node.type).data_dependent):
        raise AssertionError(f"{node.type} '{node.name}' made {array.shape}, shape rule says {expected}")
    return array


def run(graph: Graph, inputs: Mapping[str, np.ndarray], *, keep_all: bool = True,
        overrides: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Forward the whole net; returns value name -> float32 array (all values, or the outputs).
    `overrides`: value name -> the array to use instead of what its layer computes."""
    keep = None if keep_all else set(graph.outputs)
    results = dict(check_inputs(graph, inputs))
    for node, outputs in iter_forward(graph, inputs, keep=keep, overrides=overrides):
        results.update(zip(node.outputs, outputs))
    if not keep_all:
        results = {name: results[name] for name in graph.outputs}
    return results


def as_golden_blobs(graph: Graph, values: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Values keyed like the golden .npz files: "input:NAME" and "LAYER:TOP"."""
    return {key: values[name] for key, name in graph.blob_keys().items() if name in values}
