"""The TensorFlow target: Keras (NHWC or NCHW), SavedModel, model.py, TFLite."""

from . import activation, affine, conv, eltwise, normalization, pooling, reduction, runner, tensor  # noqa: F401
from .base import KERAS_EMITTERS, KerasLayer
from .codegen import KerasModel, generate
from .export import build, write_saved_model, write_tflite

__all__ = ["KERAS_EMITTERS", "KerasLayer", "KerasModel", "build", "generate", "write_saved_model", "write_tflite"]
