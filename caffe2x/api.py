"""The library entry points the CLI is a thin shell over."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable, Mapping

from . import params
from .errors import RegistryError
from .io.caffemodel import WeightFile, read_caffemodel
from .io.prototxt import read_prototxt
from .ir.build import build_graph
from .ir.graph import Graph, Shape
from .ir.select import check_supported, test_phase_layers
from .ir.weights import attach_weights
from .layers import LAYERS, LayerDef
from .params import LayerParam, ParamMessage, ParamValue
from .reference import REFERENCE, Kernel

PathLike = str | os.PathLike


def graph_from_net(
    net, weights: PathLike | WeightFile | None = None,
    input_shapes: Mapping[str, Shape] | None = None, source: str = "<net>",
) -> Graph:
    """A parsed, current-format NetParameter -> checked graph, weights attached if given."""
    layers = test_phase_layers(net, source)
    check_supported(layers)  # before anything else: one report of every unsupported layer
    graph = build_graph(net.name, layers, {k: tuple(v) for k, v in (input_shapes or {}).items()})
    if weights is not None:
        weight_file = weights if isinstance(weights, WeightFile) else read_caffemodel(weights)
        attach_weights(graph, weight_file)
    return graph


def load_net(
    prototxt: PathLike, weights: PathLike | WeightFile | None = None,
    input_shapes: Mapping[str, Shape] | None = None,
) -> Graph:
    """Read a prototxt (current, V1 or V0 format) and optionally its caffemodel.

    input_shapes overrides or supplies input shapes: {"data": (1, 3, 224, 224)}.
    """
    return graph_from_net(read_prototxt(prototxt), weights, input_shapes, str(prototxt))


def register_layer(layer_type: str, definition: LayerDef, reference: Kernel | None = None,
                   *, replace: bool = False) -> None:
    """Teach caffe2x a custom layer type: its shape rule and, optionally, its reference kernel."""
    LAYERS.register(layer_type, definition, replace=replace)
    if reference is not None:
        REFERENCE.register(layer_type, reference, replace=replace)


def register_param(name: str, number: int, message: ParamMessage, *, replace: bool = False) -> LayerParam:
    """Declare a fork's layer parameter block: `optional <message> <name> = <number>;` in its
    LayerParameter. Prototxt blocks `name { ... }` and caffemodel fields `number` are then read
    by `message` (see caffe2x.params, fork_param)."""
    return params.register_param(name, number, message, replace=replace)


def load_proto(path: PathLike) -> list[LayerParam]:
    """Declare every parameter block a fork's caffe.proto adds to LayerParameter (CLI:
    --caffe-proto). Reads the .proto itself: no protoc needed."""
    from .params.proto_file import load_proto as read_and_declare

    return read_and_declare(path)


def fork_param(layer, name: str) -> ParamValue:
    """The declared fork block `name` of a LayerParameter, typed (defaults when absent):
    what a plugin's LayerDef.parse reads (see caffe2x.layers.base.fork_params)."""
    return params.fork_param(layer, name)


def load_plugins(modules: Iterable[str]) -> None:
    """Import modules that register custom layers (CLI: --plugin, env CAFFE2X_PLUGINS)."""
    for name in modules:
        name = name.strip()
        if not name:
            continue
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise RegistryError(f"cannot import plugin module '{name}': {exc}") from None


def convert(graph: Graph, to: str, output: PathLike, *, force: bool = False, opset: int | None = None,
            dynamic_batch: bool = True, keep_intermediate: bool = False, layout: str = "nhwc") -> list:
    """Convert a loaded graph and write the result atomically; returns the paths written."""
    from .targets import load_target

    target = load_target(to)
    if to == "onnx":
        converted = target.to_onnx(graph, opset=opset or target.DEFAULT_OPSET, dynamic_batch=dynamic_batch,
                                   keep_intermediate=keep_intermediate)
        return target.save_onnx(converted, output, force=force)
    if to == "pytorch":
        return target.write_folder(target.generate(graph), output, force=force)
    if to == "tensorflow":
        return target.write_saved_model(target.generate(graph, layout), output, force=force)
    if to == "tflite":
        return target.write_tflite(target.generate(graph, layout), output, force=force)
    raise AssertionError(to)


def verify(graph: Graph, to: str, inputs: Mapping, reference: Mapping, *, reference_name: str = "reference",
           tolerance: float | None = None, tolerances: Mapping[str, float] | None = None, device: str = "cpu"):
    """Run the converted model and compare every Caffe blob with `reference` ("LAYER:TOP" -> array)."""
    from .compare import DEFAULT_TOLERANCE
    from .targets import load_target
    from .verify import TARGET_RUNNERS, compare_blobs

    load_target(to)
    got = TARGET_RUNNERS.get(to)(graph, inputs, device)
    return compare_blobs(graph, to, reference_name, got, reference,
                         DEFAULT_TOLERANCE if tolerance is None else tolerance, tolerances)


def random_inputs(graph: Graph, seed: int) -> dict:
    """Seeded standard-normal inputs of the graph's input shapes, keyed by Caffe input name."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return {graph.values[v].top: rng.standard_normal(graph.values[v].shape).astype(np.float32)
            for v in graph.inputs}


def reference_blobs(reference: str, net: PathLike, weights: PathLike | None, graph: Graph, inputs: Mapping) -> dict:
    """Every blob of the net on `inputs`, keyed "LAYER:TOP": from caffe2x's NumPy executor
    ("builtin") or the real Caffe ("caffe", needs pycaffe and the caffemodel)."""
    from .errors import Caffe2xError
    from .reference import as_golden_blobs, pycaffe
    from .reference import run as forward

    if reference == "builtin":
        return as_golden_blobs(graph, forward(graph, inputs))
    if reference == "caffe":
        if not weights:
            raise Caffe2xError("--reference caffe needs the caffemodel (-w).")
        return pycaffe.caffe_blobs(net, weights, inputs)
    raise Caffe2xError(f"--reference must be a .npz file, caffe, builtin or auto, not '{reference}'.")
