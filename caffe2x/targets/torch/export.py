"""Write OUTDIR: model.py, model.pt (state dict), model.pt2 (torch.export), caffe2x.json."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import uuid
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ...io.atomic import atomic_dir
from ...layers.base import fixes_batch
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
    """The state dict as tensors sharing the weights' memory (views over the mapped
    caffemodel where no pass changed them): only torch.save reads them."""
    import torch

    tensors = {}
    with warnings.catch_warnings():
        # Read-only views: safe, as nothing writes through these tensors.
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        for key, value in model.state.items():
            # float32 whatever a pass computed in: the module takes these tensors as they are.
            tensors[key] = (torch.tensor(int(value)) if value.dtype == np.int64
                            else torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32)))
    return tensors


def with_weights(module_class, state: dict):
    """An eval-mode instance of module_class holding the tensors of state as they are.

    Built on the meta device: weights that are replaced anyway are neither
    randomly initialised nor copied.
    """
    import torch

    with torch.device("meta"):
        module = module_class()
    module.load_state_dict(state, assign=True)
    if any(t.is_meta for t in (*module.parameters(), *module.buffers())):
        # A custom layer's module keeps a tensor outside the state dict: build it for real.
        module = module_class()
        module.load_state_dict(state)
    return module.eval()


def instantiate(model: TorchModel, folder: Path):
    """The nn.Module of folder/model.py with the weights of folder/model.pt, in eval mode.

    The weights are read, not memory-mapped: the module may live long after the folder
    changes (a truncated mapped file kills the process with SIGBUS), and one benchmark
    run saw AlexNet at batch 16 run 1.15x slower over mapped weights (not reproduced
    in isolation).
    """
    import torch

    module_class = load_module_class(folder / "model.py", model.class_name)
    return with_weights(module_class, torch.load(folder / "model.pt", weights_only=True))


def trace_program(module, model: TorchModel):
    """torch.export of module with a dynamic batch dimension (at the net's own shapes where a
    layer fixes the first axis: a recurrent layer's T, LayerDef.fixed_batch), and dynamic height
    and width where the graph leaves them open (graph.dynamic) and torch.export can reason about
    them. Its symbolic shapes cannot get through some stacks of ceil-mode pooling (torch 2.13:
    "cannot be solved using solve_univariate_inequality"); the program is then exported at
    the nominal height and width, which model.fixed_size_reason records (caffe2x.json says
    so; model.py itself takes any size)."""
    import torch

    graph = model.graph
    if fixes_batch(n.type for n in graph.nodes):
        examples = tuple(torch.randn(graph.values[v].shape) for v in graph.inputs)
        with torch.no_grad():
            return torch.export.export(module, examples)
    examples = tuple(torch.randn((EXPORT_BATCH, *graph.values[v].shape[1:])) for v in graph.inputs)
    open_axes = getattr(graph, "dynamic", {})
    with torch.no_grad():
        if any(open_axes.values()):
            try:
                return torch.export.export(module, examples, dynamic_shapes=_dims(graph, open_axes))
            except Exception as exc:  # torch's symbolic reasoning gave up: say why, export at the nominal size
                model.fixed_size_reason = f"torch.export could not keep height and width dynamic: " \
                                          f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
        return torch.export.export(module, examples, dynamic_shapes=_dims(graph, {}))


def _dims(graph, open_axes) -> tuple:
    from torch.export import Dim

    return tuple({axis: Dim.DYNAMIC for axis in (0, *open_axes.get(v, ()))} for v in graph.inputs)


def manifest(model: TorchModel) -> dict:
    graph = model.graph
    return {
        "class": model.class_name,
        "layers": model.caffe_layers,  # attribute -> Caffe layer: names may repeat in Caffe
        "inputs": [{"caffe_name": graph.values[v].top, "argument": arg, "shape": list(graph.values[v].shape),
                    **({"dynamic_axes": list(graph.dynamic[v])} if getattr(graph, "dynamic", {}).get(v) else {})}
                   for v, arg in zip(graph.inputs, model.input_names)],
        "outputs": [{"caffe_name": top, "shape": list(graph.values[v].shape)}
                    for v, top in zip(graph.outputs, graph.output_tops)],
        "fused": {attr: node.fused for attr, node in zip(model.attributes, model.layer_nodes) if node.fused},
        **({"model.pt2": f"exported at the nominal height and width: {model.fixed_size_reason}"}
           if model.fixed_size_reason else {}),
        **graph.metadata,  # preprocessing, labels
    }


def write_folder(model: TorchModel, folder: str | os.PathLike, force: bool = False,
                 exported: bool = True) -> list[Path]:
    import torch

    target = Path(folder)
    with atomic_dir(target, force) as staging:
        (staging / "model.py").write_text(model.source, encoding="utf-8")
        (staging / "caffe2x.json").write_text(json.dumps(manifest(model), indent=1))
        state = state_tensors(model)
        # torch.save releases the GIL while it writes, so model.pt is written while the
        # module is traced.
        with ThreadPoolExecutor(max_workers=1) as writer:
            saved = writer.submit(torch.save, state, staging / "model.pt")
            program = trace_program(with_weights(load_module_class(staging / "model.py", model.class_name),
                                                 state), model) if exported else None
            saved.result()
        if program is not None:
            torch.export.save(program, staging / "model.pt2")
            (staging / "caffe2x.json").write_text(json.dumps(manifest(model), indent=1))  # and how it exported
    return [target / name for name in ("model.py", "model.pt", "model.pt2", "caffe2x.json")
            if (target / name).exists()]
