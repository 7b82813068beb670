"""One net holding every form of the mobile forks' layers and BVLC's Clip and Swish, each on
its own input, with seeded random weights and inputs, and its reference blobs: what
tests/test_mobile_targets.py converts to every target (once per target, for all the layers)."""

from __future__ import annotations

from functools import cache

import numpy as np

import caffe2x
from caffe2x.io.prototxt import parse_prototxt_text
from caffe2x.reference import as_golden_blobs, run
from caffe2x.weights import fill_random

# (bottom shape, layer body). Inputs are N(0, 4²), and the Mish ones spread to ±40, past the
# fork's ±20 softplus thresholds.
VARIANTS = [
    ((2, 6, 5, 7), 'type: "ReLU6"'),
    ((2, 6, 5, 7), 'type: "ReLU6" relu6_param { negative_slope: 0.1 }'),
    ((2, 6, 5, 7), 'type: "ReLU6" relu6_param { negative_slope: -2.5 }'),  # the leak is capped too
    ((2, 6), 'type: "ReLU6" relu6_param { negative_slope: 0.5 }'),
    ((2, 6, 5, 7), 'type: "Mish"'),
    ((2, 6, 5), 'type: "Mish"'),
    ((2, 6, 5, 7), 'type: "Clip" clip_param { min: -0.5 max: 1.5 }'),
    ((2, 6, 5, 7), 'type: "Clip" clip_param { min: 1 max: -1 }'),  # min > max: min everywhere
    ((2, 6, 5, 7), 'type: "Swish"'),
    ((2, 6, 5, 7), 'type: "Swish" swish_param { beta: 2.5 }'),
    ((2, 6), 'type: "Swish" swish_param { beta: -0.7 }'),
    ((2, 6, 5, 7), 'type: "ShuffleChannel" shuffle_channel_param { group: 3 }'),
    ((2, 6, 5, 7), 'type: "ShuffleChannel" shuffle_channel_param { group: 2 }'),
    ((2, 6, 5, 7), 'type: "ShuffleChannel"'),  # group 1: the identity
    ((2, 6), 'type: "ShuffleChannel" shuffle_channel_param { group: 3 }'),  # top (2, 6, 1, 1)
    ((2, 6, 5), 'type: "ShuffleChannel" shuffle_channel_param { group: 2 }'),  # top (2, 6, 5, 1)
    ((2, 6, 9, 8), 'type: "ConvolutionDepthwise" convolution_param { num_output: 3 kernel_size: 3 stride: 2 pad: 1 }'),
    ((2, 6, 9, 8), 'type: "ConvolutionDepthwise" convolution_param { kernel_h: 3 kernel_w: 2 stride_h: 1 '
                   'stride_w: 2 pad_h: 1 pad_w: 0 bias_term: false }'),
    ((2, 6, 9, 8), 'type: "ConvolutionDepthwise" convolution_param { kernel_size: 3 stride: 1 pad: 2 dilation: 2 }'),
    ((2, 6, 9, 8), 'type: "DepthwiseConvolution" convolution_param { num_output: 6 group: 6 kernel_size: 3 '
                   'stride: 2 pad: 1 }'),
    ((2, 6, 9, 8), 'type: "DepthwiseConvolution" convolution_param { num_output: 12 group: 6 kernel_size: 3 pad: 1 '
                   'bias_term: false }'),
]
MISH_SPREAD = 10.0

