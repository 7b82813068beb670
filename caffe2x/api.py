"""The library entry points the CLI is a thin shell over."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterable, Mapping

from .compare import DEFAULT_TOLERANCE
from .errors import RegistryError
from .frontend.build import build_graph
from .frontend.select import check_supported, test_phase_layers
from .frontend.variants import check_layer_variants
from .frontend.weights import attach_weights
from .io import params
from .io.caffemodel import WeightFile, read_caffemodel
from .io.params import BlockField, Field, LayerParam, ParamMessage, ParamValue
from .io.prototxt import read_prototxt
from .ir.graph import Graph, Shape
from .layers import LAYERS, LayerDef
from .reference import REFERENCE, Kernel
from .targets.registry import check_targets_support
from .weights import random_inputs  # noqa: F401  (part of the API)

PathLike = str | os.PathLike


def graph_from_net(
    net, weights: PathLike | WeightFile | None = None,
    input_shapes: Mapping[str, Shape] | None = None, source: str = "<net>", targets: Iterable[str] = (),
    dynamic_hw: bool = False, layer_variants: Mapping[str, str] | None = None,
) -> Graph:
    """A parsed, current-format NetParameter -> checked graph, weights attached if given.

    An input shape with None dims ({"data": (1, 3, None, None)}, CLI data=1,3,?,?) or
    dynamic_hw (every N,C,H,W input) keeps height and width dynamic in the converted models;
    the graph's shapes are Caffe's at the nominal size (the declared one where None is given).
    layer_variants ({"Proposal": "pva"}) chooses a named semantics for a type whose forks share
    its name and parameters (frontend.variants; an unknown one raises LayerVariantError).

    Before anything else (the graph, the weights), every layer type is checked: one
    UnsupportedLayerError lists every layer caffe2x cannot read, then every layer one of
    `targets` cannot express."""
    variants = check_layer_variants(layer_variants)
    layers = test_phase_layers(net, source)
    check_supported(layers)  # before anything else: one report of every unsupported layer
    check_targets_support(targets, [(layer.name, layer.type) for layer in layers])
    graph = build_graph(net.name, layers, {k: tuple(v) for k, v in (input_shapes or {}).items()}, variants)
    if dynamic_hw:
        graph.dynamic = {v: (2, 3) for v in graph.inputs if len(graph.values[v].shape) == 4}
    if weights is not None:
        weight_file = weights if isinstance(weights, WeightFile) else read_caffemodel(weights)
        attach_weights(graph, weight_file)
    return graph


def load_net(
    prototxt: PathLike, weights: PathLike | WeightFile | None = None,
    input_shapes: Mapping[str, Shape] | None = None, targets: Iterable[str] = (), dynamic_hw: bool = False,
    layer_variants: Mapping[str, str] | None = None,
) -> Graph:
    """Read a prototxt (current, V1 or V0 format) and optionally its caffemodel.

    input_shapes overrides or supplies input shapes: {"data": (1, 3, 224, 224)}. targets:
    target names whose support of every layer is checked first (see graph_from_net). A None dim
    ({"data": (1, 3, None, None)}) or dynamic_hw: dynamic height and width; layer_variants:
    {type: variant} (see graph_from_net).
    """
    return graph_from_net(read_prototxt(prototxt), weights, input_shapes, str(prototxt), targets, dynamic_hw,
                          layer_variants)


def attach_preprocessing(graph: Graph, prototxt: PathLike, options=None):
    """Record in graph.metadata (and so in every converted model) what the net expects done to
    an image: its data layer's transform_param, overridden by `options`
    (caffe2x.frontend.preprocess.PreprocessingOptions: mean file or values, scale or std,
    raw scale, channel order, layout). Returns the Preprocessing, or None when there is none."""
    from .errors import PreprocessingError
    from .frontend.preprocess import PreprocessingOptions, build_preprocessing

    options = options or PreprocessingOptions()
    layers = test_phase_layers(read_prototxt(prototxt), str(prototxt))
    shape = graph.values[graph.inputs[0]].shape if graph.inputs else ()
    if len(shape) != 4:
        if options.given:
            raise PreprocessingError(f"image preprocessing needs a 4-D N,C,H,W input; the first input is {list(shape)}")
        return None
    spec = build_preprocessing(layers, shape, options, os.path.dirname(os.fspath(prototxt)))
    if spec is not None:
        graph.metadata["preprocessing"] = spec.to_dict()
    return spec


def attach_labels(graph: Graph, path: PathLike) -> list[str]:
    """Record the class names (synset_words.txt or a labelmap.prototxt) in graph.metadata."""
    from .io.labels import read_labels

    graph.metadata["labels"] = read_labels(path)
    return graph.metadata["labels"]


def apply_preprocessing(spec, image):
    """Apply a recorded preprocessing (the dict a converted model's metadata holds, or a
    Preprocessing) to a batch of images as the user holds them; returns the net's input."""
    from .frontend.preprocess import Preprocessing
    from .frontend.preprocess import apply_preprocessing as apply

    return apply(spec if isinstance(spec, Preprocessing) else Preprocessing.from_dict(spec), image)


