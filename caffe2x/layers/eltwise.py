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
