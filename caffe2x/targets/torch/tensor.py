"""Concat, Slice, Flatten, Reshape, Crop, Tile."""

from __future__ import annotations

from ...layers.base import canonical_axis
from ...layers.tensor import crop_offsets, reshape_start_axis, slice_bounds
from .base import TORCH_EMITTERS, TorchLayer


@TORCH_EMITTERS.register("Concat")
def concat(node, ctx):
    return TorchLayer(f"Concat({canonical_axis(node.params.axis, len(ctx.shape(node.inputs[0])))})",
                      helpers=("Concat",))


@TORCH_EMITTERS.register("Slice")
def slice_(node, ctx):
    shape = ctx.shape(node.inputs[0])
    axis = canonical_axis(node.params.axis, len(shape))
    sizes = [end - start for start, end in slice_bounds(node.params, shape[axis])]
    return TorchLayer(f"Slice({axis}, {sizes})", helpers=("Slice",))


@TORCH_EMITTERS.register("Flatten")
def flatten(node, ctx):
    rank = len(ctx.shape(node.inputs[0]))
    start = canonical_axis(node.params.axis, rank)
    end = canonical_axis(node.params.end_axis, rank)
    return TorchLayer(f"nn.Flatten({start}, {end})")


@TORCH_EMITTERS.register("Reshape")
def reshape(node, ctx):
    p = node.params
    rank = len(ctx.shape(node.inputs[0]))
    start = reshape_start_axis(p.axis, rank)
    keep_batch = start > 0 or (bool(p.dims) and p.dims[0] == 0)
    free = start + p.dims.index(-1) if -1 in p.dims and not keep_batch else None
    target = list(ctx.shape(node.outputs[0]))
    return TorchLayer(f"Reshape({target}, {keep_batch}{'' if free is None else f', {free}'})",
                      helpers=("Reshape",))


@TORCH_EMITTERS.register("Crop")
def crop(node, ctx):
    shapes = [ctx.shape(v) for v in node.inputs]
    axis, offsets = crop_offsets(node.params, shapes)
    sizes = None if node.inputs[1] in ctx.varying else list(shapes[1][axis:])  # None: the second bottom's, at run time
    return TorchLayer(f"Crop({axis}, {offsets}, {sizes})", helpers=("Crop",))


@TORCH_EMITTERS.register("Tile")
def tile(node, ctx):
    shape = ctx.shape(node.inputs[0])
    repeats = [1] * len(shape)
    repeats[canonical_axis(node.params.axis, len(shape))] = node.params.tiles
    return TorchLayer(f"Tile({repeats})", helpers=("Tile",))
