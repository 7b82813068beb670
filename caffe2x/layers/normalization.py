"""LRN, BatchNorm and MVN."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import LAYERS, BatchStatistics, LayerDef, check, count, same_shape


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
LAYERS.register("BatchNorm", LayerDef(parse_batch_norm, same_shape, batch_norm_weights, _times(2),
                                      statistics=BatchStatistics(mean=0, variance=1, factor=2)))
LAYERS.register("MVN", LayerDef(parse_mvn, infer_4d, flops=_times(4)))


def batch_norm_statistics(weights) -> tuple[np.ndarray, np.ndarray]:
    """The mean and variance a BatchNorm layer normalizes with (float64), from its
    stored blobs [mean sum, variance sum, scale factor].

    batch_norm_layer.cpp, Forward_cpu (use_global_stats): scale_factor =
    blobs_[2]->cpu_data()[0] == 0 ? 0 : 1 / blobs_[2]->cpu_data()[0]; both sums are
    multiplied by it.
    """
    mean, variance, factor = (np.asarray(w, np.float64) for w in weights[:3])
    stored = float(factor.reshape(-1)[0])
    scale = 0.0 if stored == 0 else 1.0 / stored
    return mean * scale, variance * scale


# Plain Python below: a generated model.py gets a copy of what its classes use.

# lrn_layer.cpp, LayerSetUp: WITHIN_CHANNEL is built as AVE pooling of x^2 then
# Power(power=-beta, scale=alpha, shift=1): the shift is 1, k is not used.
LRN_WITHIN_CHANNEL_SHIFT = 1.0


def lrn_half_window(local_size: int) -> int:
    """Cells of LRN's window on each side of the centre (lrn_layer.cpp: pre_pad_ =
    (size_ - 1) / 2), zero padded: across channels, and within a channel as the
    AVE pooling's pad."""
    return (local_size - 1) // 2


def lrn_shift(across_channels: bool, k: float) -> float:
    """The constant of LRN's scale = shift + alpha * (mean of x^2 over the window):
    k across channels (lrn_layer.cpp, CrossChannelForward_cpu: k_ + alpha_ / size_ *
    window sum), 1 within a channel (see LRN_WITHIN_CHANNEL_SHIFT)."""
    return k if across_channels else LRN_WITHIN_CHANNEL_SHIFT


def mvn_first_axis(across_channels: bool) -> int:
    """MVN normalizes over every Caffe axis from this one on (mvn_layer.cpp, Forward_cpu:
    per item over C*H*W when across_channels, else per item and channel over H*W)."""
    return 1 if across_channels else 2


def apply_mvn(x, normalize_variance: bool, eps: float, mean, sqrt):
    """Caffe MVN of `x` for any array type; mean(t) averages over the normalized axes,
    keeping them. mvn_layer.cpp, Forward_cpu: subtract the mean; with
    normalize_variance divide by sqrt(mean of the centred squares) + eps (eps outside
    the root)."""
    centred = x - mean(x)
    if not normalize_variance:
        return centred
    return centred / (sqrt(mean(centred * centred)) + eps)