def embed_preprocessing(graph: Graph, spec=None) -> Graph:
    """The graph with its preprocessing as ordinary layers in front (convert --preprocess embed):
    the model then takes the image as held (layout, channel order, range) under the input's name.
    spec: a Preprocessing or its dict; default: the one attach_preprocessing recorded."""
    from .errors import PreprocessingError
    from .frontend.preprocess import Preprocessing
    from .passes.preprocess import embed_preprocessing as embed

    spec = graph.metadata.get("preprocessing") if spec is None else spec
    if spec is None:
        raise PreprocessingError("--preprocess embed: nothing to embed: the net has no transform_param and no "
                                 "preprocessing option was given (--mean, --mean-values, --scale, --std, "
                                 "--raw-scale, --channel-order, --input-layout)")
    if isinstance(spec, dict):
        if spec.get("embedded"):
            raise PreprocessingError("this graph's preprocessing is embedded already")
        spec = Preprocessing.from_dict(spec)
    return embed(graph, spec)


def record_preprocessing_snippet(graph: Graph) -> str | None:
    """convert --preprocess record: put into graph.metadata (so into every converted model) a short
    NumPy snippet, `preprocess(images, spec)`, that applies the recorded preprocessing; returns it."""
    from .frontend.preprocess import Preprocessing, snippet

    spec = graph.metadata.get("preprocessing")
    if spec is None or spec.get("embedded") or not graph.inputs:
        return None
    code = snippet(Preprocessing.from_dict(spec), graph.shape(graph.inputs[0])[1])
    graph.metadata["preprocessing_snippet"] = code
    return code


def tflite_metadata(path: PathLike) -> dict:
    """The metadata a .tflite file written by caffe2x carries (its "caffe2x" metadata entry):
    "producer", "version", and as in caffe2x.json "preprocessing", "preprocessing_snippet",
    "labels" where recorded; {} for a TFLite file without it. Needs TensorFlow."""
    from .targets import TARGETS
    from .targets.quiet import quiet_framework_logs

    TARGETS.get("tflite").require()
    with quiet_framework_logs():
        from .targets.tensorflow.tflite_metadata import read_metadata

        return read_metadata(path)


def cut(graph: Graph, layers: list[str]) -> Graph:
    """The net cut at `layers` (CLI --outputs): their tops become the outputs, in that order,
    and every layer they do not need is dropped. An unknown name is a GraphError."""
    from .passes.cut import cut_at

    return cut_at(graph, layers)


