"""Eltwise SUM (with coefficients), PROD and MAX."""

from __future__ import annotations

import numpy as np

from ..layers.eltwise import EltwiseParams, apply_eltwise
from .base import REFERENCE, f64


@REFERENCE.register("Eltwise")
def eltwise(node, inputs):
    p: EltwiseParams = node.params
    return [apply_eltwise(p.operation, [f64(x) for x in inputs], p.coeffs, np.maximum)]
