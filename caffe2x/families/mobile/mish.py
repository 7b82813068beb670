"""The Mish layer of the darknet-port forks: top = x * tanh(softplus(x)).

Source: troyliu0105/caffe, branch dev, commit b229df59576570ba7e5790bf88f57405de50dd78:
src/caffe/layers/mish_layer.cpp calls caffe_mish, defined in
include/caffe/util/math_functions.hpp as `x * tanh(softplus(x))` with darknet's softplus
`x > 20 ? x : (x < -20 ? exp(x) : log1p(exp(x)))`. foss-for-synopsys-dwc-arc-processors/
synopsys-caffe (mish_layer.cpp, commit 9b7902e40ef2b464c8abb1366438854f9414a1be) has the same
thresholds (MISH_THRESHOLD = 20) with logf(expf(x) + 1); its commit
977ba36af383208c2f734c207b573395cb6ab282 made the real-fork golden case fork_mobile. No parameters.

The two thresholds change nothing a float32 blob can hold: above 20, log1p(e^-x) < 2.1e-9 is
below half an ulp of x; below -20, log1p(e^x) and e^x differ by a factor 1 - e^x/2. So a
target's own stable softplus (ONNX Softplus, torch's softplus, whose threshold is also 20,
TensorFlow's softplus) computes the same top; the reference keeps the fork's branches.
"""

from __future__ import annotations

import numpy as np

from ...api import register_layer
from ...extend import KerasLayer, LayerDef, TorchLayer, no_params, same_shape

MISH_THRESHOLD = 20.0


def darknet_softplus(x):
    """The fork's softplus, in NumPy: x above 20, e^x below -20, log1p(e^x) between."""
    with np.errstate(over="ignore"):
        return np.where(x > MISH_THRESHOLD, x, np.where(x < -MISH_THRESHOLD, np.exp(x), np.log1p(np.exp(x))))


def apply_mish(x, softplus, tanh):
    """caffe_mish, for any array type: x * tanh(softplus(x))."""
    return x * tanh(softplus(x))


def reference(node, inputs):
    return [apply_mish(inputs[0].astype(np.float64), darknet_softplus, np.tanh)]


def onnx(node, inputs, outputs, b):
    softplus = b.op("Softplus", [inputs[0]], node.name)
    return [b.op("Mul", [inputs[0], b.op("Tanh", [softplus], node.name)], node.name, output=outputs[0])]


def pytorch(node, ctx):
    return TorchLayer("Mish()", helpers=("caffe2x.families.mobile.mish_torch:Mish",))


def tensorflow(node, args, ctx):
    return KerasLayer(f"Mish(name={ctx.name(node)})({args[0]})", custom=("caffe2x.families.mobile.mish_keras:Mish",),
                      layouts=[ctx.layout(node.inputs[0])])


register_layer("Mish", LayerDef(no_params, same_shape), reference, onnx=onnx, pytorch=pytorch, tensorflow=tensorflow)
