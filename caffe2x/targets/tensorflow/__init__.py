"""The TensorFlow target: Keras (NHWC or NCHW), SavedModel, model.py, TFLite."""

import os

# TensorFlow's oneDNN CPU allocator pools every large tensor it frees and never gives the
# memory back, so a conversion's temporaries (Keras' random initial weights, the SavedModel
# the TFLite converter reloads) stay resident to the end. The system allocator returns them.
# Read when TensorFlow first allocates; a value the user set wins.
os.environ.setdefault("TF_ONEDNN_USE_SYSTEM_ALLOCATOR", "1")

from . import activation, affine, conv, eltwise, normalization, pooling, reduction, runner, tensor  # noqa: F401
from .base import KERAS_EMITTERS, KerasLayer
from .codegen import KerasModel, generate
from .export import build, write_saved_model, write_tflite

__all__ = ["KERAS_EMITTERS", "KerasLayer", "KerasModel", "build", "generate", "write_saved_model", "write_tflite"]
