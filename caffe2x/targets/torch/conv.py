"""Convolution -> nn.Conv2d, Deconvolution -> nn.ConvTranspose2d (Caffe's weight layouts)."""

from __future__ import annotations

from .base import TORCH_EMITTERS, TorchLayer, hw, kwargs


def _module(cls: str, node, in_channels: int) -> TorchLayer:
    p = node.params
    options = kwargs(stride=hw(p.stride) if p.stride != (1, 1) else None,
                     padding=hw(p.pad) if p.pad != (0, 0) else None,
                     dilation=hw(p.dilation) if p.dilation != (1, 1) else None,
                     groups=p.group if p.group != 1 else None,
                     bias=None if p.bias_term else "False")
    source = f"nn.{cls}({in_channels}, {p.num_output}, {hw(p.kernel)}{', ' + options if options else ''})"
    state = {"weight": node.weights[0]}
    if p.bias_term:
        state["bias"] = node.weights[1]
    return TorchLayer(source, state)


@TORCH_EMITTERS.register("Convolution")
def convolution(node, ctx):
    return _module("Conv2d", node, ctx.shape(node.inputs[0])[1])


@TORCH_EMITTERS.register("Deconvolution")
def deconvolution(node, ctx):
    return _module("ConvTranspose2d", node, ctx.shape(node.inputs[0])[1])
