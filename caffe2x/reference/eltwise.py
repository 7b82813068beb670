"""Eltwise SUM (with coefficients), PROD and MAX."""

from __future__ import annotations

import numpy as np

from ..layers.eltwise import EltwiseParams
from .base import REFERENCE, f64


@REFERENCE.register("Eltwise")
def eltwise(node, inputs):
    p: EltwiseParams = node.params
    xs = [f64(x) for x in inputs]
    if p.operation == "SUM":
        y = np.zeros_like(xs[0])
        for coeff, x in zip(p.coeffs, xs):
            y += coeff * x
    elif p.operation == "PROD":
        y = xs[0].copy()
        for x in xs[1:]:
            y *= x
    else:
        y = xs[0].copy()
        for x in xs[1:]:
            np.maximum(y, x, out=y)
    return [y]
