"""A fork layer as a user would add one: SSD's Normalize, its parameters read from the
fork's `norm_param` block by the declarations of the fork's schema (--caffe-proto). caffe2x
has Normalize built in (caffe2x.families.ssd), so this copy registers its own type name."""

from __future__ import annotations

from dataclasses import dataclass

import caffe2x
from caffe2x.layers.base import LayerDef, fork_params, same_shape


@dataclass(frozen=True)
class NormalizeParams:
    across_spatial: bool
    channel_shared: bool
    eps: float
    scale: float


def _params(norm) -> NormalizeParams:
    return NormalizeParams(norm.across_spatial, norm.channel_shared, norm.eps, norm.scale_filler.value)


def _scale_shape(params: NormalizeParams, bottoms):
    return [(1,) if params.channel_shared else (bottoms[0][1],)]


NORMALIZE = LayerDef(fork_params("norm_param", _params), same_shape, weights=_scale_shape)

if "PluginNormalize" not in caffe2x.LAYERS:
    caffe2x.register_layer("PluginNormalize", NORMALIZE)
