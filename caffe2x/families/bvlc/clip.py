"""BVLC Caffe's Clip layer: top = max(min, min(bottom, max)).

Source: BVLC/caffe master, commit 9b891540183ddc834a02b2bd81b31afae71b2153,
src/caffe/layers/clip_layer.cpp (Forward_cpu: `std::max(min, std::min(bottom_data[i], max))`)
with `ClipParameter { required float min = 1; required float max = 2; }`, LayerParameter
field 148. Both bounds are required where the block is written: Caffe's text parser refuses
`clip_param { min: 0 }` (a missing required field), and so does caffe2x. A Clip with no
clip_param at all reads the default instance, min = max = 0, and outputs zeros, as Caffe.
The order of the two operations matters when min > max: Caffe then outputs min everywhere
(torch.clamp would give max), so every target applies the same min-then-max.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...api import register_layer
from ...extend import KerasLayer, LayerDef, ShapeError, TorchLayer, float_literal, same_shape


@dataclass(frozen=True)
class ClipParams:
    min: float
    max: float


def parse(layer) -> ClipParams:
    p = layer.clip_param
    if layer.HasField("clip_param"):
        missing = [name for name in ("min", "max") if not p.HasField(name)]
        if missing:
            raise ShapeError(f"clip_param lacks {' and '.join(missing)} (required in BVLC's ClipParameter; "
                             "Caffe refuses such a prototxt)")
    return ClipParams(float(np.float32(p.min)), float(np.float32(p.max)))


def apply_clip(x, low, high, at_least, at_most):
    """clip_layer.cpp, for any array type: max(low, min(x, high)); at_least(t, v) is the
    element-wise max of t and v, at_most(t, v) the min."""
    return at_least(at_most(x, high), low)


def reference(node, inputs):
    p: ClipParams = node.params
    return [apply_clip(inputs[0].astype(np.float64), p.min, p.max, np.maximum, np.minimum)]


def onnx(node, inputs, outputs, b):
    p: ClipParams = node.params
    capped = b.op("Min", [inputs[0], b.const(node.name, "max", np.float32(p.max))], node.name)
    return [b.op("Max", [capped, b.const(node.name, "min", np.float32(p.min))], node.name, output=outputs[0])]


def pytorch(node, ctx):
    p: ClipParams = node.params
    return TorchLayer(f"Clip({float_literal(p.min)}, {float_literal(p.max)})",
                      helpers=("caffe2x.families.bvlc.clip_torch:Clip",))


def tensorflow(node, args, ctx):
    p: ClipParams = node.params
    return KerasLayer(f"Clip({float_literal(p.min)}, {float_literal(p.max)}, name={ctx.name(node)})({args[0]})",
                      custom=("caffe2x.families.bvlc.clip_keras:Clip",), layouts=[ctx.layout(node.inputs[0])])


register_layer("Clip", LayerDef(parse, same_shape), reference, onnx=onnx, pytorch=pytorch, tensorflow=tensorflow)
