"""The library entry points the CLI is a thin shell over."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable, Mapping

from . import params
from .compare import DEFAULT_TOLERANCE
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
    """Convert a loaded graph to the target `to` ("onnx", "pytorch", "tensorflow", "tflite") and
    write it atomically to `output` (a file or a folder, as the target writes); returns the paths written.

    opset, dynamic_batch and keep_intermediate apply to ONNX, layout ("nhwc" or "nchw") to
    TensorFlow and TFLite; giving one to a target it does not apply to is an error. Raises
    MissingExtraError (naming the pip extra) when the target's framework is not installed, and
    OutputExistsError when `output` exists and force is False.
    """
    from .targets import TARGETS, ConvertOptions

    target = TARGETS.get(to)
    options = ConvertOptions(opset, dynamic_batch, keep_intermediate, layout)
    target.check_options(options)
    target.require()
    return target.convert(graph, output, options, force=force)


def verify(graph: Graph, to: str, inputs: Mapping, reference: Mapping, *, reference_name: str = "reference",
           tolerance: float = DEFAULT_TOLERANCE, tolerances: Mapping[str, float] | None = None, device: str = "cpu"):
    """Convert `graph` to the target `to`, run it on `inputs` ({input name: NCHW array}) and compare
    every Caffe blob with `reference` ({"LAYER:TOP": array}, e.g. from reference_blobs or a golden
    .npz); returns a caffe2x.parity.VerifyResult (.passed, .first_divergence, .records).

    tolerance: the largest normalized max error max|got-want|/max|want| a blob may have (default
    caffe2x.compare.DEFAULT_TOLERANCE); tolerances: per Caffe layer name. device: "cpu" or "cuda".
    The same step `caffe2x verify` and `convert-all` run for each target.
    """
    from .verification import VerifySettings, verify_target

    settings = VerifySettings(tolerance, dict(tolerances or {}), device)
    return verify_target(graph, to, inputs, reference, reference_name, settings)


def random_inputs(graph: Graph, seed: int) -> dict:
    """Seeded standard-normal inputs of the graph's input shapes, keyed by Caffe input name."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return {graph.values[v].top: rng.standard_normal(graph.values[v].shape).astype(np.float32)
            for v in graph.inputs}


def reference_blobs(reference: str, net: PathLike, weights: PathLike | None, graph: Graph, inputs: Mapping) -> dict:
    """Every blob of the net on `inputs`, keyed "LAYER:TOP": from caffe2x's NumPy executor
    ("builtin"), the real Caffe ("caffe", needs pycaffe and the caffemodel) or "auto" (caffe when
    pycaffe is importable and there are weights, else builtin)."""
    from .verification import choose_reference
    from .verification import reference_blobs as compute

    return compute(choose_reference(reference, weights), net, weights, graph, inputs)
