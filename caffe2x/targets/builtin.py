"""The built-in targets. Each imports its subpackage (and so its framework) only
when it converts or runs, so listing them costs nothing."""

from __future__ import annotations

from dataclasses import dataclass

from ..io.outputs import FILE, FOLDER
from .quiet import quiet_framework_logs
from .registry import TARGETS, Target


@dataclass(frozen=True)
class OnnxTarget(Target):
    def convert(self, graph, output, options, force=False):
        from . import onnx

        converted = onnx.to_onnx(graph, opset=options.opset or onnx.DEFAULT_OPSET,
                                 dynamic_batch=options.dynamic_batch, keep_intermediate=options.keep_intermediate)
        return onnx.save_onnx(converted, output, force=force)

    def run(self, graph, inputs, device="cpu"):
        from .onnx.runner import run_onnx

        return run_onnx(graph, inputs, device)


@dataclass(frozen=True)
class PytorchTarget(Target):
    def convert(self, graph, output, options, force=False):
        from . import torch

        return torch.write_folder(torch.generate(graph), output, force=force)

    def run(self, graph, inputs, device="cpu"):
        from .torch.runner import run_pytorch

        return run_pytorch(graph, inputs, device)


@dataclass(frozen=True)
class TensorflowTarget(Target):
    def convert(self, graph, output, options, force=False):
        with quiet_framework_logs():
            from . import tensorflow

            return tensorflow.write_saved_model(tensorflow.generate(graph, options.layout), output, force=force)

    def run(self, graph, inputs, device="cpu"):
        with quiet_framework_logs():
            from .tensorflow.runner import run_tensorflow

            return run_tensorflow(graph, inputs, device)


@dataclass(frozen=True)
class TfliteTarget(Target):
    def convert(self, graph, output, options, force=False):
        with quiet_framework_logs():
            from . import tensorflow

            return tensorflow.write_tflite(tensorflow.generate(graph, options.layout), output, force=force)

    def run(self, graph, inputs, device="cpu"):
        with quiet_framework_logs():
            from .tensorflow.runner import run_tflite

            return run_tflite(graph, inputs, device)


ONNX = TARGETS.register(OnnxTarget(
    "onnx", "a .onnx file", extra="onnx", modules=("onnx",), run_modules=("onnxruntime",), output_kind=FILE,
    suffixes=(".onnx",), batch_output="model.onnx", emitters="onnx",
    options=("opset", "dynamic_batch", "keep_intermediate"), color="#1f77b4"))
PYTORCH = TARGETS.register(PytorchTarget(
    "pytorch", "a folder (model.py, weights, a torch.export program)", extra="torch", modules=("torch",),
    output_kind=FOLDER, batch_output="pytorch", emitters="pytorch", color="#d62728"))
TENSORFLOW = TARGETS.register(TensorflowTarget(
    "tensorflow", "a SavedModel folder", extra="tensorflow", modules=("tensorflow", "keras"), output_kind=FOLDER,
    batch_output="tensorflow", emitters="tensorflow", options=("layout",), color="#ff7f0e"))
TFLITE = TARGETS.register(TfliteTarget(
    "tflite", "a .tflite file", extra="tensorflow", modules=("tensorflow", "keras"),
    output_kind=FILE, suffixes=(".tflite",), batch_output="model.tflite", emitters="tensorflow",
    options=("layout",), color="#2ca02c"))
