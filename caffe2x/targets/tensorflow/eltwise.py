"""Eltwise -> Add / Multiply / Maximum, or WeightedSum for SUM with coefficients."""

from __future__ import annotations

from .base import KERAS_EMITTERS, KerasLayer, num


@KERAS_EMITTERS.register("Eltwise")
def eltwise(node, args, ctx):
    p = node.params
    layout = ctx.layout(node.inputs[0])
    inputs = "[" + ", ".join(args) + "]"
    if p.operation == "SUM" and any(c != 1.0 for c in p.coeffs):
        coeffs = "[" + ", ".join(num(c) for c in p.coeffs) + "]"
        return KerasLayer(f"WeightedSum({coeffs}, name={ctx.name(node)})({inputs})", custom=("WeightedSum",),
                          layouts=[layout])
    op = {"SUM": "Add", "PROD": "Multiply", "MAX": "Maximum"}[p.operation]
    return KerasLayer(f"layers.{op}(name={ctx.name(node)})({inputs})", layouts=[layout])
