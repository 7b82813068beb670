"""Graph -> readable Keras source (model.py, functional API, one line per Caffe
layer) and the weights of every Keras layer.

Keys: every net input and output gets a key by the documented rule (see
caffe2x.naming): it names the Keras Input, the SavedModel signature's inputs and
outputs, and the TFLite signature's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ...errors import Caffe2xError
from ...ir.graph import Graph, Node
from ...naming import Namer
from ...passes import TRAINABLE_PASSES, Pass, run_passes
from ..common import GeneratedLayers, block_of, camel_class_name, check_convertible, claim_variable, inexpressible
from ..dynamic import check_dynamic
from ..runtime_source import referenced_classes, runtime_classes, runtime_sources
from .base import CAFFE, FLAT_NHWC, KERAS_EMITTERS, NHWC, TO_NCHW, TO_NHWC, KerasLayer

RUNTIME = "caffe2x.targets.tensorflow.runtime"  # the custom layers model.py copies

LAYOUTS = ("nhwc", "nchw")
RESERVED = {"np", "tf", "keras", "layers", "build_model", "model", "Path", "CAFFE_LAYERS", "INPUTS", "OUTPUTS"}


@dataclass
class KerasModel(GeneratedLayers):
    source: str
    weights: dict[str, list[np.ndarray]]  # Keras layer name -> weights
    graph: Graph  # after passes, as emitted
    layout: str
    input_keys: dict[str, str]  # Caffe input name -> key
    output_keys: dict[str, str]  # Caffe output name -> key
    layer_names: list[str]  # (outermost) Keras layer of each layer (non-Input node of graph), in order
    layouts: dict[str, str]  # IR value -> layout of its tensor
    flat_sources: dict[str, tuple[int, int, int]]


    def names(self) -> list[str]:
        return self.layer_names


class KerasContext:
    """What a Keras emitter may ask about the net being converted (public: plugins get it).

    An emitter is `emit(node, args, ctx) -> KerasLayer`: `args` are the Python expressions
    of the node's inputs in the generated build_model(); the KerasLayer holds the
    expression of its output(s), the weights of each Keras layer it creates (by name), the
    runtime classes it uses ("Name" of caffe2x's own, "module:Name" of a plugin's) and the
    layout of each output. Inside Keras a 4-D blob is NHWC ("nhwc"); other ranks keep
    Caffe's axis order ("caffe"): an element-wise layer returns its input's layout.
    """

    def __init__(self, graph: Graph, names: Namer):
        self.graph = graph
        self._names = names
        self._layouts: dict[str, str] = {}
        self._flat: dict[str, tuple[int, int, int]] = {}
        self._readers = {v: [n for n in graph.nodes if v in n.inputs] for v in graph.values}
        # The expression of the model's first input. A layer without bottoms (BVLC's Parameter)
        # is called on it only so that Keras's functional API can place it in the graph.
        self.anchor: str | None = None
        # Values whose height or width follow a dynamic input's (targets.dynamic.check_dynamic):
        # an emitter must derive their sizes at run time, never from shape().
        self.varying: set[str] = set()

    def shape(self, value: str) -> tuple[int, ...]:
        """The Caffe (NCHW) shape of an IR value, whatever its layout inside Keras."""
        return self.graph.values[value].shape

    def layout(self, value: str) -> str:
        """The layout of an input's tensor: "nhwc" (4-D), "caffe" or "flat_nhwc"."""
        return self._layouts[value]

    def flat_source(self, value: str):
        return self._flat[value]

    def raw_name(self, node: Node, suffix: str | None = None) -> str:
        # Keyed by the node itself: Caffe allows several layers with one name (HED has
        # five "crop"s), and each must be its own Keras layer ("crop", "crop_2", ...).
        key = (id(node), suffix)
        return self._names(key, node.name if suffix is None else f"{node.name}__{suffix}")

    def name(self, node: Node, suffix: str | None = None) -> str:
        """The unique Keras layer name for the node (a string literal, for name=...); a
        suffix names a second Keras layer of the same Caffe layer. raw_name: unquoted."""
        return repr(self.raw_name(node, suffix))

    def to_caffe(self, node: Node, arg: str, value: str) -> str:
        if self._layouts[value] == NHWC:
            # one Permute per NHWC bottom (Proposal converts two): the first keeps the plain name
            index = node.inputs.index(value) if value in node.inputs else 0
            suffix = "to_nchw" if index == 0 else f"to_nchw_{index}"
            return f"layers.Permute({TO_NCHW}, name={self.name(node, suffix)})({arg})"
        if self._layouts[value] == FLAT_NHWC:
            raise AssertionError("a flat NHWC blob only feeds InnerProduct layers")
        return arg

    def to_nhwc_final(self, node: Node, expr: str) -> str:
        return f"layers.Permute({TO_NHWC}, name={self.name(node)})({expr})"

    def only_dense_readers(self, value: str) -> bool:
        readers = self._readers.get(value, [])
        return bool(readers) and value not in self.graph.outputs and all(
            r.type == "InnerProduct" and r.params.axis in (1, -1) for r in readers)

    def set_layouts(self, node: Node, layer: KerasLayer) -> None:
        layouts = layer.layouts or [CAFFE] * len(node.outputs)
        for value, layout in zip(node.outputs, layouts):
            rank = len(self.shape(value))
            self._layouts[value] = layout if (layout != NHWC or rank == 4) else CAFFE
            if layout == FLAT_NHWC:
                self._flat[value] = layer.flat_source

    def unsupported(self, node: Node, why: str) -> Caffe2xError:
        return inexpressible(node, "TensorFlow", why)


