"""Graph -> onnx.ModelProto, and saving it safely."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import Caffe2xError, ShapeError
from ...io.atomic import staging_dir
from ...io.outputs import FILE, check_output
from ...ir.graph import Graph
from ...layers import LAYERS
from ...layers.base import fixes_batch
from ...passes import Pass, run_passes
from ...passes.dynamic import dynamic_inputs, second_size
from ..common import check_convertible
from ..dynamic import check_dynamic
from .builder import DYNAMIC_BATCH, OnnxBuilder
from .registry import ONNX_EMITTERS

DEFAULT_OPSET = 17
OPSETS = range(13, 22)
# protobuf cannot serialize one message over 2 GiB: larger weights go to external data.
EXTERNAL_DATA_BYTES = 1_800_000_000
SMALL_TENSOR_BYTES = 65536


@dataclass
class OnnxModel:
    skeleton: object  # onnx.ModelProto without initializers
    tensors: list  # (name, numpy array): the initializers
    graph: Graph  # the graph after passes, as emitted
    tensor_of: dict[str, str]  # IR value -> ONNX tensor name, for every exposed value

    @property
    def weight_bytes(self) -> int:
        return sum(array.nbytes for _, array in self.tensors)

    @property
    def model(self):
        """The complete onnx.ModelProto (weights copied in; built once, on first use)."""
        if getattr(self, "_model", None) is None:
            from onnx import numpy_helper

            model = type(self.skeleton)()
            model.CopyFrom(self.skeleton)
            model.graph.initializer.extend(numpy_helper.from_array(array, name) for name, array in self.tensors)
            self._model = model
        return self._model

    def blob_tensors(self) -> dict[str, str]:
        """Caffe blob key ("LAYER:TOP") -> ONNX output name, for the exposed blobs."""
        return {key: self.tensor_of[value] for key, value in self.graph.blob_keys().items()
                if value in self.tensor_of and not key.startswith("input:")}


def _check(graph: Graph, opset: int) -> None:
    if opset not in OPSETS:
        raise Caffe2xError(f"opset {opset} is not supported; choose {OPSETS.start} to {OPSETS.stop - 1}.")
    check_convertible(graph, "onnx", "ONNX")


def _batch_dim(graph: Graph, dynamic: bool, varying: set[str] = frozenset(), other: Graph | None = None):
    """value -> its declared dims. The first one is a named dim where it follows the inputs' batch
    (N), a row input's row count (LayerDef.data_bottoms rows: R, for ROIs given as data) or a
    layer's data-dependent first dim (a Proposal's rows): found by inferring the shapes again
    with that one source one larger, by each layer's own rule. An open input axis is a named dim
    (data_height), a dim that varies with one is left unnamed."""
    from ...frontend.input_values import row_inputs

    rows = row_inputs(graph)
    batch_inputs = [v for v in graph.inputs if v not in rows and graph.values[v].shape]
    sizes = {graph.values[v].shape[0] for v in batch_inputs}
    varies = dynamic and len(sizes) == 1 and not fixes_batch(n.type for n in graph.nodes)
    symbol = dict.fromkeys(_followers(graph, batch_inputs, batch=True), DYNAMIC_BATCH) if varies else {}
    sources = [([v], "R" if len(rows) == 1 else f"R_{graph.values[v].top}") for v in rows]
    sources += [([v], f"{v}_dim0") for v in _data_dependent_rows(graph)]
    for seeds, name in sources:
        for value in _followers(graph, seeds):
            symbol.setdefault(value, name)
    open_axes = dynamic_inputs(graph)

    def dims(value):
        shape = graph.values[value].shape
        declared = [symbol[value], *shape[1:]] if value in symbol else list(shape)
        if value in open_axes:
            names = {2: "height", 3: "width"}
            return [f"{graph.values[value].top}_{names.get(a, a)}" if a in open_axes[value] else d
                    for a, d in enumerate(declared)]
        if value in varying:
            return [None if a > 0 and other.values[value].shape[a] != shape[a] else d for a, d in enumerate(declared)]
        return declared
    return dims


def _data_dependent_rows(graph: Graph) -> list[str]:
    """Tops whose first dim only the data decides (LayerDef.data_dependent holds 0)."""
    return [v for node in graph.nodes if node.type in LAYERS and 0 in LAYERS.get(node.type).data_dependent
            for v in node.outputs]


def _followers(graph: Graph, seeds: list[str], batch: bool = False) -> set[str]:
    """Values whose first dimension follows the seeds' (net inputs or tops): their shapes
    inferred again with each seed's first dimension one larger. A blob whose first dimension
    stays put (SSD's PriorBox and DetectionOutput tops follow no batch, even in a batch-1 net)
    is not one. A rule that refuses the other size: for the batch, the values whose first
    dimension equals it (as before); for another source, the seeds alone."""
    firsts = {graph.values[v].shape[0] for v in seeds}
    shapes = {v: graph.values[v].shape for v in graph.inputs}
    shapes.update({v: (graph.values[v].shape[0] + 1, *graph.values[v].shape[1:]) for v in seeds})
    for node in graph.nodes:
        if node.type == "Input":
            continue
        try:
            tops = LAYERS.get(node.type).infer(node.params, [shapes[v] for v in node.inputs])
        except ShapeError:
            if not batch:
                return set(seeds)
            return {v for v, value in graph.values.items() if value.shape and value.shape[0] in firsts}
        shapes.update((out, tuple(t)) for out, t in zip(node.outputs, tops) if out not in seeds)
    return {v for v, shape in shapes.items() if shape and graph.values[v].shape[:1]
            and graph.values[v].shape[0] in firsts and shape[0] == graph.values[v].shape[0] + 1}


def _output_dims(graph: Graph, value: str, dims) -> list:
    """An output's declared dims: a data-dependent dim (LayerDef.data_dependent, e.g. DetectionOutput's
    rows) is a named dim of its own, unless it is a first dim that follows a named source; such a
    blob's other dims are fixed (not the batch)."""
    node = next((n for n in graph.nodes if value in n.outputs), None)
    dynamic = LAYERS.get(node.type).data_dependent if node is not None and node.type in LAYERS else ()
    declared = dims(value)
    if not dynamic:
        return declared
    return [declared[0] if axis == 0 and isinstance(declared[0], str) else
            f"{value}_dim{axis}" if axis in dynamic else size
            for axis, size in enumerate(graph.values[value].shape)]


