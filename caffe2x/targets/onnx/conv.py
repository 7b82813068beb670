"""Convolution -> Conv, Deconvolution -> ConvTranspose (same weight layouts as Caffe)."""

from __future__ import annotations

from ...layers.conv import ConvParams
from .registry import ONNX_EMITTERS


def _conv_attrs(p: ConvParams) -> dict:
    return {"kernel_shape": list(p.kernel), "strides": list(p.stride), "dilations": list(p.dilation),
            "pads": [p.pad[0], p.pad[1], p.pad[0], p.pad[1]], "group": p.group}


def _weights(node, b) -> list[str]:
    names = [b.const(node.name, "weight", node.weights[0])]
    if node.params.bias_term:
        names.append(b.const(node.name, "bias", node.weights[1]))
    return names


@ONNX_EMITTERS.register("Convolution")
def convolution(node, inputs, out, b):
    return [b.op("Conv", [inputs[0], *_weights(node, b)], node.name, output=out[0], **_conv_attrs(node.params))]


@ONNX_EMITTERS.register("Deconvolution")
def deconvolution(node, inputs, out, b):
    return [b.op("ConvTranspose", [inputs[0], *_weights(node, b)], node.name, output=out[0],
                 **_conv_attrs(node.params))]
