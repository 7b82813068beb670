"""Eltwise: SUM (with coefficients), PROD and MAX over same-shaped bottoms."""

from __future__ import annotations

from dataclasses import dataclass

from .base import LAYERS, LayerDef, check, count


@dataclass(frozen=True)
class EltwiseParams:
    operation: str  # "SUM", "PROD" or "MAX"
    coeffs: tuple[float, ...]  # one per bottom (all 1 unless given); SUM only


def parse_eltwise(layer) -> EltwiseParams:
    p = layer.eltwise_param
    operation = type(p).EltwiseOp.Name(p.operation)
    n = len(layer.bottom)
    if p.coeff:
        check(operation == "SUM", "coeff is only allowed with operation SUM")
        check(len(p.coeff) == n, f"{len(p.coeff)} coeff values for {n} bottoms")
    coeffs = tuple(p.coeff) if p.coeff else (1.0,) * n
    return EltwiseParams(operation, coeffs)


def infer_eltwise(params: EltwiseParams, bottoms):
    for shape in bottoms[1:]:
        check(tuple(shape) == tuple(bottoms[0]),
              f"bottoms have different shapes: {[list(s) for s in bottoms]}")
    return [bottoms[0]]


def eltwise_flops(params: EltwiseParams, bottoms, tops):
    return count(tops[0]) * max(len(bottoms) - 1, 1)


LAYERS.register("Eltwise", LayerDef(parse_eltwise, infer_eltwise, flops=eltwise_flops,
                                    bottoms=(2, None)))


def apply_eltwise(operation: str, inputs, coeffs, maximum):
    """Caffe Eltwise of same-shaped arrays of any type; coeffs None means all 1, and a
    coefficient of 1 is not multiplied (the same value, less work); maximum(a, b) is
    the array type's element-wise maximum.

    eltwise_layer.cpp, Forward_cpu: PROD multiplies the bottoms in order, SUM adds
    coeff_i * bottom_i (caffe_axpy), MAX keeps the larger value.
    """
    y = inputs[0]
    if operation == "PROD":
        for x in inputs[1:]:
            y = y * x
        return y
    if operation == "MAX":
        for x in inputs[1:]:
            y = maximum(y, x)
        return y
    coeffs = coeffs or [1.0] * len(inputs)
    y = y if coeffs[0] == 1 else y * coeffs[0]
    for x, c in zip(inputs[1:], coeffs[1:]):
        y = y + (x if c == 1 else x * c)
    return y
