"""Concat, Slice, Flatten, Reshape, Crop, Tile: static shapes, dynamic batch kept."""

from __future__ import annotations

from ...layers.base import canonical_axis
from ...layers.tensor import crop_offsets, reshape_start_axis, slice_bounds
from .registry import ONNX_EMITTERS


@ONNX_EMITTERS.register("Concat")
def concat(node, inputs, out, b):
    axis = canonical_axis(node.params.axis, len(b.shape(node.inputs[0])))
    return [b.op("Concat", list(inputs), node.name, output=out[0], axis=axis)]


@ONNX_EMITTERS.register("Slice")
def slice_(node, inputs, out, b):
    shape = b.shape(node.inputs[0])
    axis = canonical_axis(node.params.axis, len(shape))
    sizes = [end - start for start, end in slice_bounds(node.params, shape[axis])]
    if len(sizes) == 1:
        return [inputs[0]]
    return b.op("Split", [inputs[0], b.ints(node.name, "split", sizes)], node.name, outputs=list(out), axis=axis)


def _reshape_target(in_shape, out_shape, keeps_batch: bool, free: int | None) -> list[int]:
    """The Reshape target: 0 copies the (dynamic) batch when axis 0 is untouched;
    otherwise the one inferred (-1) dimension absorbs it."""
    target = list(out_shape)
    if keeps_batch:
        target[0] = 0
    elif free is not None:
        target[free] = -1
    return target


def _reshape(node, inputs, out, b, keeps_batch: bool, free: int | None):
    target = _reshape_target(b.shape(node.inputs[0]), b.shape(node.outputs[0]), keeps_batch, free)
    return [b.op("Reshape", [inputs[0], b.ints(node.name, "shape", target)], node.name, output=out[0])]


@ONNX_EMITTERS.register("Flatten")
def flatten(node, inputs, out, b):
    start = canonical_axis(node.params.axis, len(b.shape(node.inputs[0])))
    return _reshape(node, inputs, out, b, keeps_batch=start > 0, free=0 if start == 0 else None)


@ONNX_EMITTERS.register("Reshape")
def reshape(node, inputs, out, b):
    p = node.params
    ndim = len(b.shape(node.inputs[0]))
    start = reshape_start_axis(p.axis, ndim)
    keeps_batch = start > 0 or (bool(p.dims) and p.dims[0] == 0)
    free = start + p.dims.index(-1) if -1 in p.dims else None
    return _reshape(node, inputs, out, b, keeps_batch, free)


@ONNX_EMITTERS.register("Crop")
def crop(node, inputs, out, b):
    shapes = [b.shape(v) for v in node.inputs]
    axis, offsets = crop_offsets(node.params, shapes)
    axes = list(range(axis, len(shapes[0])))
    if node.inputs[1] in b.varying:  # dynamic height and width: the sizes of the second bottom at run time
        sizes = b.op("Slice", [b.op("Shape", [inputs[1]], node.name), b.ints(node.name, "from", [axis]),
                               b.ints(node.name, "to", [len(shapes[0])])], node.name)
        ends = b.op("Add", [sizes, b.ints(node.name, "offsets", offsets)], node.name)
    else:
        ends = b.ints(node.name, "ends", [o + shapes[1][a] for o, a in zip(offsets, axes)])
    return [b.op("Slice", [inputs[0], b.ints(node.name, "starts", offsets), ends,
                           b.ints(node.name, "axes", axes)], node.name, output=out[0])]


@ONNX_EMITTERS.register("Tile")
def tile(node, inputs, out, b):
    shape = b.shape(node.inputs[0])
    repeats = [1] * len(shape)
    repeats[canonical_axis(node.params.axis, len(shape))] = node.params.tiles
    return [b.op("Tile", [inputs[0], b.ints(node.name, "repeats", repeats)], node.name, output=out[0])]