# SENet's Axpy: a as N x C x 1 x 1 and as N x C, over a 4-D and a 2-D x.
AXPY = """
layer { name: "a4" type: "Input" top: "a4" input_param { shape { dim: 2 dim: 6 dim: 1 dim: 1 } } }
layer { name: "a2" type: "Input" top: "a2" input_param { shape { dim: 2 dim: 6 } } }
layer { name: "x" type: "Input" top: "x" input_param { shape { dim: 2 dim: 6 dim: 5 dim: 7 } } }
layer { name: "y" type: "Input" top: "y" input_param { shape { dim: 2 dim: 6 dim: 5 dim: 7 } } }
layer { name: "x2" type: "Input" top: "x2" input_param { shape { dim: 2 dim: 6 } } }
layer { name: "y2" type: "Input" top: "y2" input_param { shape { dim: 2 dim: 6 } } }
layer { name: "axpy4" type: "Axpy" bottom: "a4" bottom: "x" bottom: "y" top: "axpy4" }
layer { name: "axpy2" type: "Axpy" bottom: "a2" bottom: "x" bottom: "y" top: "axpy2" }
layer { name: "axpy_flat" type: "Axpy" bottom: "a2" bottom: "x2" bottom: "y2" top: "axpy_flat" }
"""
AXPY_LAYERS = ("axpy4", "axpy2", "axpy_flat")

# MobileNet's depthwise block: the default passes fold the BatchNorm and Scale into each convolution.
FOLDED = """
layer { name: "m" type: "Input" top: "m" input_param { shape { dim: 2 dim: 6 dim: 9 dim: 8 } } }
layer { name: "m_dw" type: "ConvolutionDepthwise" bottom: "m" top: "m_dw"
  convolution_param { num_output: 6 bias_term: false kernel_size: 3 stride: 2 pad: 1 } }
layer { name: "m_dw/bn" type: "BatchNorm" bottom: "m_dw" top: "m_dw" }
layer { name: "m_dw/scale" type: "Scale" bottom: "m_dw" top: "m_dw" scale_param { bias_term: true } }
layer { name: "m_dw/relu" type: "ReLU6" bottom: "m_dw" top: "m_dw" }
layer { name: "m_dw2" type: "DepthwiseConvolution" bottom: "m_dw" top: "m_dw2"
  convolution_param { num_output: 6 group: 6 bias_term: false kernel_size: 3 pad: 1 } }
layer { name: "m_dw2/bn" type: "BatchNorm" bottom: "m_dw2" top: "m_dw2" }
layer { name: "m_dw2/scale" type: "Scale" bottom: "m_dw2" top: "m_dw2" scale_param { bias_term: true } }
"""
FOLDED_LAYERS = ("m_dw/relu", "m_dw2/scale")


def variants_prototxt() -> str:
    lines = []
    for i, (shape, layer) in enumerate(VARIANTS):
        dims = " ".join(f"dim: {d}" for d in shape)
        lines.append(f'layer {{ name: "in{i}" type: "Input" top: "in{i}" input_param {{ shape {{ {dims} }} }} }}')
        lines.append(f'layer {{ name: "v{i}" {layer} bottom: "in{i}" top: "v{i}" }}')
    return "\n".join(lines) + AXPY + FOLDED


@cache
def variants_case():
    """(graph with seeded random weights, inputs, reference blobs "LAYER:TOP")."""
    graph = fill_random(caffe2x.graph_from_net(parse_prototxt_text(variants_prototxt())), seed=3)
    rng = np.random.default_rng(5)
    inputs = {v: (4 * rng.standard_normal(graph.values[v].shape)).astype(np.float32) for v in graph.inputs}
    for i, (_, layer) in enumerate(VARIANTS):
        if "Mish" in layer:
            inputs[f"in{i}"] *= np.float32(MISH_SPREAD)
    return graph, inputs, as_golden_blobs(graph, run(graph, inputs))


def tflite_operators(path) -> tuple[set[str], set[str]]:
    """(builtin operator names, custom operator codes: Flex ops included) of a .tflite file."""
    from tensorflow.lite.python import schema_py_generated as schema

    names = {value: name for name, value in vars(schema.BuiltinOperator).items() if not name.startswith("_")}
    model = schema.Model.GetRootAsModel(bytearray(open(path, "rb").read()), 0)
    builtins, custom = set(), set()
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        op = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if names.get(op) == "CUSTOM":
            custom.add((code.CustomCode() or b"").decode())
        else:
            builtins.add(names.get(op, str(op)))
    return builtins, custom
