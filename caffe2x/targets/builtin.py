"""The built-in targets. Each imports its subpackage (and so its framework) only
when it converts or runs, so listing them costs nothing."""

from __future__ import annotations

from dataclasses import dataclass

from ..io.outputs import FILE, FOLDER
from .dynamic import check_dynamic
from .quiet import quiet_framework_logs
from .registry import TARGETS, ConvertOptions, Target


@dataclass(frozen=True)
class OnnxTarget(Target):
    def convert(self, graph, output, options, force=False):
        from . import onnx

        converted = onnx.to_onnx(graph, opset=options.opset or onnx.DEFAULT_OPSET,
                                 dynamic_batch=options.dynamic_batch, keep_intermediate=options.keep_intermediate)
        return onnx.save_onnx(converted, output, force=force)

    def run(self, graph, inputs, device="cpu"):
        return self.run_each(graph, [inputs], device)[0]

    def run_each(self, graph, input_sets, device="cpu", options=None):
        from .onnx.runner import run_onnx

        return run_onnx(graph, input_sets, device)


@dataclass(frozen=True)
class PytorchTarget(Target):
    def convert(self, graph, output, options, force=False):
        check_dynamic(graph, self.name, self.emitters)
        from . import torch

        return torch.write_folder(torch.generate(graph), output, force=force)

    def run(self, graph, inputs, device="cpu"):
        return self.run_each(graph, [inputs], device)[0]

    def run_each(self, graph, input_sets, device="cpu", options=None):
        check_dynamic(graph, self.name, self.emitters)
        from .torch.runner import run_pytorch

        return run_pytorch(graph, input_sets, device)


@dataclass(frozen=True)
class TensorflowTarget(Target):
    def convert(self, graph, output, options, force=False):
        check_dynamic(graph, self.name, self.emitters)
        with quiet_framework_logs():
            from . import tensorflow

            return tensorflow.write_saved_model(tensorflow.generate(graph, options.layout), output, force=force)

    def run(self, graph, inputs, device="cpu"):
        return self.run_each(graph, [inputs], device)[0]

    def run_each(self, graph, input_sets, device="cpu", options=None):
        check_dynamic(graph, self.name, self.emitters)
        with quiet_framework_logs():
            from .tensorflow.runner import run_tensorflow

            return run_tensorflow(graph, input_sets, device)


@dataclass(frozen=True)
class TfliteTarget(Target):
    def check_options(self, options):
        from .quantize import check_quantize

        super().check_options(options)
        check_quantize(options.quantize, options.calibration)

    def convert(self, graph, output, options, force=False):
        self.check_options(options)
        check_dynamic(graph, self.name, self.emitters)
        calibration = _calibration(graph, options)  # read (and checked) before TensorFlow starts
        with quiet_framework_logs():
            from . import tensorflow

            return tensorflow.write_tflite(tensorflow.generate(graph, options.layout), output, force=force,
                                           quantize=options.quantize, calibration=calibration)

    def run(self, graph, inputs, device="cpu"):
        return self.run_each(graph, [inputs], device)[0]

    def run_each(self, graph, input_sets, device="cpu", options=None):
        options = options or ConvertOptions()
        self.check_options(options)
        check_dynamic(graph, self.name, self.emitters)
        calibration = _calibration(graph, options)
        with quiet_framework_logs():
            from .tensorflow.runner import run_tflite

            return run_tflite(graph, input_sets, device, options.quantize, calibration)


def _calibration(graph, options):
    """The int8 calibration samples (--calibration), None without."""
    if not options.calibration:
        return None
    from ..frontend.calibration import read_calibration

    return read_calibration(options.calibration, graph)


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
    options=("layout", "quantize", "calibration"), color="#2ca02c"))
