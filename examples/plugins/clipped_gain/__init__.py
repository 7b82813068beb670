"""A plugin layer with its own fork-style parameter block: ClippedGain.

    layer { name: "gain" type: "ClippedGain" bottom: "conv1" top: "gain"
            clipped_gain_param { gain: 0.5 gain: 2.0 clip { min: -1 max: 1.5 } mode: CLIP } }

y = x * gain[c] (one gain per channel, or one for all), then clipped to [clip.min,
clip.max] unless mode is NONE. The block has a repeated field (gain), a nested
message (clip) and an enum (mode); caffe2x reads it by the declaration below from
the prototxt and, by field numbers, from a caffemodel, and hands `parse` a typed
value with the defaults applied.

One home for the layer: this file holds its parameters, shape rule, reference
kernel and one emitter per target; torch_runtime.py and keras_runtime.py hold the
runtime classes a generated model.py copies (real, tested code).

    caffe2x verify examples/plugins/clipped_gain.prototxt --plugin examples/plugins/clipped_gain \\
        --random-weights --to onnx --to pytorch --to tensorflow --to tflite
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import caffe2x
from caffe2x.extend import (
    Enum,
    Field,
    KerasLayer,
    LayerDef,
    ParamMessage,
    ShapeError,
    TorchLayer,
    float_literal,
    fork_params,
)

# The fork's schema, as its caffe.proto would say it:
#   message Range { optional float min = 1 [default = -1]; optional float max = 2 [default = 1]; }
#   message ClippedGainParameter {
#     enum Mode { CLIP = 0; NONE = 1; }
#     repeated float gain = 1;
#     optional Range clip = 2;
#     optional Mode mode = 3 [default = CLIP];
#   }
#   optional ClippedGainParameter clipped_gain_param = 4201;  // in LayerParameter
MODE = Enum("Mode", {"CLIP": 0, "NONE": 1})
RANGE = ParamMessage("Range", Field("min", 1, "float", default=-1.0), Field("max", 2, "float", default=1.0))
CLIPPED_GAIN = ParamMessage("ClippedGainParameter",
                            Field("gain", 1, "float", repeated=True),
                            Field("clip", 2, RANGE),
                            Field("mode", 3, MODE, default="CLIP"))
caffe2x.register_param("clipped_gain_param", 4201, CLIPPED_GAIN)


@dataclass(frozen=True)
class ClippedGainParams:
    gain: tuple[float, ...]
    low: float | None  # None: no clipping (mode NONE)
    high: float | None


def parse(value) -> ClippedGainParams:
    if value.mode == "NONE":
        return ClippedGainParams(tuple(value.gain), None, None)
    return ClippedGainParams(tuple(value.gain), value.clip.min, value.clip.max)


def infer(params: ClippedGainParams, bottoms):
    channels = bottoms[0][1] if len(bottoms[0]) > 1 else 1
    if len(params.gain) not in (1, channels):
        raise ShapeError(f"clipped_gain_param has {len(params.gain)} gains for {channels} channels (give 1 or "
                         f"{channels})")
    if params.low is not None and params.low > params.high:
        raise ShapeError(f"clip.min {params.low} is above clip.max {params.high}")
    return [bottoms[0]]


def gains(params: ClippedGainParams, channels: int) -> np.ndarray:
    """One float32 gain per channel: the rule every target uses."""
    return np.broadcast_to(np.asarray(params.gain, np.float32), (channels,)).copy()


def reference(node, inputs):
    x = inputs[0].astype(np.float64)
    view = [1] * x.ndim
    if x.ndim > 1:
        view[1] = -1
    y = x * gains(node.params, x.shape[1] if x.ndim > 1 else 1).reshape(view)
    return [y if node.params.low is None else np.clip(y, node.params.low, node.params.high)]


def onnx(node, inputs, outputs, builder):
    shape = builder.shape(node.inputs[0])
    view = [1] * len(shape)
    if len(shape) > 1:
        view[1] = -1
    gain = builder.const(node.name, "gain", gains(node.params, shape[1] if len(shape) > 1 else 1).reshape(view))
    if node.params.low is None:
        return [builder.op("Mul", [inputs[0], gain], node.name, output=outputs[0])]
    scaled = builder.op("Mul", [inputs[0], gain], node.name)
    low = builder.const(node.name, "min", np.float32(node.params.low))
    high = builder.const(node.name, "max", np.float32(node.params.high))
    return [builder.op("Clip", [scaled, low, high], node.name, output=outputs[0])]


def _bounds(params: ClippedGainParams) -> str:
    if params.low is None:
        return "None, None"
    return f"{float_literal(params.low)}, {float_literal(params.high)}"


def pytorch(node, ctx):
    shape = ctx.shape(node.inputs[0])
    channels = shape[1] if len(shape) > 1 else 1
    return TorchLayer(f"ClippedGain({channels}, {len(shape)}, {_bounds(node.params)})",
                      state={"gain": gains(node.params, channels)},
                      helpers=("clipped_gain.torch_runtime:ClippedGain",))


def tensorflow(node, args, ctx):
    shape = ctx.shape(node.inputs[0])
    channels = shape[1] if len(shape) > 1 else 1
    layout = ctx.layout(node.inputs[0])
    # In Keras a 4-D blob is NHWC: its channels are the last axis; other ranks keep Caffe's order.
    view = (1, 1, channels) if layout == "nhwc" else (channels,) + (1,) * (len(shape) - 2)
    return KerasLayer(f"ClippedGain({view}, {_bounds(node.params)}, name={ctx.name(node)})({args[0]})",
                      weights={ctx.raw_name(node): [gains(node.params, channels).reshape(view)]},
                      custom=("clipped_gain.keras_runtime:ClippedGain",), layouts=[layout])


caffe2x.register_layer("ClippedGain", LayerDef(fork_params("clipped_gain_param", parse), infer), reference,
                       onnx=onnx, pytorch=pytorch, tensorflow=tensorflow, replace=True)