def register_layer(layer_type: str, definition: LayerDef, reference: Kernel | None = None, *,
                   onnx: Callable | None = None, pytorch: Callable | None = None, tensorflow: Callable | None = None,
                   unsupported: Mapping[str, str] | None = None, replace: bool = False) -> None:
    """Teach caffe2x a layer type, all of it in one call (see README, "Adding a layer").

    definition: its parameters, shape rule, weight shapes and FLOPs (caffe2x.extend.LayerDef).
    reference:  its NumPy kernel (node, [input arrays]) -> [output arrays]; verify compares with it.
    onnx:       emitter (node, input names, output names, OnnxBuilder) -> output tensor names.
    pytorch:    emitter (node, TorchContext) -> TorchLayer.
    tensorflow: emitter (node, input expressions, KerasContext) -> KerasLayer (tensorflow and tflite).
    unsupported: {family: reason} for a target family that cannot express it, shown to users.
    A target without an emitter reports the layer as unsupported before any work. Nothing is
    registered unless everything can be (a name taken without replace=True is a RegistryError).
    """
    from .targets.emitters import EMITTER_FAMILIES, UNSUPPORTED, emitter_registry

    emitters = {family: fn for family, fn in (("onnx", onnx), ("pytorch", pytorch), ("tensorflow", tensorflow))
                if fn is not None}
    unknown = sorted(set(unsupported or {}) - set(EMITTER_FAMILIES))
    if unknown:
        raise RegistryError(f"unsupported= names unknown target families {unknown}; use {list(EMITTER_FAMILIES)}")
    stages = [(LAYERS, definition), (REFERENCE, reference),
              *((emitter_registry(family), fn) for family, fn in emitters.items())]
    taken = [registry.stage for registry, handler in stages if handler is not None and layer_type in registry]
    if taken and not replace:
        raise RegistryError(f"layer type '{layer_type}' already has a handler in {', '.join(taken)} "
                            "(pass replace=True to override it deliberately)")
    for registry, handler in stages:
        if handler is not None:
            registry.register(layer_type, handler, replace=True)
    for family, reason in (unsupported or {}).items():
        UNSUPPORTED[(family, layer_type)] = reason


def register_python_layer(module: str, layer: str, definition: LayerDef, reference: Kernel | None = None,
                          **emitters) -> str:
    """Teach caffe2x a Caffe Python layer, `python_param { module: "<module>" layer: "<layer>" }`,
    exactly as register_layer teaches a type (same arguments after the two names). Its
    parse step may read the parsed param_str with caffe2x.extend.python_param_mapping.
    caffe2x never imports `module`: the handler is the computation. Returns the type name
    it is registered under, "Python:<module>.<layer>"."""
    from .layers.python import PYTHON_TYPE_PREFIX

    for part in (*module.split("."), layer):
        if not part.isidentifier():
            raise RegistryError(f"register_python_layer: '{module}' / '{layer}' is not a Python module and class name")
    layer_type = f"{PYTHON_TYPE_PREFIX}{module}.{layer}"
    register_layer(layer_type, definition, reference, **emitters)
    return layer_type


def register_param(name: str, number: int, message: ParamMessage, *, replace: bool = False) -> LayerParam:
    """Declare a fork's layer parameter block: `optional <message> <name> = <number>;` in its
    LayerParameter. Prototxt blocks `name { ... }` and caffemodel fields `number` are then read
    by `message` (see caffe2x.io.params, fork_param)."""
    return params.register_param(name, number, message, replace=replace)


def register_field(block: str, field: Field) -> BlockField:
    """Declare a field a fork adds to one of BVLC's blocks (DeepLab's `convolution_param {
    hole: 2 }`): the prototxt reader then takes it out before protobuf parses the block,
    and caffe2x.io.params.block_field(layer, block, name) reads it typed."""
    return params.register_field(block, field, fork="caffe2x.register_field")


def load_proto(path: PathLike) -> list[LayerParam]:
    """Declare every parameter block a fork's caffe.proto adds to LayerParameter (CLI:
    --caffe-proto). Reads the .proto itself: no protoc needed."""
    from .io.params.proto_file import load_proto as read_and_declare

    return read_and_declare(path)


def fork_param(layer, name: str) -> ParamValue:
    """The declared fork block `name` of a LayerParameter, typed (defaults when absent):
    what a plugin's LayerDef.parse reads (see caffe2x.layers.base.fork_params)."""
    return params.fork_param(layer, name)


