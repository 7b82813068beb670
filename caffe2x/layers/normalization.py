"""LRN, BatchNorm and MVN."""

from __future__ import annotations

from dataclasses import dataclass

from .base import LAYERS, LayerDef, check, count, same_shape


@dataclass(frozen=True)
class LRNParams:
    local_size: int
    alpha: float
    beta: float
    k: float
    across_channels: bool


@dataclass(frozen=True)
class BatchNormParams:
    eps: float
    use_global_stats: bool  # Caffe's TEST-phase default is True
    momentum: float = 0.001  # 1 - moving_average_fraction: what frameworks call momentum
    # Set by passes.merge_scale_into_batchnorm: then weights are
    # [mean, variance, factor, gamma, beta] and y = gamma * normalized + beta.
    affine: bool = False


@dataclass(frozen=True)
class MVNParams:
    normalize_variance: bool
    across_channels: bool
    eps: float


def parse_lrn(layer) -> LRNParams:
    p = layer.lrn_param
    check(p.local_size % 2 == 1, f"local_size {p.local_size} must be odd")
    across = type(p).NormRegion.Name(p.norm_region) == "ACROSS_CHANNELS"
    return LRNParams(p.local_size, p.alpha, p.beta, p.k, across)


def infer_4d(params, bottoms):
    check(len(bottoms[0]) == 4, f"expects a 4-D N,C,H,W input, got shape {list(bottoms[0])}")
    return [bottoms[0]]


def lrn_flops(params: LRNParams, bottoms, tops):
    window = params.local_size if params.across_channels else params.local_size**2
    return count(tops[0]) * (window + 3)


def parse_batch_norm(layer) -> BatchNormParams:
    p = layer.batch_norm_param
    use_global = p.use_global_stats if p.HasField("use_global_stats") else True
    return BatchNormParams(p.eps, use_global, 1.0 - p.moving_average_fraction)


def batch_norm_weights(params: BatchNormParams, bottoms):
    check(len(bottoms[0]) >= 2, "BatchNorm needs an input with a channel axis")
    channels = bottoms[0][1]
    return [(channels,), (channels,), (1,)]


def parse_mvn(layer) -> MVNParams:
    p = layer.mvn_param
    return MVNParams(p.normalize_variance, p.across_channels, p.eps)


def _times(factor: int):
    return lambda params, bottoms, tops: factor * count(tops[0])


LAYERS.register("LRN", LayerDef(parse_lrn, infer_4d, flops=lrn_flops))
LAYERS.register("BatchNorm", LayerDef(parse_batch_norm, same_shape, batch_norm_weights, _times(2)))
LAYERS.register("MVN", LayerDef(parse_mvn, infer_4d, flops=_times(4)))
