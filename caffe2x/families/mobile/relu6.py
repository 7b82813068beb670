"""The mobile forks' ReLU6 layer: top = min(max(x, 0) + negative_slope * min(x, 0), 6).

Source: rog93/Caffe-MobileNetV2-ReLU6, commit ca913f241d39ce9a8e4097ad4fa13bad1f44c0c1,
relu6_layer.cpp (Forward_cpu: `std::min(std::max(x, 0) + negative_slope * std::min(x, 0), 6.)`),
the layer MobileNet v2 ports drop into their Caffe; eric612/MobileNet-YOLO (commit
69b4441cb3ec8d553fbdef788ad033e246f901bd, the file of the real-fork golden case fork_mobile)
and troyliu0105/caffe copy the same file. Its block is `relu6_param { negative_slope }`, declared
in mobile.proto as those two forks do (BVLC's ReLUParameter at 211; rog93's own ReLU6Parameter
has the same field 1). The leak applies below 0 and the cap of 6 after it, so a negative slope
times a negative input is capped too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...api import register_layer
from ...extend import KerasLayer, LayerDef, TorchLayer, float_literal, fork_params, same_shape

RELU6_CAP = 6.0


@dataclass(frozen=True)
class ReLU6Params:
    negative_slope: float


def parse(relu6) -> ReLU6Params:
    return ReLU6Params(float(relu6.negative_slope))


def apply_relu6(x, slope, at_least, at_most):
    """relu6_layer.cpp, for any array type: min(max(x, 0) + slope * min(x, 0), 6);
    at_least(t, v) is the element-wise max of t and v, at_most(t, v) the min."""
    if slope == 0:
        return at_most(at_least(x, 0.0), RELU6_CAP)
    return at_most(at_least(x, 0.0) + slope * at_most(x, 0.0), RELU6_CAP)


def reference(node, inputs):
    return [apply_relu6(inputs[0].astype(np.float64), node.params.negative_slope, np.maximum, np.minimum)]


def onnx(node, inputs, outputs, b):
    slope = node.params.negative_slope
    cap = b.const(node.name, "cap", np.float32(RELU6_CAP))
    if slope == 0:
        return [b.op("Clip", [inputs[0], b.const(node.name, "zero", np.float32(0)), cap], node.name,
                     output=outputs[0])]
    leaky = b.op("LeakyRelu", [inputs[0]], node.name, alpha=float(slope))
    return [b.op("Min", [leaky, cap], node.name, output=outputs[0])]


def pytorch(node, ctx):
    slope = node.params.negative_slope
    if slope == 0:  # in place where ReLU would be (no new activation-sized tensor)
        return TorchLayer(f"nn.ReLU6({'inplace=True' if ctx.may_overwrite_input(node) else ''})")
    return TorchLayer(f"ReLU6({float_literal(slope)})", helpers=("caffe2x.families.mobile.relu6_torch:ReLU6",))


def tensorflow(node, args, ctx):
    slope = node.params.negative_slope
    layout = ctx.layout(node.inputs[0])
    if slope == 0:  # TFLite's own RELU6
        return KerasLayer(f"layers.ReLU(max_value={float_literal(RELU6_CAP)}, name={ctx.name(node)})({args[0]})",
                          layouts=[layout])
    return KerasLayer(f"ReLU6({float_literal(slope)}, name={ctx.name(node)})({args[0]})",
                      custom=("caffe2x.families.mobile.relu6_keras:ReLU6",), layouts=[layout])


register_layer("ReLU6", LayerDef(fork_params("relu6_param", parse), same_shape), reference,
               onnx=onnx, pytorch=pytorch, tensorflow=tensorflow)
