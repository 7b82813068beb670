"""BN: the batch normalization layer of PSPNet and of SegNet/ENet, two forks, one type name.

    PSPNet:  layer { type: "BN" bn_param { slope_filler { value: 1 } bias_filler { value: 0 } frozen: true } }
    SegNet:  layer { type: "BN" bn_param { bn_mode: INFERENCE } }

PSPNet (hszhao/PSPNet 798bdc907c8630e8c3997ebfdd0d7cae0c5ab03b, src/caffe/layers/bn_layer.cpp):
four blobs, each 1 x C x 1 x 1: scale ("slope"), shift ("bias"), moving mean, moving variance.
At TEST (and whenever frozen) it normalizes with the stored statistics:
y = (x - mean) * (var + eps)^-1/2 * scale + shift, eps = bn_param.eps (default 1e-5).

SegNet (alexgkendall/caffe-segnet 344c113bf1832886f1cbe9f33ffe28a3beeaf412, bn_layer.cpp; the
same in TimoSaemann/caffe-segnet-cudnn5 abcf30dc, ENet's): two blobs, scale and shift, 1 x C x 1 x 1.
The mode, not the phase, decides: INFERENCE is y = x * scale + shift (the statistics were folded
into the blobs by SegNet's compute_bn_statistics.py); LEARN, the default, computes the batch's
statistics at TEST too: per channel over N, H, W, mean = E(x), var = E(x²) - E(x)² (this
formula, not E((x - mean)²)), y = (x - mean) / sqrt(var + 1e-9) * scale + shift (var_eps_ is
fixed at 1e-9). In LEARN its optional 2nd and 3rd tops are the batch mean and variance
(1 x C x 1 x 1, the variance without eps); INFERENCE leaves them unwritten (refused here).

Which fork a layer follows is read from its bn_param: PSPNet's fields (slope_filler,
bias_filler, momentum, eps, frozen, engine) or SegNet's (scale_filler, shift_filler, bn_mode);
a BN without any of them is told by its caffemodel's blob count (4: PSPNet's, with its default
eps 1e-5; 2: SegNet's LEARN, that fork's default mode), and is SegNet's LEARN without a
caffemodel; with fields of both it is refused. A caffemodel whose count does not fit fields that
name a fork is a WeightsError naming the layer. One declaration reads both forks' blocks
(segmentation.proto says how). None of BatchNorm's rules
(caffe2x/layers/normalization.py) is this arithmetic: BatchNorm's statistics are sums with a
scale factor and its batch variance is E((x - mean)²).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...api import fork_param, register_layer
from ...extend import BatchStatistics, KerasLayer, LayerDef, ShapeError, TorchLayer, check, float_literal

PSPNET_FIELDS = ("slope_filler", "bias_filler", "momentum", "eps", "frozen", "engine")
SEGNET_FIELDS = ("scale_filler", "shift_filler", "bn_mode")
SEGNET_EPS = 1e-9  # SegNet's bn_layer.cpp, LayerSetUp: var_eps_ = 1e-9
PSPNET_EPS = 1e-5  # PSPNet's BNParameter.eps [default = 1e-5]


@dataclass(frozen=True)
class BNParams:
    fork: str  # "pspnet" or "segnet"
    batch_statistics: bool  # SegNet's LEARN: the batch's mean and variance, at TEST too
    eps: float
    statistics_tops: bool = False  # SegNet's LEARN with tops 2 and 3: the batch mean and variance
    named: bool = True  # whether bn_param's fields named the fork (else the blob count tells)


def parse(layer) -> BNParams:
    value = fork_param(layer, "bn_param")
    pspnet = [name for name in PSPNET_FIELDS if value.has(name)]
    segnet = [name for name in SEGNET_FIELDS if value.has(name)]
    if pspnet and segnet:
        raise ShapeError(f"bn_param mixes PSPNet's fields ({', '.join(pspnet)}) with SegNet's "
                         f"({', '.join(segnet)}); a BN layer follows one fork")
    statistics_tops = len(layer.top) > 1
    if pspnet:
        check(not statistics_tops, "PSPNet's BN has one top")
        return BNParams("pspnet", False, float(value.eps))
    learn = value.bn_mode == "LEARN"
    check(not statistics_tops or (learn and len(layer.top) == 3),
          "only SegNet's LEARN BN has more tops, two: the batch mean and variance (INFERENCE never writes them)")
    return BNParams("segnet", learn, SEGNET_EPS, statistics_tops, named=bool(segnet))


def fit_blobs(params: BNParams, count: int) -> BNParams | None:
    """A BN whose bn_param names no fork: PSPNet's when the caffemodel holds 4 blobs."""
    if params.named or count != 4 or params.statistics_tops:
        return None
    return BNParams("pspnet", False, PSPNET_EPS, named=False)


