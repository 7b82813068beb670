"""Graph -> onnx.ModelProto, and saving it safely."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from ...errors import Caffe2xError, UnsupportedLayerError, WeightsError
from ...io.atomic import atomic_dir, check_target
from ...ir.graph import Graph
from ...passes import Pass, run_passes
from .builder import DYNAMIC_BATCH, OnnxBuilder
from .registry import ONNX_EMITTERS

DEFAULT_OPSET = 17
OPSETS = range(13, 22)
# protobuf cannot serialize one message over 2 GiB: larger weights go to external data.
EXTERNAL_DATA_BYTES = 1_800_000_000


@dataclass
class OnnxModel:
    model: object  # onnx.ModelProto
    graph: Graph  # the graph after passes, as emitted
    tensor_of: dict[str, str]  # IR value -> ONNX tensor name, for every exposed value

    def blob_tensors(self) -> dict[str, str]:
        """Caffe blob key ("LAYER:TOP") -> ONNX output name, for the exposed blobs."""
        return {key: self.tensor_of[value] for key, value in self.graph.blob_keys().items()
                if value in self.tensor_of and not key.startswith("input:")}


def _check(graph: Graph, opset: int) -> None:
    if opset not in OPSETS:
        raise Caffe2xError(f"opset {opset} is not supported; choose {OPSETS.start} to {OPSETS.stop - 1}.")
    missing = ONNX_EMITTERS.missing([(n.name, n.type) for n in graph.nodes if n.type != "Input"])
    if missing:
        raise UnsupportedLayerError(missing, "the ONNX target")
    unweighted = [n.name for n in graph.nodes if n.weight_shapes and not n.weights]
    if unweighted:
        raise WeightsError(f"no weights for {', '.join(map(repr, unweighted))}: give a caffemodel (-w).")


def _batch_dim(graph: Graph, dynamic: bool):
    sizes = {graph.values[v].shape[0] for v in graph.inputs if graph.values[v].shape}
    batch = sizes.pop() if len(sizes) == 1 else None
    def dims(shape):
        if dynamic and shape and batch is not None and shape[0] == batch:
            return [DYNAMIC_BATCH, *shape[1:]]
        return list(shape)
    return dims


def to_onnx(graph: Graph, *, opset: int = DEFAULT_OPSET, dynamic_batch: bool = True,
            keep_intermediate: bool = False, passes: list[Pass] | None = None) -> OnnxModel:
    """Convert a graph with weights. keep_intermediate exposes every Caffe top as an output."""
    from onnx import TensorProto, helper

    graph = run_passes(graph, passes)
    _check(graph, opset)
    builder = OnnxBuilder(graph, opset)
    env = {name: name for name in graph.inputs}
    for node in graph.nodes:
        if node.type == "Input":
            continue
        emitted = ONNX_EMITTERS.get(node.type)(node, [env[v] for v in node.inputs], list(node.outputs), builder)
        env.update(zip(node.outputs, emitted))
    exposed = list(zip(graph.outputs, graph.output_tops))
    if keep_intermediate:
        exposed += [(v, v) for v in graph.values if v not in graph.inputs and v not in graph.outputs]
    tensor_of = _name_outputs(builder, env, exposed, set(graph.inputs))
    dims = _batch_dim(graph, dynamic_batch)
    inputs = [helper.make_tensor_value_info(v, TensorProto.FLOAT, dims(graph.values[v].shape)) for v in graph.inputs]
    outputs = [helper.make_tensor_value_info(tensor_of[v], TensorProto.FLOAT, dims(graph.values[v].shape))
               for v, _ in exposed]
    onnx_graph = helper.make_graph(builder.nodes, graph.name or "caffe2x", inputs, outputs,
                                   initializer=builder.initializers)
    model = helper.make_model(onnx_graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="caffe2x", producer_version=_version())
    model.ir_version = helper.find_min_ir_version_for(list(model.opset_import))
    blob_map = {key: tensor_of[v] for key, v in graph.blob_keys().items() if v in tensor_of}
    helper.set_model_props(model, {"caffe2x.blobs": json.dumps(blob_map)})
    return OnnxModel(model, graph, tensor_of)


def _name_outputs(builder: OnnxBuilder, env: dict, exposed: list[tuple[str, str]], inputs: set[str]) -> dict:
    """Give each exposed value its name: rename the tensor holding it where that is
    safe, else add one Identity (a net input that is also an output, or one
    tensor exposed under two names)."""
    named: dict[str, str] = {}
    for value, name in exposed:
        if name in inputs and value not in inputs:
            name = value  # a net input rewritten in place: its output keeps the unique SSA name
        tensor = env[value]
        if tensor != name and (tensor in inputs or tensor in named.values()):
            layer = builder.graph.values[value].producer or name
            builder.op("Identity", [tensor], layer, output=name)
        elif tensor != name:
            _rename(builder, tensor, name)
            env.update({v: name for v, t in env.items() if t == tensor})
        named[value] = name
    return named


def _rename(builder: OnnxBuilder, old: str, new: str) -> None:
    for node in builder.nodes:
        for names in (node.input, node.output):
            for i, name in enumerate(names):
                if name == old:
                    names[i] = new


def _version() -> str:
    from ... import __version__

    return __version__


def save_onnx(converted: OnnxModel, path: str | os.PathLike, force: bool = False) -> list[Path]:
    """Check and write the model atomically; weights over ~1.8 GB go to `<name>.data` beside it."""
    import onnx

    model = converted.model
    target = check_target(path, force)
    weight_bytes = sum(len(t.raw_data) for t in model.graph.initializer)
    external = weight_bytes > EXTERNAL_DATA_BYTES
    data_name = f"{target.name}.data"
    with atomic_dir(target.parent / f".{target.name}.staging", force=True) as staging:
        staged = staging / target.name
        if external:
            onnx.save_model(model, staged, save_as_external_data=True, all_tensors_to_one_file=True,
                            location=data_name, size_threshold=1024)
            onnx.checker.check_model(str(staged), full_check=True)
        else:
            onnx.checker.check_model(model, full_check=True)
            onnx.save_model(model, staged)
        written = [target]
        if external:
            check_target(target.parent / data_name, force)
            os.replace(staging / data_name, target.parent / data_name)
            written.append(target.parent / data_name)
        os.replace(staged, target)
    (target.parent / f".{target.name}.staging").exists() and _cleanup(target.parent / f".{target.name}.staging")
    return written


def _cleanup(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
