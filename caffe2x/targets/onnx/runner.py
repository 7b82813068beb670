"""Run a converted ONNX model with onnxruntime, every Caffe top exposed."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping

import numpy as np

from ...errors import Caffe2xError
from ...ir.graph import Graph
from ...verify import TARGET_RUNNERS
from .convert import EXTERNAL_DATA_BYTES, to_onnx

PROVIDERS = {"cpu": ["CPUExecutionProvider"], "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"]}


def session(model, device: str = "cpu", threads: int | None = None):
    import onnxruntime as ort

    if device == "cuda" and "CUDAExecutionProvider" not in ort.get_available_providers():
        raise Caffe2xError("--device cuda needs onnxruntime-gpu with CUDA (pip install 'caffe2x[gpu]').")
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    weight_bytes = sum(len(t.raw_data) for t in model.graph.initializer)
    if weight_bytes <= EXTERNAL_DATA_BYTES:
        return ort.InferenceSession(model.SerializeToString(), options, providers=PROVIDERS[device])
    import onnx  # a model over 2 GB must be loaded from files

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.onnx")
        onnx.save_model(model, path, save_as_external_data=True, location="model.onnx.data")
        return ort.InferenceSession(path, options, providers=PROVIDERS[device])


@TARGET_RUNNERS.register("onnx")
def run_onnx(graph: Graph, inputs: Mapping[str, np.ndarray], device: str = "cpu") -> dict[str, np.ndarray]:
    converted = to_onnx(graph, keep_intermediate=True)
    feeds = {graph.values[v].top: np.ascontiguousarray(inputs[graph.values[v].top], np.float32)
             for v in graph.inputs}
    sess = session(converted.model, device)
    names = [o.name for o in sess.get_outputs()]
    produced = dict(zip(names, sess.run(names, feeds)))
    return {key: produced[tensor] for key, tensor in converted.blob_tensors().items()}
