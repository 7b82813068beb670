"""Softmax, ArgMax (indices as float, like Caffe) and Reduction."""

from __future__ import annotations

import numpy as np

from ...layers.base import canonical_axis
from ...layers.reduction import reduction_first_axis
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
        values, indices = _top_k(node, b, x, axis, p.top_k, out[0] if p.out_max_val else None)
        if p.out_max_val:
            return [values]
        return [b.op("Cast", [indices], node.name, output=out[0], to=FLOAT)]
    flat = b.op("Flatten", [x], node.name, axis=1)
    values, indices = _top_k(node, b, flat, 1, p.top_k, None)
    parts = [b.op("Cast", [indices], node.name, to=FLOAT)] + ([values] if p.out_max_val else [])
    stacked = b.op("Concat", parts, node.name, axis=1) if len(parts) == 2 else parts[0]
    target = [0, 2 if p.out_max_val else 1] + list(b.shape(node.outputs[0])[2:])
    return [b.op("Reshape", [stacked, b.ints(node.name, "shape", target)], node.name, output=out[0])]


def _top_k(node, b, x: str, axis: int, k: int, values_name: str | None) -> tuple[str, str]:
    """The k largest along axis in Caffe's order: among exact ties the larger index first.

    TopK puts the lower index first, so it runs on x reversed along the axis and the
    indices are mapped back (size - 1 - i).
    """
    reversed_x = b.op("Slice", [x, b.ints(node.name, "starts", [-1]), b.ints(node.name, "ends", [-(2**63)]),
                                b.ints(node.name, "axes", [axis]), b.ints(node.name, "steps", [-1])], node.name)
    values, reversed_indices = b.op(
        "TopK", [reversed_x, b.ints(node.name, "k", [k])], node.name,
        outputs=[values_name or b.fresh(f"{node.name}/values"), b.fresh(f"{node.name}/indices")],
        axis=axis, largest=1, sorted=1)
    # Read from the running shape: the axis may be the (dynamic) batch.
    size = b.op("Gather", [b.op("Shape", [x], node.name), b.ints(node.name, "axis", [axis])], node.name)
    last = b.op("Sub", [size, b.ints(node.name, "one", [1])], node.name)
    return values, b.op("Sub", [last, reversed_indices], node.name)


_REDUCE_OPS = {"SUM": "ReduceSum", "ASUM": "ReduceL1", "SUMSQ": "ReduceSumSquare", "MEAN": "ReduceMean"}


@ONNX_EMITTERS.register("Reduction")
def reduction(node, inputs, out, b):
    p = node.params
    rank = len(b.shape(node.inputs[0]))
    axis = reduction_first_axis(p.axis, rank)
    op_type = _REDUCE_OPS[p.operation]
    if p.coeff == 1.0:
        return [b.reduce(op_type, inputs[0], list(range(axis, rank)), node.name, keepdims=False, output=out[0])]
    reduced = b.reduce(op_type, inputs[0], list(range(axis, rank)), node.name, keepdims=False)
    return [b.op("Mul", [reduced, b.const(node.name, "coeff", np.float32(p.coeff))], node.name, output=out[0])]
