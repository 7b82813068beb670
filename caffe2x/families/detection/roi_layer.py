"""What ROIPooling and PSROIPooling register alike: two bottoms (the feature map, the (R, 5)
ROIs), one top of R rows, ROIs given as data checked and drawn by roi_inputs.py at the layer's
spatial_scale, and one emitter per target that hands the layer's arguments to its runtime,
named after the layer's module `name` (roi_onnx.<name>; a class named as the type in
<name>_torch.py and <name>_keras.py). Each layer's
module keeps what is its own: parameters, shape rule, the fork's arithmetic and its reference."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...api import register_layer
from ...extend import DataBottom, KerasLayer, LayerDef, TorchLayer, count
from .roi_inputs import check_rois, draw_rois


def output_flops(params, bottoms, tops) -> int:
    """One operation per pooled value."""
    return count(tops[0])


def register_roi_layer(layer_type: str, parse: Callable[[Any], Any], infer, reference,
                       arguments: Callable[[Any], str], name: str) -> LayerDef:
    """Register `layer_type`, whose params have a spatial_scale. arguments: params -> the runtime
    classes' constructor arguments (source); name: the layer's module name (roi_pooling,
    psroi_pooling), which its roi_onnx.py function and its _torch / _keras runtimes bear."""

    def check_data(params, rois, context) -> None:
        check_rois(layer_type, rois, context, params.spatial_scale)

    def draw_data(params, shape, context, rng):
        return draw_rois(shape, context, params.spatial_scale, rng)

    def onnx(node, inputs, outputs, builder):
        from . import roi_onnx  # the ONNX formulation is read only when that target runs

        return [getattr(roi_onnx, name)(node, inputs, outputs[0], builder)]

    def pytorch(node, ctx):
        return TorchLayer(f"{layer_type}({arguments(node.params)})",
                          helpers=(f"caffe2x.families.detection.{name}_torch:{layer_type}",))

    def tensorflow(node, args, ctx):
        channels_last = ctx.layout(node.inputs[0]) == "nhwc"
        return KerasLayer(f"{layer_type}({arguments(node.params)}, {channels_last}, name={ctx.name(node)})"
                          f"([{args[0]}, {args[1]}])",
                          custom=(f"caffe2x.families.detection.{name}_keras:{layer_type}",),
                          layouts=["nhwc" if channels_last else "caffe"])

    definition = LayerDef(parse, infer, flops=output_flops, bottoms=(2, 2),
                          data_bottoms=(DataBottom(1, check_data, draw_data, rows=True),))
    register_layer(layer_type, definition, reference, onnx=onnx, pytorch=pytorch, tensorflow=tensorflow)
    return definition
