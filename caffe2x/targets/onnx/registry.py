"""ONNX emitters: one per Caffe layer type.

An emitter is `emit(node, inputs, out, b) -> list[str]`: `inputs` are the
ONNX tensor names of the node's inputs, `out` the names its outputs should
get, `b` the OnnxBuilder. It returns the tensor names that hold its outputs
(normally `out`).
"""

from __future__ import annotations

from ...registry import Registry

ONNX_EMITTERS: Registry = Registry("ONNX")
