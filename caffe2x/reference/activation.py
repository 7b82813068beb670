"""Element-wise activations."""

from __future__ import annotations

import numpy as np

from ..layers.activation import ln_base
from .base import REFERENCE, channel_view, elementwise, f64


@elementwise
def relu(node, x):
    return np.maximum(x, 0) + node.params.negative_slope * np.minimum(x, 0)


@elementwise
def elu(node, x):
    return np.where(x > 0, x, node.params.alpha * np.expm1(np.minimum(x, 0)))


@elementwise
def sigmoid(node, x):
    return 0.5 * np.tanh(0.5 * x) + 0.5


@elementwise
def tanh(node, x):
    return np.tanh(x)


@elementwise
def absval(node, x):
    return np.abs(x)


@elementwise
def bnll(node, x):
    # Caffe's overflow-safe log(1 + e^x).
    return np.where(x > 0, x + np.log1p(np.exp(-np.abs(x))), np.log1p(np.exp(np.minimum(x, 0))))


@elementwise
def power(node, x):
    p = node.params
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.power(p.shift + p.scale * x, p.power)


@elementwise
def exp(node, x):
    p = node.params
    return np.exp(ln_base(p.base) * (p.shift + p.scale * x))


@elementwise
def log(node, x):
    p = node.params
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.log(p.shift + p.scale * x) / ln_base(p.base)


@elementwise
def threshold(node, x):
    return (x > node.params.threshold).astype(np.float64)


@elementwise
def dropout(node, x):
    # BVLC scales at training time, so TEST-phase Dropout is the identity; Fast R-CNN's
    # scale_train: false scales here instead (layers.activation.dropout_test_scale).
    return x if node.params.test_scale == 1.0 else x * np.float32(node.params.test_scale)


@REFERENCE.register("PReLU")
def prelu(node, inputs):
    x = f64(inputs[0])
    slope = f64(node.weights[0])
    if not node.params.channel_shared:
        slope = channel_view(slope, x.ndim)
    return [np.maximum(x, 0) + slope * np.minimum(x, 0)]


for _type, _kernel in {"ReLU": relu, "ELU": elu, "Sigmoid": sigmoid, "TanH": tanh, "AbsVal": absval,
                       "BNLL": bnll, "Power": power, "Exp": exp, "Log": log,
                       "Threshold": threshold, "Dropout": dropout}.items():
    REFERENCE.register(_type, _kernel)
