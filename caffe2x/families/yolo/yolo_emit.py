"""The emitters YoloDetectionOutput and Yolov3DetectionOutput share: each target runs the
formulation of yolo_nms.py with the layer's runtime arguments (version, num_classes,
confidence_threshold, nms_threshold, bottom plans), which each layer module computes."""

from __future__ import annotations

from ...extend import KerasLayer, TorchLayer, float_literal


def _literal(args) -> str:
    version, classes, threshold, nms_threshold, plans = args
    return f"{version}, {classes}, {float_literal(threshold)}, {float_literal(nms_threshold)}, {plans!r}"


def _caffe_layout(ctx, node, index, arg, value) -> str:
    """The bottom in Caffe's layout: KerasContext.to_caffe, with a Permute named per bottom
    (to_caffe names one per layer)."""
    if ctx.layout(value) == "nhwc":
        return f"layers.Permute((3, 1, 2), name={ctx.name(node, f'to_nchw_{index}')})({arg})"
    return ctx.to_caffe(node, arg, value)


def emitters(runtime_args):
    """onnx / pytorch / tensorflow emitters for a layer whose runtime_args(params, bottom shapes)
    gives the runtime classes' arguments."""

    def args_of(node, shape):
        return runtime_args(node.params, [shape(v) for v in node.inputs])

    def onnx(node, inputs, outputs, builder):
        from .yolo_onnx import emit

        return emit(args_of(node, builder.shape), node, inputs, outputs, builder)

    def pytorch(node, ctx):
        return TorchLayer(f"YoloDetection({_literal(args_of(node, ctx.shape))})",
                          helpers=("caffe2x.families.yolo.yolo_torch:YoloDetection",))

    def tensorflow(node, args, ctx):
        """A Keras layer on the Caffe-layout bottoms; its 1 x 1 x R x 7 output keeps Caffe's form."""
        inputs = ", ".join(_caffe_layout(ctx, node, i, arg, value)
                           for i, (arg, value) in enumerate(zip(args, node.inputs)))
        return KerasLayer(f"YoloDetection({_literal(args_of(node, ctx.shape))}, name={ctx.name(node)})([{inputs}])",
                          custom=("caffe2x.families.yolo.yolo_keras:YoloDetection",), layouts=["caffe"])

    return {"onnx": onnx, "pytorch": pytorch, "tensorflow": tensorflow}
