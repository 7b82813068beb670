"""Max-unpooling (SegNet's Upsample, DeconvNet's Unpooling with a mask) in standard ONNX
operators (maxunpool.py says what the forks compute).

One ScatterElements of the values onto zeros, per plane of the data flattened to
(N*C, H*W), after every index that must not write is sent to a spare column, cut off after:
-1 and indices past the plane, and each value that a later one overwrites in the fork. Two
mask values of a plane are equal only when their pooling windows overlap, that is, for outputs
less than ceil(kernel / stride) apart on both axes (later_in_window_reach): each mask value is
compared with those of its later neighbours within that reach (padded with -2, equal to
nothing), and the written indices are then distinct, as ScatterElements wants (exact in every
opset, without a reduction).
"""

from __future__ import annotations

import numpy as np

INT64 = 7  # ONNX TensorProto data type
NOT_AN_INDEX = -2.0  # the padding of the mask when compared with its neighbours


def later_neighbours(reach: tuple[int, int]) -> list[tuple[int, int]]:
    """Offsets (dy, dx) of the outputs after one in row-major order whose windows may overlap it."""
    return [(dy, dx) for dy in range(reach[0] + 1) for dx in range(-reach[1], reach[1] + 1)
            if (dy, dx) > (0, 0)]


def _overwritten(b, name: str, mask: str, shape, reach) -> str | None:
    """Bool (N, C, H, W): the fork writes a later value at the same position."""
    _, _, h, w = shape
    offsets = later_neighbours(reach)
    if not offsets:
        return None
    pads = b.ints(name, "pads", [0, 0, 0, reach[1], 0, 0, reach[0], reach[1]])
    padded = b.op("Pad", [mask, pads, b.const(name, "not_an_index", np.float32(NOT_AN_INDEX))], name)
    found = None
    for dy, dx in offsets:
        start = [dy, reach[1] + dx]
        later = b.op("Slice", [padded, b.ints(name, "start", start), b.ints(name, "end", [start[0] + h, start[1] + w]),
                               b.ints(name, "axes", [2, 3])], name)
        same = b.op("Equal", [mask, later], name)
        found = same if found is None else b.op("Or", [found, same], name)
    return found


def emit_unpool(node, inputs, outputs, b, out_hw, reach: tuple[int, int]):
    name = node.name
    shape = b.shape(node.inputs[0])
    _, c, h, w = shape
    out_h, out_w = out_hw
    plane = out_h * out_w
    flat_shape = b.ints(name, "flat", [-1, h * w])
    data = b.op("Reshape", [inputs[0], flat_shape], name)
    index = b.op("Cast", [b.op("Reshape", [inputs[1], flat_shape], name)], name, to=INT64)
    writes = b.op("And", [b.op("GreaterOrEqual", [index, b.ints(name, "zero", [0])], name),
                          b.op("Less", [index, b.ints(name, "plane", [plane])], name)], name)
    overwritten = _overwritten(b, name, inputs[1], shape, reach)
    if overwritten is not None:
        kept = b.op("Not", [b.op("Reshape", [overwritten, flat_shape], name)], name)
        writes = b.op("And", [writes, kept], name)
    index = b.op("Where", [writes, index, b.ints(name, "spare", [plane])], name)
    rows = b.op("Slice", [b.op("Shape", [data], name), b.ints(name, "start", [0]), b.ints(name, "end", [1])], name)
    shape_out = b.op("Concat", [rows, b.ints(name, "width", [plane + 1])], name, axis=0)
    zeros = b.op("ConstantOfShape", [shape_out], name, value=_zero())
    scattered = b.op("ScatterElements", [zeros, index, data], name, axis=1)
    kept = b.op("Slice", [scattered, b.ints(name, "start", [0]), b.ints(name, "end", [plane]),
                          b.ints(name, "axis", [1])], name)
    return [b.op("Reshape", [kept, b.ints(name, "shape", [-1, c, out_h, out_w])], name, output=outputs[0])]


def _zero():
    from onnx import numpy_helper

    return numpy_helper.from_array(np.zeros(1, np.float32))
