"""Eltwise: SUM (with coefficients), PROD, MAX."""

from __future__ import annotations

import numpy as np

from .registry import ONNX_EMITTERS


@ONNX_EMITTERS.register("Eltwise")
def eltwise(node, inputs, out, b):
    p = node.params
    if p.operation == "PROD":
        result = inputs[0]
        for i, x in enumerate(inputs[1:], start=2):
            result = b.op("Mul", [result, x], node.name, output=out[0] if i == len(inputs) else None)
        return [result]
    if p.operation == "MAX":
        return [b.op("Max", list(inputs), node.name, output=out[0])]
    terms = [x if c == 1.0 else b.op("Mul", [x, b.const(node.name, f"coeff{i}", np.float32(c))], node.name)
             for i, (x, c) in enumerate(zip(inputs, p.coeffs))]
    if len(terms) == 2:
        return [b.op("Add", terms, node.name, output=out[0])]
    return [b.op("Sum", terms, node.name, output=out[0])]
