"""Run a converted ONNX model with onnxruntime, every Caffe top exposed."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ...errors import Caffe2xError
from ...ir.graph import Graph
from .convert import EXTERNAL_DATA_BYTES, to_onnx

PROVIDERS = {"cpu": ["CPUExecutionProvider"], "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"]}


def session(converted, device: str = "cpu", threads: int | None = None):
    """An onnxruntime session for a converted model, written to a temporary file with its
    weights streamed (so a large model is never serialized in memory)."""
    import onnxruntime as ort

    from .stream import write_model

    if device == "cuda" and "CUDAExecutionProvider" not in ort.get_available_providers():
        raise Caffe2xError("--device cuda needs onnxruntime-gpu with CUDA (pip install 'caffe2x[gpu]').")
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        external = converted.weight_bytes > EXTERNAL_DATA_BYTES
        write_model(converted, path, "model.onnx.data" if external else None)
        return ort.InferenceSession(str(path), options, providers=PROVIDERS[device])


def run_onnx(graph: Graph, input_sets: list[Mapping[str, np.ndarray]], device: str = "cpu") -> list[dict]:
    """Convert once, run on each input set (a dynamic-size model at several sizes)."""
    converted = to_onnx(graph, keep_intermediate=True)
    sess = session(converted, device)
    names = [o.name for o in sess.get_outputs()]
    results = []
    for inputs in input_sets:
        feeds = {graph.values[v].top: np.ascontiguousarray(inputs[graph.values[v].top], np.float32)
                 for v in graph.inputs}
        produced = dict(zip(names, sess.run(names, feeds)))
        results.append({key: produced[tensor] for key, tensor in converted.blob_tensors().items()})
    return results
