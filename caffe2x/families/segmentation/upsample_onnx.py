"""The YOLO ports' Upsample in standard ONNX operators: Unsqueeze, Expand by the scale on two
new axes, Reshape (exact copies). SegNet's form is maxunpool_onnx.py."""

from __future__ import annotations


def emit_nearest(node, inputs, outputs, b):
    name = node.name
    _, c, h, w = b.shape(node.inputs[0])
    scale = node.params.scale[0]
    spread = b.op("Unsqueeze", [inputs[0], b.ints(name, "axes", [3, 5])], name)
    repeated = b.op("Expand", [spread, b.ints(name, "repeats", [1, 1, 1, scale, 1, scale])], name)
    return [b.op("Reshape", [repeated, b.ints(name, "shape", [0, c, h * scale, w * scale])], name,
                 output=outputs[0])]
