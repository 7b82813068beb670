"""The ONNX target: standard operators only (opset 13 to 21, default 17)."""

from . import activation, affine, conv, eltwise, normalization, pooling, reduction, runner, tensor  # noqa: F401
from .convert import DEFAULT_OPSET, OnnxModel, save_onnx, to_onnx
from .registry import ONNX_EMITTERS

__all__ = ["DEFAULT_OPSET", "ONNX_EMITTERS", "OnnxModel", "save_onnx", "to_onnx"]