def infer(params: BNParams, bottoms):
    # The forks read num/channels/height/width, Caffe's legacy 4-D accessors.
    if not 2 <= len(bottoms[0]) <= 4:
        raise ShapeError(f"BN needs a blob of 2 to 4 axes, got {list(bottoms[0])}")
    statistics = (1, bottoms[0][1], 1, 1)
    return [bottoms[0], statistics, statistics] if params.statistics_tops else [bottoms[0]]


def blob_shapes(params: BNParams, bottoms):
    """1 x C x 1 x 1 each: PSPNet's scale, shift, mean, variance; SegNet's scale, shift."""
    blob = (1, bottoms[0][1], 1, 1)
    return [blob] * (4 if params.fork == "pspnet" else 2)


def channel_vectors(node) -> list[np.ndarray]:
    """[scale, shift, mean, variance] as float32 C-vectors. SegNet's stored form (INFERENCE)
    has mean 0 and variance 1 with eps 0: x * scale + shift, exactly, by the same formula."""
    scale, shift = (np.asarray(w, np.float32).reshape(-1) for w in node.weights[:2])
    if node.params.fork == "pspnet":
        mean, variance = (np.asarray(w, np.float32).reshape(-1) for w in node.weights[2:4])
    else:
        mean, variance = np.zeros_like(scale), np.ones_like(scale)
    return [scale, shift, mean, variance]


def stored_eps(params: BNParams) -> float:
    """The eps added to the stored variance: PSPNet's; 0 for SegNet's INFERENCE (no normalization)."""
    return params.eps if params.fork == "pspnet" else 0.0


def batch_moments(x, mean):
    """SegNet's LEARN statistics: mean(x) and mean(x²) - mean(x)², `mean` averaging over every
    axis but the channel's, keeping them."""
    average = mean(x)
    return average, mean(x * x) - average * average


def apply_bn(x, scale, shift, mean, variance, eps, sqrt):
    """(x - mean) / sqrt(variance + eps) * scale + shift, for any array type."""
    return (x - mean) / sqrt(variance + eps) * scale + shift


def _view(vector: np.ndarray, rank: int, channel_axis: int = 1) -> np.ndarray:
    shape = [1] * rank
    shape[channel_axis] = -1
    return np.reshape(vector, shape)


def reference(node, inputs):
    p: BNParams = node.params
    x = inputs[0].astype(np.float64)
    scale, shift, mean, variance = (_view(v.astype(np.float64), x.ndim) for v in channel_vectors(node))
    eps = np.float64(np.float32(p.eps))
    if p.batch_statistics:
        axes = tuple(a for a in range(x.ndim) if a != 1)
        mean, variance = batch_moments(x, lambda t: t.mean(axis=axes, keepdims=True))
    else:
        eps = np.float64(np.float32(stored_eps(p)))
    y = apply_bn(x, scale, shift, mean, variance, eps, np.sqrt)
    if p.statistics_tops:
        return [y, mean.reshape(1, -1, 1, 1), variance.reshape(1, -1, 1, 1)]
    return [y]