def _check(graph: Graph, layout: str) -> None:
    if layout not in LAYOUTS:
        raise Caffe2xError(f"layout must be nhwc or nchw, not '{layout}'.")
    check_convertible(graph, "tensorflow", "TensorFlow")


def blob_keys(graph: Graph) -> tuple[dict[str, str], dict[str, str]]:
    """Signature keys of the net inputs and outputs, by the documented rule, in net order."""
    keys = Namer(reserved=frozenset(), avoid_keywords=False)
    inputs = {graph.values[v].top: keys(("in", graph.values[v].top), graph.values[v].top) for v in graph.inputs}
    outputs = {top: keys(("out", top), top) for top in graph.output_tops}
    return inputs, outputs


def generate(graph: Graph, layout: str = "nhwc", passes: list[Pass] | None = None) -> KerasModel:
    varying = check_dynamic(graph, "tensorflow", "tensorflow")  # before the passes: Caffe's layers and shapes
    graph = run_passes(graph, TRAINABLE_PASSES if passes is None else passes)
    _check(graph, layout)
    model, clashes = _emit(graph, layout, frozenset(), varying)
    if clashes:  # a plugin's runtime class is named like a variable: once more, with those names kept free
        model, _ = _emit(graph, layout, clashes, varying)
    return model


def _emit(graph: Graph, layout: str, reserved: frozenset[str], varying: set[str] = frozenset()) \
        -> tuple[KerasModel, frozenset[str]]:
    """The model, and the runtime class names that some variable took (known only once
    every emitter has said which classes it uses)."""
    input_keys, output_keys = blob_keys(graph)
    names = Namer(frozenset(input_keys.values()))
    ctx = KerasContext(graph, names)
    ctx.varying = set(varying)
    variables = Namer(RESERVED | runtime_classes(RUNTIME) | reserved)
    lines, weights, custom = [], {}, []
    var_of, input_vars = {}, []
    for v in graph.inputs:
        var_of[v], input_var = _input_lines(graph, v, input_keys[graph.values[v].top], layout, ctx, variables,
                                            lines)
        input_vars.append(input_var)
    ctx.anchor = input_vars[0] if input_vars else None
    block = None
    nodes = [n for n in graph.nodes if n.type != "Input"]
    last_use = {v: i for i, node in enumerate(nodes) for v in node.inputs}
    holder: dict[str, str] = {var: v for v, var in var_of.items()}
    for index, node in enumerate(nodes):
        block = _block_comment(node, block, lines)
        layer = KERAS_EMITTERS.get(node.type)(node, [var_of[v] for v in node.inputs], ctx)
        ctx.set_layouts(node, layer)
        weights.update(layer.weights)
        custom += [c for c in layer.custom if c not in custom]
        targets = [claim_variable(graph, value, index, variables, holder, last_use) for value in node.outputs]
        var_of.update(zip(node.outputs, targets))
        lines.append(f"{', '.join(targets)} = {layer.expr}")
    outputs = _output_lines(graph, output_keys, layout, ctx, var_of, lines)
    layer_names = [ctx.raw_name(n) for n in nodes]
    source = _source(graph, layout, runtime_sources(custom, RUNTIME), lines, outputs, input_vars, input_keys,
                     output_keys, layer_names, nodes)
    model = KerasModel(source, weights, graph, layout, input_keys, output_keys, layer_names,
                       dict(ctx._layouts), dict(ctx._flat))
    return model, referenced_classes(custom, RUNTIME) & frozenset(variables.names.values())


def transposes_input(value, layout: str) -> bool:
    """Whether the model takes this 4-D net input as N, H, W, C of its Caffe N, C, H, W: in the
    nhwc layout, unless the input is an image taken as the user holds it (embedded preprocessing)."""
    return len(value.shape) == 4 and layout == "nhwc" and value.image_layout is None


def external_shape(value, layout: str, open_axes=()) -> list[int | None]:
    """The shape the model's input takes (see transposes_input); None on the open axes (NCHW
    positions: dynamic height and width)."""
    shape = [None if axis in open_axes else d for axis, d in enumerate(value.shape)]
    return [shape[0], shape[2], shape[3], shape[1]] if transposes_input(value, layout) else shape


