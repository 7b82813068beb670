"""Softmax, ArgMax (indices as float, like Caffe) and Reduction."""

from __future__ import annotations

import numpy as np

from ...layers.base import canonical_axis
from .registry import ONNX_EMITTERS

FLOAT = 1  # onnx.TensorProto.FLOAT


@ONNX_EMITTERS.register("Softmax")
def softmax(node, inputs, out, b):
    axis = canonical_axis(node.params.axis, len(b.shape(node.inputs[0])))
    return [b.op("Softmax", [inputs[0]], node.name, output=out[0], axis=axis)]


@ONNX_EMITTERS.register("ArgMax")
def argmax(node, inputs, out, b):
    p = node.params
    shape = b.shape(node.inputs[0])
    x = inputs[0]
    if p.axis is not None:
        axis = canonical_axis(p.axis, len(shape))
        if p.top_k == 1 and not p.out_max_val:
            # select_last_index: Caffe's sort puts the larger index first among ties.
            index = b.op("ArgMax", [x], node.name, axis=axis, keepdims=1, select_last_index=1)
            return [b.op("Cast", [index], node.name, output=out[0], to=FLOAT)]
        # TopK puts the lower index first among exact ties, Caffe the higher: only exact ties differ.
        values_name = out[0] if p.out_max_val else b.fresh(f"{node.name}/values")
        values, indices = b.op("TopK", [x, b.ints(node.name, "k", [p.top_k])], node.name,
                               outputs=[values_name, b.fresh(f"{node.name}/indices")],
                               axis=axis, largest=1, sorted=1)
        if p.out_max_val:
            return [values]
        return [b.op("Cast", [indices], node.name, output=out[0], to=FLOAT)]
    flat = b.op("Flatten", [x], node.name, axis=1)
    values, indices = b.op("TopK", [flat, b.ints(node.name, "k", [p.top_k])], node.name,
                           outputs=[b.fresh(f"{node.name}/values"), b.fresh(f"{node.name}/indices")],
                           axis=1, largest=1, sorted=1)
    parts = [b.op("Cast", [indices], node.name, to=FLOAT)] + ([values] if p.out_max_val else [])
    stacked = b.op("Concat", parts, node.name, axis=1) if len(parts) == 2 else parts[0]
    target = [0, 2 if p.out_max_val else 1] + list(b.shape(node.outputs[0])[2:])
    return [b.op("Reshape", [stacked, b.ints(node.name, "shape", target)], node.name, output=out[0])]


_REDUCE_OPS = {"SUM": "ReduceSum", "ASUM": "ReduceL1", "SUMSQ": "ReduceSumSquare", "MEAN": "ReduceMean"}


@ONNX_EMITTERS.register("Reduction")
def reduction(node, inputs, out, b):
    p = node.params
    rank = len(b.shape(node.inputs[0]))
    axis = canonical_axis(p.axis, rank) if rank else 0
    op_type = _REDUCE_OPS[p.operation]
    if p.coeff == 1.0:
        return [b.reduce(op_type, inputs[0], list(range(axis, rank)), node.name, keepdims=False, output=out[0])]
    reduced = b.reduce(op_type, inputs[0], list(range(axis, rank)), node.name, keepdims=False)
    return [b.op("Mul", [reduced, b.const(node.name, "coeff", np.float32(p.coeff))], node.name, output=out[0])]