def to_onnx(graph: Graph, *, opset: int = DEFAULT_OPSET, dynamic_batch: bool = True,
            keep_intermediate: bool = False, passes: list[Pass] | None = None) -> OnnxModel:
    """Convert a graph with weights. keep_intermediate exposes every Caffe top as an output."""
    from onnx import TensorProto, helper

    varying = check_dynamic(graph, "onnx", "onnx")  # before the passes: Caffe's layers, Caffe's shapes
    other = second_size(graph) if varying else None  # where dims differ, they are left unnamed
    graph = run_passes(graph, passes)
    _check(graph, opset)
    builder = OnnxBuilder(graph, opset)
    builder.varying = varying
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
    dims = _batch_dim(graph, dynamic_batch, varying, other)
    inputs = [helper.make_tensor_value_info(v, TensorProto.FLOAT, dims(v)) for v in graph.inputs]
    outputs = [helper.make_tensor_value_info(tensor_of[v], TensorProto.FLOAT, _output_dims(graph, v, dims))
               for v, _ in exposed]
    onnx_graph = helper.make_graph(builder.nodes, graph.name or "caffe2x", inputs, outputs)
    model = helper.make_model(onnx_graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="caffe2x", producer_version=_version())
    model.ir_version = helper.find_min_ir_version_for(list(model.opset_import))
    blob_map = {key: tensor_of[v] for key, v in graph.blob_keys().items() if v in tensor_of}
    props = {"caffe2x.blobs": json.dumps(blob_map)}
    props.update({f"caffe2x.{key}": json.dumps(value) for key, value in graph.metadata.items()})
    helper.set_model_props(model, props)
    return OnnxModel(model, builder.tensors, graph, tensor_of)


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
    from ...version import __version__

    return __version__


def check(converted: OnnxModel) -> None:
    """onnx.checker's full check (with shape inference) without a copy of the weights.
    Small tensors (shapes, axes, split sizes: what shape inference reads the values of)
    go in whole; each large weight is only its name, type and dims, stored as external
    data in a sparse file of the right size, which the checker checks exists but never
    reads. (The streamed bytes themselves are what the tests load back and run.)"""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = type(converted.skeleton)()
    model.CopyFrom(converted.skeleton)
    offset = 0
    for name, array in converted.tensors:
        if array.dtype == np.int64 or array.nbytes <= SMALL_TENSOR_BYTES:
            model.graph.initializer.append(numpy_helper.from_array(array, name))
            continue
        stub = TensorProto(name=name, data_type=helper.np_dtype_to_tensor_dtype(array.dtype), dims=array.shape,
                           data_location=TensorProto.EXTERNAL)
        for key, value in (("location", "weights.bin"), ("offset", str(offset)), ("length", str(array.nbytes))):
            entry = stub.external_data.add()
            entry.key, entry.value = key, value
        offset += array.nbytes
        model.graph.initializer.append(stub)
    with tempfile.TemporaryDirectory() as tmp:
        with open(Path(tmp) / "weights.bin", "wb") as sparse:
            sparse.truncate(offset)
        onnx.save_model(model, Path(tmp) / "model.onnx")
        onnx.checker.check_model(str(Path(tmp) / "model.onnx"), full_check=True)


def save_onnx(converted: OnnxModel, path: str | os.PathLike, force: bool = False) -> list[Path]:
    """Check the model (onnx.checker, full), then write it atomically, weights streamed from
    their arrays; over ~1.8 GB they go to `<name>.data` beside it."""

    from .stream import write_model

    target = check_output(path, FILE, force)
    external = converted.weight_bytes > EXTERNAL_DATA_BYTES
    data_name = f"{target.name}.data"
    if external:
        check_output(target.parent / data_name, FILE, force)
    check(converted)
    with staging_dir(target) as staging:
        write_model(converted, staging / target.name, data_name if external else None)
        if external:
            os.replace(staging / data_name, target.parent / data_name)
        os.replace(staging / target.name, target)
    return [target, target.parent / data_name] if external else [target]
