"""One Caffe layer run by the NumPy reference: what the runtime classes are checked against."""

from __future__ import annotations

import numpy as np

import caffe2x
from caffe2x.io.prototxt import parse_prototxt_text
from caffe2x.reference import run
from caffe2x.weights import fill_random


def reference(layer: str, *inputs: np.ndarray, seed: int = 0):
    """Run `layer` (prototxt text; bottoms named in0, in1, ..., top named out) on the inputs.
    Returns (output, the layer's weights)."""
    lines = [f'layer {{ name: "i{i}" type: "Input" top: "in{i}" input_param {{ shape {{ '
             + " ".join(f"dim: {d}" for d in x.shape) + " } } }" for i, x in enumerate(inputs)]
    net = parse_prototxt_text("\n".join(lines + [layer]))
    graph = fill_random(caffe2x.graph_from_net(net), seed=seed)
    values = run(graph, {f"in{i}": x for i, x in enumerate(inputs)})
    node = graph.nodes[-1]
    return values[node.outputs[0]], node.weights


def rng_array(*shape: int, seed: int = 0, low: float | None = None) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal(shape)
    return (np.abs(x) + low if low is not None else x).astype(np.float32)


def normalized(got, want) -> float:
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    return float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-12))


# Layers both runtimes are checked on (bottom in0, top out).
def pooling_layer(method: str) -> str:
    """pad 2 > kernel 3 / 2 (PyTorch's own pooling refuses it) with ceil rounding: the
    last window overhangs the padding, which the AVE divisor must leave out."""
    return ('layer { name: "p" type: "Pooling" bottom: "in0" top: "out" pooling_param { '
            f'pool: {method} kernel_size: 3 stride: 2 pad: 2 }} }}')


def mvn_layer(across: bool, variance: bool) -> str:
    return ('layer { name: "m" type: "MVN" bottom: "in0" top: "out" mvn_param { '
            f'across_channels: {str(across).lower()} normalize_variance: {str(variance).lower()} eps: 0.01 }} }}')


def reduction_layer(operation: str) -> str:
    return ('layer { name: "r" type: "Reduction" bottom: "in0" top: "out" reduction_param { '
            f'operation: {operation} axis: 1 coeff: -1.5 }} }}')


POWER = 'layer { name: "a" type: "Power" bottom: "in0" top: "out" power_param { power: 2.5 scale: 0.5 shift: 0.25 } }'
EXP = 'layer { name: "a" type: "Exp" bottom: "in0" top: "out" exp_param { base: 2 scale: 0.5 shift: 0.1 } }'
LOG = 'layer { name: "a" type: "Log" bottom: "in0" top: "out" log_param { base: 10 scale: 2 shift: 0.5 } }'
THRESHOLD = 'layer { name: "a" type: "Threshold" bottom: "in0" top: "out" threshold_param { threshold: 0.7 } }'
ABSVAL = 'layer { name: "a" type: "AbsVal" bottom: "in0" top: "out" }'