def onnx(node, inputs, outputs, b):
    p: BNParams = node.params
    scale, shift, mean, variance = channel_vectors(node)
    if not p.batch_statistics:
        return [b.op("BatchNormalization", [inputs[0], *(b.const(node.name, what, v) for what, v in
                                                          zip(("scale", "shift", "mean", "var"), (scale, shift, mean,
                                                                                                  variance)))],
                     node.name, output=outputs[0], epsilon=stored_eps(p))]
    rank = len(b.shape(node.inputs[0]))
    axes = [a for a in range(rank) if a != 1]
    x = inputs[0]
    average = b.reduce("ReduceMean", x, axes, node.name, keepdims=True)
    squares = b.reduce("ReduceMean", b.op("Mul", [x, x], node.name), axes, node.name, keepdims=True)
    var = b.op("Sub", [squares, b.op("Mul", [average, average], node.name)], node.name)
    root = b.op("Sqrt", [b.op("Add", [var, b.const(node.name, "eps", np.float32(p.eps))], node.name)], node.name)
    normalized = b.op("Div", [b.op("Sub", [x, average], node.name), root], node.name)
    scaled = b.op("Mul", [normalized, b.const(node.name, "scale", _view(scale, rank))], node.name)
    top = b.op("Add", [scaled, b.const(node.name, "shift", _view(shift, rank))], node.name, output=outputs[0])
    if not p.statistics_tops:
        return [top]
    statistics_shape = b.ints(node.name, "statistics_shape", [1, -1, 1, 1])
    return [top, *(b.op("Reshape", [v, statistics_shape], node.name, output=out)
                   for v, out in zip((average, var), outputs[1:]))]


def pytorch(node, ctx):
    p: BNParams = node.params
    rank = len(ctx.shape(node.inputs[0]))
    names = ("scale", "shift", "mean", "variance")
    state = {name: _view(v, rank) for name, v in zip(names, channel_vectors(node))}
    axes = [a for a in range(rank) if a != 1]
    eps = p.eps if p.batch_statistics else stored_eps(p)
    return TorchLayer(f"BN({tuple(state['scale'].shape)}, {axes}, {p.batch_statistics}, {float_literal(eps)}, "
                      f"{p.statistics_tops})",
                      state=state, helpers=("caffe2x.families.segmentation.bn_torch:BN",))


def tensorflow(node, args, ctx):
    p: BNParams = node.params
    value = node.inputs[0]
    rank = len(ctx.shape(value))
    layout = ctx.layout(value)
    channel_axis = 3 if layout == "nhwc" else 1
    vectors = [_view(v, rank, channel_axis) for v in channel_vectors(node)]
    axes = [a for a in range(rank) if a != channel_axis]
    eps = p.eps if p.batch_statistics else stored_eps(p)
    return KerasLayer(f"BN({tuple(vectors[0].shape)}, {axes}, {p.batch_statistics}, {float_literal(eps)}, "
                      f"{p.statistics_tops}, name={ctx.name(node)})({args[0]})", weights={ctx.raw_name(node): vectors},
                      custom=("caffe2x.families.segmentation.bn_keras:BN",),
                      layouts=[layout, "nhwc", "nhwc"] if p.statistics_tops else [layout])


def statistics(params: BNParams) -> BatchStatistics:
    """Synthetic weights (--random-weights): PSPNet's stored mean and variance are measured on
    a forward pass; SegNet's BN has only scale and shift (near 1 and 0)."""
    if params.fork == "pspnet":
        return BatchStatistics(mean=2, variance=3, scale=0, shift=1)
    return BatchStatistics(mean=None, variance=None, scale=0, shift=1)


register_layer("BN", LayerDef(parse, infer, weights=blob_shapes, tops=(1, 3), statistics=statistics,
                                 fit_blobs=fit_blobs), reference,
               onnx=onnx, pytorch=pytorch, tensorflow=tensorflow)
