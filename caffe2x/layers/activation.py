"""Element-wise activations and other one-input, same-shape layers."""

from __future__ import annotations

import math
from dataclasses import dataclass

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
LAYERS.register("Dropout", LayerDef(lambda layer: DropoutParams(layer.dropout_param.dropout_ratio),
                                    same_shape, flops=no_flops))
