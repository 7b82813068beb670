"""verify --to pytorch: run the generated module with forward hooks on every layer."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ...errors import Caffe2xError
from ...ir.graph import Graph
from .codegen import generate
from .export import instantiate, write_folder


def _device(device: str):
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        raise Caffe2xError("--device cuda: torch sees no CUDA device.")
    return torch.device(device)


def run_module(module, model, inputs: Mapping[str, np.ndarray], device: str = "cpu") -> dict[str, np.ndarray]:
    """Every Caffe blob the module computes, keyed "LAYER:TOP", via forward hooks."""
    import torch

    graph = model.graph
    captured: dict[str, np.ndarray] = {}
    handles = []
    for node, attribute in zip(model.layer_nodes, model.attributes):

        def hook(_module, _args, output, node=node):
            outputs = output if isinstance(output, tuple) else (output,)
            for top, tensor in zip(node.tops, outputs):
                # A copy: an in-place layer later overwrites this very tensor.
                captured[f"{node.key_layer}:{top}"] = tensor.detach().cpu().numpy().copy()

        handles.append(getattr(module, attribute).register_forward_hook(hook))
    target = _device(device)
    module = module.to(target)
    args = [torch.from_numpy(np.ascontiguousarray(inputs[graph.values[v].top], np.float32)).to(target)
            for v in graph.inputs]
    try:
        with torch.no_grad():
            module(*args)
    finally:
        for handle in handles:
            handle.remove()
    return captured


def run_pytorch(graph: Graph, input_sets: list[Mapping[str, np.ndarray]], device: str = "cpu") -> list[dict]:
    """Generate model.py once, run it on each input set (a dynamic-size model at several sizes)."""
    model = generate(graph)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "model"
        write_folder(model, folder, exported=False)
        module = instantiate(model, folder)
        return [run_module(module, model, inputs, device) for inputs in input_sets]
