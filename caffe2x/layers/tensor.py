"""Layers that move data without arithmetic: Input, Concat, Slice, Split,
Silence, Flatten, Reshape, Crop, Tile."""

from __future__ import annotations

from dataclasses import dataclass

from .base import LAYERS, LayerDef, canonical_axis, check, count, no_flops, no_params


@dataclass(frozen=True)
class InputParams:
    shapes: tuple[tuple[int, ...], ...]  # one per top, as declared


@dataclass(frozen=True)
class AxisParams:
    axis: int


@dataclass(frozen=True)
class SliceParams:
    axis: int
    points: tuple[int, ...]
    num_tops: int


@dataclass(frozen=True)
class FlattenParams:
    axis: int
    end_axis: int


@dataclass(frozen=True)
class ReshapeParams:
    dims: tuple[int, ...]
    axis: int
    num_axes: int


@dataclass(frozen=True)
class CropParams:
    axis: int
    offsets: tuple[int, ...]


@dataclass(frozen=True)
class TileParams:
    axis: int
    tiles: int


def parse_input(layer) -> InputParams:
    shapes = tuple(tuple(int(d) for d in s.dim) for s in layer.input_param.shape)
    n = len(layer.top)
    check(len(shapes) in (0, 1, n), f"{len(shapes)} shapes for {n} tops")
    return InputParams(shapes * n if len(shapes) == 1 and n > 1 else shapes)


def parse_concat(layer) -> AxisParams:
    p = layer.concat_param
    return AxisParams(int(p.concat_dim) if p.HasField("concat_dim") else p.axis)


def infer_concat(params: AxisParams, bottoms):
    first = bottoms[0]
    axis = canonical_axis(params.axis, len(first))
    for shape in bottoms[1:]:
        same = len(shape) == len(first) and all(
            a == b for i, (a, b) in enumerate(zip(shape, first)) if i != axis)
        check(same, f"bottoms {[list(s) for s in bottoms]} differ outside axis {axis}")
    total = sum(shape[axis] for shape in bottoms)
    return [(*first[:axis], total, *first[axis + 1:])]


def parse_slice(layer) -> SliceParams:
    p = layer.slice_param
    axis = int(p.slice_dim) if p.HasField("slice_dim") else p.axis
    points = tuple(int(x) for x in p.slice_point)
    check(not points or len(points) == len(layer.top) - 1,
          f"{len(points)} slice_point values for {len(layer.top)} tops (need {len(layer.top) - 1})")
    return SliceParams(axis, points, len(layer.top))


def slice_bounds(params: SliceParams, size: int) -> list[tuple[int, int]]:
    if params.points:
        edges = (0, *params.points, size)
        check(all(a < b for a, b in zip(edges, edges[1:])),
              f"slice points {list(params.points)} must increase strictly inside 0..{size}")
    else:
        check(size % params.num_tops == 0,
              f"axis size {size} does not split evenly into {params.num_tops} tops")
        step = size // params.num_tops
        edges = tuple(range(0, size + 1, step))
    return list(zip(edges, edges[1:]))


def infer_slice(params: SliceParams, bottoms):
    bottom = bottoms[0]
    axis = canonical_axis(params.axis, len(bottom))
    return [(*bottom[:axis], end - start, *bottom[axis + 1:])
            for start, end in slice_bounds(params, bottom[axis])]


def parse_split(layer) -> int:
    return len(layer.top)


def infer_split(num_tops: int, bottoms):
    return [bottoms[0]] * num_tops


def parse_flatten(layer) -> FlattenParams:
    return FlattenParams(layer.flatten_param.axis, layer.flatten_param.end_axis)


def infer_flatten(params: FlattenParams, bottoms):
    bottom = bottoms[0]
    start = canonical_axis(params.axis, len(bottom))
    end = canonical_axis(params.end_axis, len(bottom))
    check(start <= end, f"axis {params.axis} comes after end_axis {params.end_axis}")
    return [(*bottom[:start], count(bottom[start:end + 1]), *bottom[end + 1:])]


def parse_reshape(layer) -> ReshapeParams:
    p = layer.reshape_param
    dims = tuple(int(d) for d in p.shape.dim)
    check(sum(d == -1 for d in dims) <= 1, "at most one dimension may be -1")
    check(all(d >= -1 for d in dims), f"invalid dimension in {list(dims)}")
    check(p.num_axes >= -1, f"num_axes {p.num_axes} must be -1 or more")
    return ReshapeParams(dims, p.axis, p.num_axes)


