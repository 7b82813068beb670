"""Eltwise -> the Eltwise helper (SUM with coefficients, PROD, MAX)."""

from __future__ import annotations

from .base import TORCH_EMITTERS, TorchLayer, num


@TORCH_EMITTERS.register("Eltwise")
def eltwise(node, ctx):
    p = node.params
    if p.operation == "SUM" and any(c != 1.0 for c in p.coeffs):
        coeffs = "(" + ", ".join(num(c) for c in p.coeffs) + ("," if len(p.coeffs) == 1 else "") + ")"
        return TorchLayer(f"Eltwise('SUM', {coeffs})", helpers=("Eltwise",))
    return TorchLayer(f"Eltwise({p.operation!r})", helpers=("Eltwise",))
