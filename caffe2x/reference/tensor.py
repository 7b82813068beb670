"""Concat, Slice, Flatten, Reshape, Crop and Tile: pure data movement."""

from __future__ import annotations

import numpy as np

from ..layers.base import canonical_axis
from ..layers.tensor import AxisParams, CropParams, SliceParams, TileParams, crop_offsets, slice_bounds
from .base import REFERENCE, inferred_shapes


@REFERENCE.register("Concat")
def concat(node, inputs):
    p: AxisParams = node.params
    return [np.concatenate(inputs, axis=canonical_axis(p.axis, inputs[0].ndim))]


@REFERENCE.register("Slice")
def slice_(node, inputs):
    p: SliceParams = node.params
    x = inputs[0]
    axis = canonical_axis(p.axis, x.ndim)
    index = [slice(None)] * x.ndim
    outputs = []
    for start, end in slice_bounds(p, x.shape[axis]):
        index[axis] = slice(start, end)
        outputs.append(x[tuple(index)])
    return outputs


def _reshape_to_node(node, inputs):
    return [inputs[0].reshape(inferred_shapes(node, inputs)[0])]


@REFERENCE.register("Crop")
def crop(node, inputs):
    p: CropParams = node.params
    x, like = inputs
    axis, offsets = crop_offsets(p, [x.shape, like.shape])
    index = [slice(None)] * axis + [slice(o, o + like.shape[axis + i]) for i, o in enumerate(offsets)]
    return [x[tuple(index)]]


@REFERENCE.register("Tile")
def tile(node, inputs):
    p: TileParams = node.params
    x = inputs[0]
    reps = [1] * x.ndim
    reps[canonical_axis(p.axis, x.ndim)] = p.tiles
    return [np.tile(x, reps)]


REFERENCE.register("Flatten", _reshape_to_node)
REFERENCE.register("Reshape", _reshape_to_node)
