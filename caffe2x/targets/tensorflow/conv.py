"""Convolution -> Conv2D / DepthwiseConv2D (CaffeConv2D for dilation with stride);
Deconvolution -> Conv2DTranspose + Cropping2D (CaffeDeconv2D for groups).
Weights go from Caffe's (out, in/g, kh, kw) to Keras' (kh, kw, in/g, out)."""

from __future__ import annotations

import numpy as np

from .base import KERAS_EMITTERS, NHWC, KerasLayer, pair


def _padded(node, ctx, arg: str) -> str:
    p = node.params
    if p.pad == (0, 0):
        return arg
    return f"layers.ZeroPadding2D({pair(p.pad)}, name={ctx.name(node, 'pad')})({arg})"


def _bias(node) -> list[np.ndarray]:
    return [np.asarray(node.weights[1])] if node.params.bias_term else []


@KERAS_EMITTERS.register("Convolution")
def convolution(node, args, ctx):
    p = node.params
    in_channels = ctx.shape(node.inputs[0])[1]
    weight = np.transpose(np.asarray(node.weights[0]), (2, 3, 1, 0))  # kh, kw, in/g, out
    x = _padded(node, ctx, args[0])
    bias = "" if p.bias_term else ", use_bias=False"
    if p.group == in_channels and p.group > 1 and p.num_output % p.group == 0 and p.dilation == (1, 1):
        multiplier = p.num_output // p.group
        # Caffe output channel c*m + j is Keras depthwise kernel[..., c, j].
        depthwise = weight.reshape(*p.kernel, p.group, multiplier)
        return KerasLayer(f"layers.DepthwiseConv2D({pair(p.kernel)}, strides={pair(p.stride)}, "
                          f"depth_multiplier={multiplier}{bias}, name={ctx.name(node)})({x})",
                          {ctx.raw_name(node): [depthwise, *_bias(node)]}, layouts=[NHWC])
    if p.dilation != (1, 1) and p.stride != (1, 1):
        return KerasLayer(f"CaffeConv2D({p.num_output}, {p.kernel}, {p.stride}, {p.dilation}, {p.group}, "
                          f"{p.bias_term}, name={ctx.name(node)})({x})",
                          {ctx.raw_name(node): [weight, *_bias(node)]}, custom=("CaffeConv2D",), layouts=[NHWC])
    options = [f"strides={pair(p.stride)}"] if p.stride != (1, 1) else []
    options += [f"dilation_rate={pair(p.dilation)}"] if p.dilation != (1, 1) else []
    options += [f"groups={p.group}"] if p.group != 1 else []
    options = "".join(", " + o for o in options)
    return KerasLayer(f"layers.Conv2D({p.num_output}, {pair(p.kernel)}{options}{bias}, name={ctx.name(node)})({x})",
                      {ctx.raw_name(node): [weight, *_bias(node)]}, layouts=[NHWC])


@KERAS_EMITTERS.register("Deconvolution")
def deconvolution(node, args, ctx):
    p = node.params
    # Caffe (in, out/g, kh, kw) -> Keras transposed kernel (kh, kw, out/g, in)
    weight = np.transpose(np.asarray(node.weights[0]), (2, 3, 1, 0))
    # Keras' Conv2DTranspose makes in * stride outputs when the kernel is smaller than the
    # stride, Caffe (in - 1) * stride + kernel: CaffeDeconv2D sets the size explicitly.
    narrow = any(p.extent(a) < p.stride[a] for a in (0, 1))
    if p.group > 1 or narrow or (p.dilation != (1, 1) and p.stride != (1, 1)):
        return KerasLayer(f"CaffeDeconv2D({p.num_output}, {p.kernel}, {p.stride}, {p.dilation}, {p.group}, "
                          f"{p.pad}, {p.bias_term}, name={ctx.name(node)})({args[0]})",
                          {ctx.raw_name(node): [weight, *_bias(node)]}, custom=("CaffeDeconv2D",),
                          layouts=[NHWC])
    options = [f"strides={pair(p.stride)}"] if p.stride != (1, 1) else []
    options += [f"dilation_rate={pair(p.dilation)}"] if p.dilation != (1, 1) else []
    options += [] if p.bias_term else ["use_bias=False"]
    options = "".join(", " + o for o in options)
    if p.pad == (0, 0):
        return KerasLayer(f"layers.Conv2DTranspose({p.num_output}, {pair(p.kernel)}{options}, "
                          f"name={ctx.name(node)})({args[0]})",
                          {ctx.raw_name(node): [weight, *_bias(node)]}, layouts=[NHWC])
    inner = (f"layers.Conv2DTranspose({p.num_output}, {pair(p.kernel)}{options}, "
             f"name={ctx.name(node, 'full')})({args[0]})")
    return KerasLayer(f"layers.Cropping2D({pair(p.pad)}, name={ctx.name(node)})({inner})",
                      {ctx.raw_name(node, "full"): [weight, *_bias(node)]}, layouts=[NHWC])
