"""Layers of the mobile-backbone Caffe forks (MobileNet v1/v2, ShuffleNet v1/v2, SENet ports):
ReLU6, ShuffleChannel, ConvolutionDepthwise, DepthwiseConvolution, Axpy, Mish. One module per
layer: parameters, shape rule, the fork's arithmetic, reference kernel and an emitter per
target, registered through the public extension API as a user's plugin is.

The forks' parameter blocks (relu6_param, shuffle_channel_param) are declared by mobile.proto,
loaded here; the depthwise convolutions read BVLC's convolution_param."""

from pathlib import Path

from ...api import load_proto

SCHEMA = Path(__file__).with_name("mobile.proto")
load_proto(str(SCHEMA))

from . import axpy, depthwise, mish, relu6, shuffle_channel  # noqa: E402, F401  (each registers its layers)