def load_plugins(modules: Iterable[str]) -> None:
    """Import modules that register custom layers (CLI: --plugin, env CAFFE2X_PLUGINS).

    Each is a module name (importable) or the path of a .py file or package folder: its
    folder is put on sys.path, so the plugin's own runtime modules are found by name."""
    for name in modules:
        name = name.strip()
        if not name:
            continue
        module = _plugin_module_name(name)
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise RegistryError(f"cannot import plugin module '{name}': {exc}") from None


def _plugin_module_name(name: str) -> str:
    """A plugin given as a path -> its module name, its folder added to sys.path."""
    import sys
    from pathlib import Path

    path = Path(name)
    if not (name.endswith(".py") or os.sep in name or "/" in name):
        return name
    if not path.exists():
        raise RegistryError(f"plugin '{name}': no such file or folder")
    folder = str(path.resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return path.stem if path.suffix == ".py" else path.name


def convert(graph: Graph, to: str, output: PathLike, *, force: bool = False, opset: int | None = None,
            dynamic_batch: bool = True, keep_intermediate: bool = False, layout: str = "nhwc",
            quantize: str | None = None, calibration: PathLike | None = None) -> list:
    """Convert a loaded graph to the target `to` ("onnx", "pytorch", "tensorflow", "tflite") and
    write it atomically to `output` (a file or a folder, as the target writes); returns the paths written.

    opset, dynamic_batch and keep_intermediate apply to ONNX, layout ("nhwc" or "nchw") to
    TensorFlow and TFLite, quantize ("float16", or "int8" with calibration: an .npz of net
    inputs or a folder of images) to TFLite; giving one to a target it does not apply to is an error. Raises
    MissingExtraError (naming the pip extra) when the target's framework is not installed, and
    OutputExistsError when `output` exists and force is False.
    """
    from .targets import TARGETS, ConvertOptions

    target = TARGETS.get(to)
    options = ConvertOptions(opset, dynamic_batch, keep_intermediate, layout, quantize,
                             os.fspath(calibration) if calibration else None)
    target.check_options(options)
    target.require()
    target.check_supported([(node.name, node.type) for node in graph.nodes])
    return target.convert(graph, output, options, force=force)


def verify(graph: Graph, to: str, inputs: Mapping, reference: Mapping, *, reference_name: str = "reference",
           tolerance: float = DEFAULT_TOLERANCE, tolerances: Mapping[str, float] | None = None, device: str = "cpu",
           quantize: str | None = None, calibration: PathLike | None = None):
    """Convert `graph` to the target `to`, run it on `inputs` ({input name: NCHW array}) and compare
    every Caffe blob with `reference` ({"LAYER:TOP": array}, e.g. from reference_blobs or a golden
    .npz); returns a caffe2x.parity.VerifyResult (.passed, .first_divergence, .records).

    tolerance: the largest normalized max error max|got-want|/max|want| a blob may have (default
    caffe2x.compare.DEFAULT_TOLERANCE); tolerances: per Caffe layer name. device: "cpu" or "cuda".
    quantize, calibration: a quantized TFLite model (see convert), held to the looser stated bound
    of caffe2x.targets.quantize.TOLERANCES where `tolerance` is tighter.
    The same step `caffe2x verify` and `convert-all` run for each target.
    """
    from .targets import TARGETS, ConvertOptions
    from .verification import VerifySettings, verify_target

    options = ConvertOptions(quantize=quantize, calibration=os.fspath(calibration) if calibration else None)
    TARGETS.get(to).check_options(options)
    settings = VerifySettings(tolerance, dict(tolerances or {}), device, options)
    return verify_target(graph, to, inputs, reference, reference_name, settings)


def reference_blobs(reference: str, net: PathLike, weights: PathLike | None, graph: Graph, inputs: Mapping) -> dict:
    """Every blob of the net on `inputs`, keyed "LAYER:TOP": from caffe2x's NumPy executor
    ("builtin"), the real Caffe ("caffe", needs pycaffe and the caffemodel) or "auto" (caffe when
    pycaffe is importable and there are weights, else builtin)."""
    from .verification import choose_reference
    from .verification import reference_blobs as compute

    return compute(choose_reference(reference, weights), net, weights, graph, inputs)
