"""Concat, Slice, Flatten, Reshape, Crop, Tile with their axes mapped to NHWC."""

from __future__ import annotations

from ...layers.base import canonical_axis
from ...layers.tensor import crop_offsets, reshape_start_axis, slice_bounds
from .base import CAFFE, FLAT_NHWC, KERAS_EMITTERS, NHWC, NHWC_AXIS, KerasLayer


def _axis(ctx, value: str, axis: int) -> int:
    rank = len(ctx.shape(value))
    axis = canonical_axis(axis, rank)
    return NHWC_AXIS[axis] if ctx.layout(value) == NHWC else axis


@KERAS_EMITTERS.register("Concat")
def concat(node, args, ctx):
    axis = _axis(ctx, node.inputs[0], node.params.axis)
    return KerasLayer(f"layers.Concatenate({axis}, name={ctx.name(node)})([{', '.join(args)}])",
                      layouts=[ctx.layout(node.inputs[0])])


@KERAS_EMITTERS.register("Slice")
def slice_(node, args, ctx):
    value = node.inputs[0]
    shape = ctx.shape(value)
    sizes = [end - start for start, end in slice_bounds(node.params, shape[canonical_axis(node.params.axis,
                                                                                           len(shape))])]
    axis = _axis(ctx, value, node.params.axis)
    return KerasLayer(f"Split({axis}, {sizes}, name={ctx.name(node)})({args[0]})", custom=("Split",),
                      layouts=[ctx.layout(value)] * len(sizes))


def _reshaped(node, args, ctx, target: list[int], keep_batch: bool, free: int | None) -> KerasLayer:
    """Reshape in Caffe's order (transposing a 4-D input first, and a 4-D result back)."""
    x = ctx.to_caffe(node, args[0], node.inputs[0])
    four_d = len(target) == 4
    name = ctx.name(node, "reshape") if four_d else ctx.name(node)  # the outermost layer bears the Caffe name
    if keep_batch:
        expr, custom = f"layers.Reshape({tuple(target[1:])}, name={name})({x})", ()
    else:
        shape = list(target)
        if free is not None:
            shape[free] = -1
        expr, custom = f"Reshape({shape}, name={name})({x})", ("Reshape",)
    if four_d:
        return KerasLayer(ctx.to_nhwc_final(node, expr), custom=custom, layouts=[NHWC])
    return KerasLayer(expr, custom=custom, layouts=[CAFFE])


@KERAS_EMITTERS.register("Flatten")
def flatten(node, args, ctx):
    value = node.inputs[0]
    rank = len(ctx.shape(value))
    start, end = canonical_axis(node.params.axis, rank), canonical_axis(node.params.end_axis, rank)
    target = list(ctx.shape(node.outputs[0]))
    if ctx.layout(value) == NHWC and (start, end) == (1, 3) and ctx.only_dense_readers(node.outputs[0]):
        # Flatten in NHWC order; the InnerProducts reading it permute their weight rows.
        return KerasLayer(f"layers.Flatten(name={ctx.name(node)})({args[0]})", layouts=[FLAT_NHWC],
                          flat_source=tuple(ctx.shape(value)[1:]))
    return _reshaped(node, args, ctx, target, keep_batch=start > 0, free=0 if start == 0 else None)


@KERAS_EMITTERS.register("Reshape")
def reshape(node, args, ctx):
    p = node.params
    rank = len(ctx.shape(node.inputs[0]))
    start = reshape_start_axis(p.axis, rank)
    keep_batch = start > 0 or (bool(p.dims) and p.dims[0] == 0)
    free = start + p.dims.index(-1) if -1 in p.dims and not keep_batch else None
    return _reshaped(node, args, ctx, list(ctx.shape(node.outputs[0])), keep_batch, free)


@KERAS_EMITTERS.register("Crop")
def crop(node, args, ctx):
    shapes = [ctx.shape(v) for v in node.inputs]
    axis, offsets = crop_offsets(node.params, shapes)
    layout = ctx.layout(node.inputs[0])
    begin = [0] * len(shapes[0])
    size = list(shapes[0])
    for i, offset in enumerate(offsets):
        begin[axis + i], size[axis + i] = offset, shapes[1][axis + i]
    like_axes = None
    if node.inputs[1] in ctx.varying:  # dynamic height and width: the second bottom's sizes at run time
        like_axes = [None] * len(shapes[0])
        for i in range(len(offsets)):
            like_axes[axis + i] = _axis(ctx, node.inputs[1], axis + i)
    if layout == NHWC:
        order = (0, 2, 3, 1)
        begin, size = [begin[a] for a in order], [size[a] for a in order]
        like_axes = like_axes and [like_axes[a] for a in order]
    dynamic = "" if like_axes is None else f", like_axes={like_axes[1:]}"
    return KerasLayer(f"Crop({begin[1:]}, {size[1:]}{dynamic}, name={ctx.name(node)})({args[0]}, {args[1]})",
                      custom=("Crop",), layouts=[layout])


@KERAS_EMITTERS.register("Tile")
def tile(node, args, ctx):
    value = node.inputs[0]
    repeats = [1] * len(ctx.shape(value))
    repeats[_axis(ctx, value, node.params.axis)] = node.params.tiles
    return KerasLayer(f"Tile({repeats}, name={ctx.name(node)})({args[0]})", custom=("Tile",),
                      layouts=[ctx.layout(value)])