def _input_lines(graph, value, key, layout, ctx, variables, lines) -> tuple[str, str]:
    open_axes = getattr(graph, "dynamic", {}).get(value, ())
    shape = tuple(None if axis in open_axes else d for axis, d in enumerate(graph.values[value].shape))
    var = variables(("value", value), graph.values[value].top)
    if graph.values[value].image_layout == "nhwc":  # the image as held: Permute (a Caffe layer) takes it
        lines.append(f"{var} = keras.Input({tuple(shape[1:])}, name={key!r})")
        ctx._layouts[value] = CAFFE
        return var, var
    if transposes_input(graph.values[value], layout):
        lines.append(f"{var} = keras.Input({(shape[2], shape[3], shape[1])}, name={key!r})")
    elif len(shape) == 4:
        raw = variables(("raw", value), f"{graph.values[value].top}_nchw")
        lines.append(f"{raw} = keras.Input({tuple(shape[1:])}, name={key!r})")
        lines.append(f"{var} = layers.Permute({TO_NHWC}, name={ctx._names(('in', key), key + '_nhwc')!r})({raw})")
        ctx._layouts[value] = NHWC
        return var, raw
    else:
        lines.append(f"{var} = keras.Input({tuple(shape[1:])}, name={key!r})")
    ctx._layouts[value] = NHWC if len(shape) == 4 else CAFFE
    return var, var


def _block_comment(node, block, lines):
    new_block = block_of(node.name)
    if new_block != block and new_block and re.fullmatch(r"[A-Za-z0-9_\-]+", new_block):
        lines += ["", f"# {new_block}"]
    return new_block


def _output_lines(graph, output_keys, layout, ctx, var_of, lines) -> dict[str, str]:
    """Output key -> variable; 4-D outputs go back to NCHW when the layout is nchw."""
    outputs = {}
    for value, top in zip(graph.outputs, graph.output_tops):
        key, var = output_keys[top], var_of[value]
        if layout == "nchw" and ctx.layout(value) == NHWC:
            name = ctx._names(("out", key), f"{key}_nchw")
            lines.append(f"{var}_nchw = layers.Permute({TO_NCHW}, name={name!r})({var})")
            var = f"{var}_nchw"
        outputs[key] = var
    return outputs


def _source(graph, layout, custom, lines, outputs, input_vars, input_keys, output_keys, layer_names,
            nodes) -> str:
    mapping = "\n".join(f"    {keras!r}: {n.name!r}," for keras, n in zip(layer_names, nodes))
    body = "\n".join(f"    {line}" if line else "" for line in lines)
    inputs = _inputs_structure(input_vars)
    result = "{" + ", ".join(f"{k!r}: {v}" for k, v in outputs.items()) + "}"
    name = camel_class_name(graph.name, RESERVED | runtime_classes(RUNTIME))
    parts = [
        f'"""Keras model of the Caffe net {graph.name!r}, generated by caffe2x ({layout.upper()} layout).\n\n'
        "Needs only TensorFlow. Rebuild it and load its weights with\n"
        "    model = build_model()\n"
        '    model.load_weights("model.keras")\n'
        '"""\n',
        "from pathlib import Path\n\n"
        "import keras\nimport numpy as np\nimport tensorflow as tf\nfrom keras import layers\n",
        "# Keras layer -> Caffe layer name.\nCAFFE_LAYERS = {\n" + mapping + "\n}\n"
        f"# Caffe net input and output names -> Keras/SavedModel keys.\nINPUTS = {input_keys!r}\n"
        f"OUTPUTS = {output_keys!r}\n",
        *[c + "\n" for c in custom],
        "def build_model():\n" + body + f"\n    return keras.Model({inputs}, {result}, name={name!r})\n",
        _main_block(graph, layout),
    ]
    return "\n".join(parts[:3]) + "\n\n" + "\n\n".join(p.rstrip("\n") + "\n" for p in parts[3:])


def _inputs_structure(input_vars: list[str]) -> str:
    """The model's inputs as its callers pass them: the tensor alone for one input (a
    one-element list makes Keras warn that the structure of every single-tensor call
    does not match), a list in Caffe input order for several."""
    return input_vars[0] if len(input_vars) == 1 else "[" + ", ".join(input_vars) + "]"


def _main_block(graph, layout) -> str:
    shapes = []
    for v in graph.inputs:
        shape = external_shape(graph.values[v], layout)
        shapes.append(f"np.random.default_rng(0).standard_normal({shape}).astype('float32')")
    return (
        'if __name__ == "__main__":\n'
        "    model = build_model()\n"
        '    weights = Path(__file__).with_name("model.keras")\n'
        "    if weights.exists():\n"
        "        model.load_weights(weights)\n"
        f"    outputs = model({_inputs_structure(shapes)})\n"
        "    for key, value in outputs.items():\n"
        "        print(key, tuple(value.shape))\n"
    )
