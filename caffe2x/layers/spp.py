"""SPP, spatial pyramid pooling (BVLC spp_layer.cpp, BVLC/caffe@01fecf8).

Caffe's SPPLayer is itself a composition: for each pyramid level i it pools the input
with a kernel and padding chosen so that 2^i x 2^i bins cover the whole map
(GetPoolingParam), flattens each result and concatenates them along axis 1; with
pyramid_height 1 it is that one Pooling. caffe2x builds exactly those layers in the
graph (expand_spp), so every target runs Caffe's own Pooling, Flatten and Concat rules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .base import LAYERS, LayerDef, check
from .expand import register_expansion
from .pooling import infer_pool, parse_pool


@dataclass(frozen=True)
class SPPParams:
    pyramid_height: int
    method: str  # "MAX" or "AVE"


def parse_spp(layer) -> SPPParams:
    p = layer.spp_param
    method = type(p).PoolMethod.Name(p.pool)
    check(method in ("MAX", "AVE"), f"SPP pool {method} is not supported (MAX and AVE are)")
    check(p.pyramid_height >= 1, "pyramid_height must be at least 1")
    return SPPParams(int(p.pyramid_height), method)


def level_pooling(level: int, height: int, width: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """GetPoolingParam: (kernel, pad) per axis for pyramid level `level` (stride = kernel):
    kernel = ceil(size / 2^level), pad = (kernel * 2^level - size + 1) / 2 (integer)."""
    bins = 2 ** level
    kernel = tuple(math.ceil(size / bins) for size in (height, width))
    pad = tuple((k * bins - size + 1) // 2 for k, size in zip(kernel, (height, width)))
    return kernel, pad


def _pooling_layer(name: str, bottoms: list[str], top: str, method: str, level: int, bottom_shape):
    """The Pooling layer GetPoolingParam makes for one level (Caffe's default CEIL rounding)."""
    from ..schema import LayerParameter

    (kh, kw), (ph, pw) = level_pooling(level, bottom_shape[2], bottom_shape[3])
    pooling = LayerParameter(name=name, type="Pooling", bottom=bottoms, top=[top])
    p = pooling.pooling_param
    p.pool = type(p).PoolMethod.Value(method)
    p.kernel_h, p.kernel_w, p.stride_h, p.stride_w, p.pad_h, p.pad_w = kh, kw, kh, kw, ph, pw
    return pooling


def expand_spp(layer, bottom_shapes) -> list:
    """The layers SPPLayer runs, as LayerParameters: Pooling per level, Flatten each, Concat
    (named as the SPP layer, writing its top); pyramid_height 1: the one Pooling."""
    from ..schema import LayerParameter

    params, shape, bottoms = parse_spp(layer), bottom_shapes[0], list(layer.bottom)
    if params.pyramid_height == 1:
        return [_pooling_layer(layer.name, bottoms, layer.top[0], params.method, 0, shape)]
    layers, flat_tops = [], []
    for level in range(params.pyramid_height):
        pooled, flat = f"{layer.name}/level{level}", f"{layer.name}/level{level}_flat"
        layers.append(_pooling_layer(pooled, bottoms, pooled, params.method, level, shape))
        layers.append(LayerParameter(name=flat, type="Flatten", bottom=[pooled], top=[flat]))
        flat_tops.append(flat)
    layers.append(LayerParameter(name=layer.name, type="Concat", bottom=flat_tops, top=list(layer.top)))
    return layers


def infer_spp(params: SPPParams, bottoms):
    """(N, C x the bins of every level), each level's size by Caffe's own Pooling rule, its
    CHECKs included (a map too small for a level gives a pad not smaller than the kernel:
    Caffe aborts, caffe2x raises ShapeError); pyramid_height 1: that Pooling's shape."""
    shape = bottoms[0]
    check(len(shape) == 4, f"SPP needs a 4-D N,C,H,W input, got shape {list(shape)}")
    pooled = [infer_pool(parse_pool(_pooling_layer("level", ["x"], "level", params.method, level, shape)),
                         [shape])[0] for level in range(params.pyramid_height)]
    if params.pyramid_height == 1:
        return [pooled[0]]
    return [(shape[0], sum(c * h * w for _, c, h, w in pooled))]


LAYERS.register("SPP", LayerDef(parse_spp, infer_spp))
register_expansion("SPP", expand_spp)