def reshape_start_axis(axis: int, rank: int) -> int:
    """The first input axis Reshape replaces; a negative axis counts from the end,
    -1 meaning after the last. reshape_layer.cpp, Reshape: start_axis = (axis >= 0) ?
    axis : (num_axes + 1 + axis)."""
    return axis + rank + 1 if axis < 0 else axis


def infer_reshape(params: ReshapeParams, bottoms):
    bottom = bottoms[0]
    ndim = len(bottom)
    start = reshape_start_axis(params.axis, ndim)
    check(0 <= start <= ndim, f"axis {params.axis} is out of range for {list(bottom)}")
    end = ndim if params.num_axes == -1 else start + params.num_axes
    check(end <= ndim, f"axis + num_axes exceed the {ndim} input axes")
    dims = []
    for i, d in enumerate(params.dims):
        if d == 0:
            check(start + i < ndim, f"dim 0 at position {i} copies a missing input axis")
            d = bottom[start + i]
        dims.append(d)
    shape = [*bottom[:start], *dims, *bottom[end:]]
    total = count(bottom)
    if -1 in dims:
        known = count([d for d in shape if d != -1])
        check(known > 0 and total % known == 0, f"cannot infer -1: {total} elements into {shape}")
        shape[shape.index(-1)] = total // known
    check(count(shape) == total, f"reshape of {list(bottom)} ({total} elements) into {shape}")
    return [tuple(shape)]


def parse_crop(layer) -> CropParams:
    p = layer.crop_param
    return CropParams(p.axis, tuple(int(o) for o in p.offset))


def crop_offsets(params: CropParams, bottoms) -> tuple[int, list[int]]:
    """(first cropped axis, offset of every axis from it on), by Caffe's rules."""
    bottom, like = bottoms
    check(len(bottom) == len(like), f"bottoms {list(bottom)} and {list(like)} differ in rank")
    axis = canonical_axis(params.axis, len(bottom))
    n = len(bottom) - axis
    check(len(params.offsets) in (0, 1, n),
          f"{len(params.offsets)} offsets for {n} cropped axes (give 0, 1 or {n})")
    offsets = list(params.offsets) if len(params.offsets) == n else [
        params.offsets[0] if params.offsets else 0] * n
    for i, off in enumerate(offsets):
        check(off >= 0 and off + like[axis + i] <= bottom[axis + i],
              f"crop of {like[axis + i]} at offset {off} exceeds axis {axis + i} of size {bottom[axis + i]}")
    return axis, offsets


def infer_crop(params: CropParams, bottoms):
    axis, _ = crop_offsets(params, bottoms)
    return [(*bottoms[0][:axis], *bottoms[1][axis:])]


def parse_tile(layer) -> TileParams:
    p = layer.tile_param
    check(p.tiles > 0, "tiles must be positive")
    return TileParams(p.axis, p.tiles)


def infer_tile(params: TileParams, bottoms):
    bottom = list(bottoms[0])
    axis = canonical_axis(params.axis, len(bottom))
    bottom[axis] *= params.tiles
    return [tuple(bottom)]


LAYERS.register("Input", LayerDef(parse_input, lambda params, bottoms: list(params.shapes),
                                  flops=no_flops, bottoms=(0, 0), tops=(1, None)))
LAYERS.register("Concat", LayerDef(parse_concat, infer_concat, flops=no_flops, bottoms=(1, None)))
LAYERS.register("Slice", LayerDef(parse_slice, infer_slice, flops=no_flops, tops=(1, None)))
LAYERS.register("Split", LayerDef(parse_split, infer_split, flops=no_flops, tops=(1, None)))
LAYERS.register("Silence", LayerDef(no_params, lambda params, bottoms: [], flops=no_flops,
                                    bottoms=(1, None), tops=(0, 0)))
LAYERS.register("Flatten", LayerDef(parse_flatten, infer_flatten, flops=no_flops))
LAYERS.register("Reshape", LayerDef(parse_reshape, infer_reshape, flops=no_flops))
LAYERS.register("Crop", LayerDef(parse_crop, infer_crop, flops=no_flops, bottoms=(2, 2)))
LAYERS.register("Tile", LayerDef(parse_tile, infer_tile, flops=no_flops))
