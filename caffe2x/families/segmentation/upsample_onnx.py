"""Upsample in standard ONNX operators (upsample.py says what the forks compute).

SegNet's form, per plane of the data flattened to (N*C, H*W): the mask's indices (invalid ones,
-1 or past the plane, sent to a spare column that is cut off), then
- pooling windows that do not overlap: no two indices of a plane are equal, and one
  ScatterElements of the values onto zeros is exact;
- overlapping windows: the fork's later write wins, so each top position takes the value of
  the largest input position naming it: ScatterElements with reduction max of the positions
  (opset 18 and later), GatherElements of the values, zero where no position came.
The nearest form: Unsqueeze, Expand by the scale on two new axes, Reshape (exact copies).
"""

from __future__ import annotations

import numpy as np

from .upsample import output_hw

FLOAT, INT64 = 1, 7  # ONNX TensorProto data types


def _constant_of_shape(b, name: str, shape: str, value, dtype) -> str:
    from onnx import numpy_helper

    return b.op("ConstantOfShape", [shape], name, value=numpy_helper.from_array(np.array([value], dtype)))


def emit_unpool(node, inputs, outputs, b, disjoint: bool):
    name = node.name
    _, c, h, w = b.shape(node.inputs[0])
    out_h, out_w = output_hw(node.params, h, w)
    plane = out_h * out_w
    if not disjoint and b.opset < 18:
        raise b.unsupported(node, "its mask comes from overlapping pooling windows, so two values may land on one "
                                  "position and the fork's later write wins: that needs ScatterElements with "
                                  "reduction max, ONNX opset 18 or later (--opset 18)")
    flat_shape = b.ints(name, "flat", [-1, h * w])
    data = b.op("Reshape", [inputs[0], flat_shape], name)
    index = b.op("Cast", [b.op("Reshape", [inputs[1], flat_shape], name)], name, to=INT64)
    valid = b.op("And", [b.op("GreaterOrEqual", [index, b.ints(name, "zero", [0])], name),
                         b.op("Less", [index, b.ints(name, "plane", [plane])], name)], name)
    index = b.op("Where", [valid, index, b.ints(name, "spare", [plane])], name)
    rows = b.op("Slice", [b.op("Shape", [data], name), b.ints(name, "start", [0]), b.ints(name, "end", [1])], name)
    shape = b.op("Concat", [rows, b.ints(name, "width", [plane + 1])], name, axis=0)
    if disjoint:
        zeros = _constant_of_shape(b, name, shape, 0.0, np.float32)
        scattered = b.op("ScatterElements", [zeros, index, data], name, axis=1)
    else:
        nobody = _constant_of_shape(b, name, shape, -1, np.int64)
        positions = b.op("Expand", [b.ints(name, "positions", np.arange(h * w)[None]), b.op("Shape", [index], name)],
                         name)
        winner = b.op("ScatterElements", [nobody, index, positions], name, axis=1, reduction="max")
        values = b.op("GatherElements", [data, b.op("Max", [winner, b.ints(name, "zero", [0])], name)], name, axis=1)
        found = b.op("GreaterOrEqual", [winner, b.ints(name, "zero", [0])], name)
        scattered = b.op("Where", [found, values, b.const(name, "empty", np.float32(0))], name)
    kept = b.op("Slice", [scattered, b.ints(name, "start", [0]), b.ints(name, "end", [plane]),
                          b.ints(name, "axis", [1])], name)
    return [b.op("Reshape", [kept, b.ints(name, "shape", [-1, c, out_h, out_w])], name, output=outputs[0])]


def emit_nearest(node, inputs, outputs, b):
    name = node.name
    _, c, h, w = b.shape(node.inputs[0])
    scale = node.params.scale[0]
    spread = b.op("Unsqueeze", [inputs[0], b.ints(name, "axes", [3, 5])], name)
    repeated = b.op("Expand", [spread, b.ints(name, "repeats", [1, 1, 1, scale, 1, scale])], name)
    return [b.op("Reshape", [repeated, b.ints(name, "shape", [0, c, h * scale, w * scale])], name,
                 output=outputs[0])]
