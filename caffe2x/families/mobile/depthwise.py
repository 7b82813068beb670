"""The mobile forks' depthwise convolutions, both a Convolution in disguise.

DepthwiseConvolution: yonghenglh6/DepthwiseConvolution, commit
2b9cf52a5ce24af390d6739cd728847e21c4f154, caffe/src/caffe/layers/depthwise_conv_layer.cpp
(eric612/MobileNet-YOLO and troyliu0105/caffe copy it). The class is a BaseConvolutionLayer
whose Forward_cpu is Convolution's (forward_cpu_gemm per item, then the bias): it reads
convolution_param exactly as Convolution does, `group` included (nets write group = channels;
only its GPU kernel assumes it). So it is Convolution here: the same parameters, shape rule,
weight shapes, reference kernel and emitters.

ConvolutionDepthwise: sp2823's conv_dw_layer.cpp (BVLC/caffe pull request 5665, commit
947f3ca06412de328bced7aeea597343920669f4; shipped by farmingyard/caffe-mobilenet at commit
f7d7d130761727560f201c1ff5c274e938888b5f, whose copy made the real-fork golden case fork_mobile),
the layer of farmingyard's MobileNet and ShuffleNet nets and of many MobileNet-SSD forks.
It reads convolution_param its own way:
- one filter per input channel: num_output and group are ignored, the top has the bottom's
  channels, the weight blob is (C, 1, kh, kw) and the bias (C) when bias_term;
- kernel_h/kernel_w when both are given, else kernel_size (one value, or the first two);
  likewise stride_h/stride_w or stride, and pad_h/pad_w or pad; dilation, one or two values, 1
  when absent. The fork reads kernel_size(0), stride(0) and pad(0) unconditionally: a layer
  without them reads past an empty repeated field (a crash), so caffe2x refuses it (ShapeError);
- the arithmetic is Convolution's with group = num_output = C (direct loops, same sums).
So its parameters are a ConvParams built from the bottom's channels (as_convolution), and it
too uses Convolution's shape rule, reference kernel and emitters: one home for each rule.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

from ...api import register_layer
from ...extend import EMITTER_FAMILIES, LayerDef, ShapeError
from ...layers.conv import ConvParams, conv_flops, conv_weights, infer_conv, parse_conv
from ...reference.conv import convolution as convolution_reference
from ...targets.emitters import emitter_registry


@dataclass(frozen=True)
class DepthwiseParams:
    """ConvolutionDepthwise's geometry; its channel count comes from the bottom."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    pad: tuple[int, int]
    dilation: tuple[int, int]
    bias_term: bool


def fork_pair(values, name: str, h, w) -> tuple[int, int]:
    """conv_dw_layer.cpp's rule: <name>_h and <name>_w when both are set, else the repeated
    field's first value (one value) or first two."""
    if h is not None and w is not None:
        return int(h), int(w)
    values = [int(v) for v in values]
    if not values:
        raise ShapeError(f"ConvolutionDepthwise needs {name} (or {name}_h and {name}_w): the fork reads "
                         f"{name}(0) with no default and crashes without it")
    return (values[0], values[0]) if len(values) == 1 else (values[0], values[1])


def _field(message, name: str):
    return getattr(message, name) if message.HasField(name) else None


def parse_depthwise(layer) -> DepthwiseParams:
    p = layer.convolution_param
    geometry = {name: fork_pair(getattr(p, field), name, _field(p, f"{name}_h"), _field(p, f"{name}_w"))
                for name, field in (("kernel", "kernel_size"), ("stride", "stride"), ("pad", "pad"))}
    dilation = [int(d) for d in p.dilation] or [1]
    dilation_hw = (dilation[0], dilation[0]) if len(dilation) == 1 else (dilation[0], dilation[1])
    if min(geometry["kernel"]) <= 0 or min(geometry["stride"]) <= 0 or min(dilation_hw) <= 0:
        raise ShapeError(f"ConvolutionDepthwise kernel {geometry['kernel']}, stride {geometry['stride']} and "
                         f"dilation {dilation_hw} must be positive")
    return DepthwiseParams(geometry["kernel"], geometry["stride"], geometry["pad"], dilation_hw, bool(p.bias_term))


def as_convolution(params: DepthwiseParams, channels: int) -> ConvParams:
    """The Convolution that ConvolutionDepthwise computes on `channels` channels."""
    return ConvParams(channels, params.kernel, params.stride, params.pad, params.dilation, channels, params.bias_term)


def _bottom(bottoms):
    if len(bottoms[0]) != 4:
        raise ShapeError(f"ConvolutionDepthwise expects a 4-D N,C,H,W input, got shape {list(bottoms[0])}")
    return bottoms[0]


def infer_depthwise(params: DepthwiseParams, bottoms):
    return infer_conv(as_convolution(params, _bottom(bottoms)[1]), bottoms)


def depthwise_weights(params: DepthwiseParams, bottoms):
    return conv_weights(as_convolution(params, _bottom(bottoms)[1]), bottoms)


def depthwise_flops(params: DepthwiseParams, bottoms, tops):
    return conv_flops(as_convolution(params, bottoms[0][1]), bottoms, tops)


@contextmanager
def as_convolution_node(node, channels: int):
    """The node itself, seen as the Convolution it computes while the block runs. The node
    object is kept (its params swapped, then restored), not copied: targets key the names of
    what they emit by the node object (a Keras layer name, say)."""
    if isinstance(node.params, ConvParams):
        yield node
        return
    depthwise = node.params
    node.params = as_convolution(depthwise, channels)
    try:
        yield node
    finally:
        node.params = depthwise


def _convolution_emitter(family: str):
    """The family's Convolution emitter, applied to the node as a Convolution. Looked up when
    called: a target's emitters are registered when the target is first used. Its last
    argument (OnnxBuilder, TorchContext or KerasContext) knows the bottom's shape."""
    def emit(node, *args):
        conv = emitter_registry(family).get("Convolution")
        with as_convolution_node(node, args[-1].shape(node.inputs[0])[1]) as convolution:
            return conv(convolution, *args)
    return emit


EMITTERS = {family: _convolution_emitter(family) for family in EMITTER_FAMILIES}


def reference(node, inputs):
    with as_convolution_node(node, inputs[0].shape[1]) as convolution:
        return convolution_reference(convolution, inputs)


register_layer("DepthwiseConvolution", LayerDef(parse_conv, infer_conv, conv_weights, conv_flops), reference,
               **EMITTERS)
register_layer("ConvolutionDepthwise", LayerDef(parse_depthwise, infer_depthwise, depthwise_weights,
                                                depthwise_flops), reference, **EMITTERS)
