"""Write OUTDIR: model.py, model.pt (state dict), model.pt2 (torch.export), caffe2x.json."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import uuid
from pathlib import Path

import numpy as np

from ...io.atomic import atomic_dir
from .codegen import TorchModel

EXPORT_BATCH = 2  # torch.export specializes a batch of 1, so trace with 2


def load_module_class(source_path: Path, class_name: str):
    """Import a generated model.py under a private name and return its class."""
    name = f"caffe2x_generated_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(name, source_path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return getattr(module, class_name)


def state_tensors(model: TorchModel) -> dict:
    import torch

    return {key: torch.from_numpy(np.array(value, copy=True)) if value.dtype != np.int64
            else torch.tensor(int(value)) for key, value in model.state.items()}


def instantiate(model: TorchModel, folder: Path):
    """The nn.Module defined by folder/model.py, with the weights loaded, in eval mode."""
    import torch

    module = load_module_class(folder / "model.py", model.class_name)()
    module.load_state_dict(torch.load(folder / "model.pt", weights_only=True))
    return module.eval()


def export_program(module, model: TorchModel, path: Path) -> None:
    import torch
    from torch.export import Dim

    graph = model.graph
    examples = tuple(torch.randn((EXPORT_BATCH, *graph.values[v].shape[1:])) for v in graph.inputs)
    dynamic = tuple({0: Dim.DYNAMIC} for _ in examples)
    with torch.no_grad():
        program = torch.export.export(module, examples, dynamic_shapes=dynamic)
    torch.export.save(program, path)


def manifest(model: TorchModel) -> dict:
    graph = model.graph
    return {
        "class": model.class_name,
        "layers": {layer: attr for layer, attr in model.attributes.items()},
        "inputs": [{"caffe_name": graph.values[v].top, "argument": arg, "shape": list(graph.values[v].shape)}
                   for v, arg in zip(graph.inputs, model.input_names)],
        "outputs": [{"caffe_name": top, "shape": list(graph.values[v].shape)}
                    for v, top in zip(graph.outputs, graph.output_tops)],
        "fused": {layer: node.fused for node in graph.nodes if node.fused for layer in [node.name]},
    }


def write_folder(model: TorchModel, folder: str | os.PathLike, force: bool = False,
                 exported: bool = True) -> list[Path]:
    import torch

    target = Path(folder)
    with atomic_dir(target, force) as staging:
        (staging / "model.py").write_text(model.source, encoding="utf-8")
        torch.save(state_tensors(model), staging / "model.pt")
        (staging / "caffe2x.json").write_text(json.dumps(manifest(model), indent=1))
        if exported:
            export_program(instantiate(model, staging), model, staging / "model.pt2")
    return [target / name for name in ("model.py", "model.pt", "model.pt2", "caffe2x.json")
            if (target / name).exists()]
