"""Element-wise activations and other one-input, same-shape layers."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from .base import LAYERS, LayerDef, check, no_flops, no_params, same_shape


@dataclass(frozen=True)
class ReLUParams:
    negative_slope: float


@dataclass(frozen=True)
class PReLUParams:
    channel_shared: bool


@dataclass(frozen=True)
class ELUParams:
    alpha: float


@dataclass(frozen=True)
class AffinePowerParams:
    """Power: (shift + scale*x)^power. Exp: base^(shift + scale*x). Log: log_base(shift + scale*x).
    base -1 stands for e, as in Caffe."""

    power: float = 1.0
    base: float = -1.0
    scale: float = 1.0
    shift: float = 0.0


def ln_base(base: float) -> float:
    """ln(base) for Exp and Log, base -1 standing for e.

    exp_layer.cpp / log_layer.cpp, LayerSetUp: log_base = (base == -1) ? 1 : log(base);
    Exp computes exp(log_base * (shift + scale * x)), Log ln(shift + scale * x) / log_base.
    """
    return 1.0 if base == -1 else math.log(base)


@dataclass(frozen=True)
class ThresholdParams:
    threshold: float


@dataclass(frozen=True)
class DropoutParams:
    ratio: float
    test_scale: float = 1.0  # what TEST-phase Dropout multiplies by (dropout_test_scale)
    monte_carlo: bool = False  # Bayesian SegNet's sample_weights_test: masks drawn at test time


def dropout_test_scale(ratio: float, scale_train: bool) -> float:
    """The factor a TEST-phase Dropout applies. BVLC scales kept units by 1/(1-p) in
    training, so TEST is the identity (1.0). Fast R-CNN's fork adds scale_train: false,
    which leaves training unscaled and multiplies at TEST by 1/scale_, with
    scale_ = 1/(1-p) held in float (dropout_layer.cpp, rbgirshick/caffe-fast-rcnn@3d85336)."""
    if scale_train:
        return 1.0
    threshold = float(np.float32(ratio))
    scale = float(np.float32(1.0 / (1.0 - threshold)))
    return float(np.float32(1.0 / scale))


def _parse_dropout(layer) -> DropoutParams:
    from ..io.params import block_field

    ratio = layer.dropout_param.dropout_ratio
    monte_carlo = block_field(layer, "dropout_param", "sample_weights_test")
    if monte_carlo:
        warnings.warn(f"Dropout '{layer.name}': sample_weights_test (Bayesian SegNet's Monte Carlo dropout) draws "
                      "random masks at test time; the converted model computes their expectation, the identity, "
                      "as SegNet does without it. Sample by running the model with dropout yourself.", stacklevel=2)
    return DropoutParams(ratio, dropout_test_scale(ratio, block_field(layer, "dropout_param", "scale_train")),
                         monte_carlo)


def _parse_power(layer):
    p = layer.power_param
    return AffinePowerParams(power=p.power, scale=p.scale, shift=p.shift)


def _parse_exp(layer):
    p = layer.exp_param
    check(p.base > 0 or p.base == -1, f"exp base {p.base} must be positive or -1 (e)")
    return AffinePowerParams(base=p.base, scale=p.scale, shift=p.shift)


def _parse_log(layer):
    p = layer.log_param
    check((p.base > 0 and p.base != 1) or p.base == -1, f"log base {p.base} must be positive, not 1, or -1 (e)")
    return AffinePowerParams(base=p.base, scale=p.scale, shift=p.shift)


def _prelu_weights(params: PReLUParams, bottoms):
    if params.channel_shared:
        return [()]
    check(len(bottoms[0]) >= 2, "PReLU needs an input with a channel axis")
    return [(bottoms[0][1],)]


_SIMPLE = {
    "ReLU": lambda layer: ReLUParams(layer.relu_param.negative_slope),
    "ELU": lambda layer: ELUParams(layer.elu_param.alpha),
    "Power": _parse_power,
    "Exp": _parse_exp,
    "Log": _parse_log,
    "Threshold": lambda layer: ThresholdParams(layer.threshold_param.threshold),
    "Sigmoid": no_params,
    "TanH": no_params,
    "AbsVal": no_params,
    "BNLL": no_params,
}

for _type, _parse in _SIMPLE.items():
    LAYERS.register(_type, LayerDef(_parse, same_shape))

LAYERS.register("PReLU", LayerDef(lambda layer: PReLUParams(layer.prelu_param.channel_shared),
                                  same_shape, _prelu_weights))
LAYERS.register("Dropout", LayerDef(_parse_dropout, same_shape, flops=no_flops))
