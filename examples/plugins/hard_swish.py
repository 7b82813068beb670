"""A plugin layer without parameters: MobileNetV3's HardSwish, x * relu6(x + 3) / 6.

Run it with

    caffe2x verify examples/plugins/hard_swish.prototxt --plugin examples/plugins/hard_swish.py \\
        --random-weights --to onnx --to pytorch --to tensorflow --to tflite

Every target gets an emitter: caffe2x reports up front, for each target, the
layers that have none.
"""

from __future__ import annotations

import numpy as np

import caffe2x
from caffe2x.extend import KerasLayer, LayerDef, TorchLayer, no_params, same_shape


def reference(node, inputs):
    """The NumPy kernel: what every target is compared with (inputs arrive as float32)."""
    x = inputs[0].astype(np.float64)
    return [x * np.clip(x + 3.0, 0.0, 6.0) / 6.0]


def onnx(node, inputs, outputs, builder):
    """HardSigmoid(x) = max(0, min(1, x/6 + 1/2)) exists from opset 6; HardSwish only from 14."""
    gate = builder.op("HardSigmoid", [inputs[0]], node.name, alpha=1.0 / 6.0, beta=0.5)
    return [builder.op("Mul", [inputs[0], gate], node.name, output=outputs[0])]


def pytorch(node, ctx):
    return TorchLayer("nn.Hardswish()")


def tensorflow(node, args, ctx):
    # Element-wise: the output keeps the input's layout (NHWC or Caffe's order).
    return KerasLayer(f"layers.Activation('hard_swish', name={ctx.name(node)})({args[0]})",
                      layouts=[ctx.layout(node.inputs[0])])


caffe2x.register_layer("HardSwish", LayerDef(no_params, same_shape), reference,
                       onnx=onnx, pytorch=pytorch, tensorflow=tensorflow, replace=True)
