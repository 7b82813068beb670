"""Hand-written ONNX baselines: the hand-written PyTorch nets of handwritten_torch.py,
exported by PyTorch's own ONNX exporter (opset 17, dynamic batch). That is how a
person who writes a net by hand gets an ONNX model today, so it is the graph our
converted one should be as fast as."""

from __future__ import annotations

import io

import handwritten_torch
import torch


def export_bytes(name: str, graph, shape: tuple[int, ...]) -> bytes:
    """The ONNX model (serialized) of the hand-written PyTorch net, weights included."""
    module = handwritten_torch.build(name, graph)
    buffer = io.BytesIO()
    example = torch.zeros((1, *shape))
    with torch.no_grad():
        # The TorchScript exporter: torch.export's needs onnxscript, not a bench dependency.
        torch.onnx.export(module, (example,), buffer, dynamo=False, opset_version=17,
                          input_names=["data"], output_names=["prob"], dynamic_axes={"data": {0: "batch"}})
    return buffer.getvalue()
