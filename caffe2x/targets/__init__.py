"""Conversion targets. Each lives in its own subpackage and imports its
framework lazily, so the core works with none of them installed."""

from __future__ import annotations

import importlib

from ..errors import Caffe2xError

# target name -> (module, pip extra that provides its framework)
TARGETS = {
    "onnx": ("caffe2x.targets.onnx", "onnx"),
    "pytorch": ("caffe2x.targets.torch", "torch"),
    "tensorflow": ("caffe2x.targets.tensorflow", "tensorflow"),
    "tflite": ("caffe2x.targets.tensorflow", "tensorflow"),
}


def load_target(name: str):
    """Import a target's package (which registers its emitters and runner)."""
    if name not in TARGETS:
        raise Caffe2xError(f"unknown target '{name}'; choose from {', '.join(sorted(TARGETS))}.")
    module, extra = TARGETS[name]
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise Caffe2xError(f"the {name} target needs {exc.name}: pip install 'caffe2x[{extra}]'.") from None
