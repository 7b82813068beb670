"""Build the SSA graph from the selected layers, inferring every shape."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import GraphError, ShapeError, layer_error
from ..ir.graph import CaffeLayer, Graph, Node, Shape, Value
from ..layers import LAYERS, MAX_BLOB_ELEMENTS
from ..layers.base import BottomSource
from ..layers.expand import EXPANSIONS
from ..layers.tensor import InputParams
from .inputs import is_input_layer, open_axes, resolve_input_shapes
from .variants import apply_variant


@dataclass
class _Version:
    """One definition of a Caffe top: which IR value holds it, and whether a layer reads it."""

    top: str
    value: str
    consumed: bool = False


class _Builder:
    def __init__(self, name: str, layers: list, input_shapes: dict[str, Shape], variants: dict[str, str]):
        self.layers = layers
        self.variants = variants  # type -> the variant the user chose (frontend.variants)
        self.input_shapes = input_shapes
        self.graph = Graph(name=name, inputs=[], outputs=[], nodes=[], values={})
        self.current: dict[str, _Version] = {}
        self.versions: list[_Version] = []
        self.producer_of: dict[str, str] = {}  # top -> first layer that wrote it
        self.last_def = _last_definitions(layers)
        self.input_tops = set(input_shapes)

    def run(self) -> Graph:
        for index, layer in enumerate(self.layers):
            if is_input_layer(layer):
                self._add_inputs(layer, index)
            elif layer.type == "Split":
                self._add_split(layer)
            elif layer.type == "Silence":
                self._inputs_of(layer)
                self._record(layer, list(layer.bottom), [], [])
            elif layer.type in EXPANSIONS:
                self._add_expanded(layer, index)
            else:
                self._add_node(layer, index)
        self._set_outputs()
        return self.graph

    def _value_name(self, top: str, index: int, layer_name: str, is_input: bool = False) -> str:
        # Net inputs always keep their name (runtimes feed them by it); otherwise the
        # last writer of a top gets the plain name and earlier ones "top@layer".
        if is_input or (self.last_def.get(top) == index and top not in self.input_tops):
            name = top
        else:
            name = f"{top}@{layer_name}"
        while name in self.graph.values:  # only if a top is literally named "x@y"
            name += "'"
        return name

    def _define(self, top: str, value: Value) -> None:
        self.graph.values[value.name] = value
        version = _Version(top, value.name)
        self.versions.append(version)
        self.current[top] = version
        self.producer_of.setdefault(top, value.producer or "input")

    def _add_inputs(self, layer, index: int) -> None:
        tops = [t for t in layer.top if t in self.input_shapes]
        shapes = [self.input_shapes[t] for t in tops]
        node = Node(layer.name, "Input", InputParams(tuple(shapes)), [], [], [], tops)
        for top, shape in zip(tops, shapes):
            self._check_new_top(layer, top, 0)
            _check_size(layer, top, shape)
            value = Value(self._value_name(top, index, layer.name, is_input=True), shape, top, None)
            self._define(top, value)
            node.outputs.append(value.name)
            self.graph.inputs.append(value.name)
        self.graph.nodes.append(node)
        self._record(layer, [], tops, shapes)

    def _add_split(self, layer) -> None:
        # Split is dropped: each top aliases the bottom's value.
        (source,) = self._inputs_of(layer) if len(layer.bottom) == 1 else self._bad_arity(layer)
        for top in layer.top:
            self._check_new_top(layer, top, 0)
            version = _Version(top, source)
            self.versions.append(version)
            self.current[top] = version
            self.producer_of.setdefault(top, layer.name)
            self.graph.aliases[(layer.name, top)] = source
        shape = self.graph.values[source].shape
        self._record(layer, list(layer.bottom), list(layer.top), [shape] * len(layer.top))

    def _add_expanded(self, layer, index: int) -> None:
        """A layer Caffe runs as other layers (layers.expand): its shape rule checked under its
        own name first, then those layers added; `inspect` lists the layer itself."""
        definition = LAYERS.get(layer.type)
        _check_arity(layer, definition)
        # Its parts read the same bottoms, so marking them read here changes nothing.
        bottom_shapes = [self.graph.values[v].shape for v in self._inputs_of(layer)]
        try:
            top_shapes = definition.infer(definition.parse(layer), bottom_shapes)
            parts = EXPANSIONS[layer.type](layer, bottom_shapes)
        except ShapeError as exc:
            raise layer_error(ShapeError, layer.name, layer.type, str(exc)) from None
        first = len(self.graph.caffe_layers)
        for part in parts:
            self._add_node(part, index)
        added = self.graph.caffe_layers[first:]
        del self.graph.caffe_layers[first:]
        self._record(layer, list(layer.bottom), list(layer.top), top_shapes, 0, sum(a.flops for a in added))

    def _add_node(self, layer, index: int) -> None:
        definition = LAYERS.get(layer.type)
        _check_arity(layer, definition)
        inputs = self._inputs_of(layer)
        bottom_shapes = [self.graph.values[v].shape for v in inputs]
        try:
            params = apply_variant(self.variants, layer.type, definition.parse(layer))
            top_shapes = [tuple(int(d) for d in s) for s in definition.infer(params, bottom_shapes)]
            weight_shapes = [tuple(s) for s in definition.weights(params, bottom_shapes)]
            flops = int(definition.flops(params, bottom_shapes, top_shapes))
            if definition.check_bottoms is not None:
                definition.check_bottoms(params, bottom_shapes, [self._source_of(v) for v in inputs])
        except ShapeError as exc:
            raise layer_error(ShapeError, layer.name, layer.type, str(exc)) from None
        if len(top_shapes) != len(layer.top):
            raise layer_error(GraphError, layer.name, layer.type,
                              f"has {len(layer.top)} tops but produces {len(top_shapes)} blobs")
        node = Node(layer.name, layer.type, params, inputs, [], list(layer.bottom), list(layer.top),
                    weight_shapes=weight_shapes)
        for i, (top, shape) in enumerate(zip(layer.top, top_shapes)):
            self._check_new_top(layer, top, i)
            _check_size(layer, top, shape)
            value = Value(self._value_name(top, index, layer.name), shape, top, layer.name)
            self._define(top, value)
            node.outputs.append(value.name)
        self.graph.nodes.append(node)
        self._record(layer, node.bottoms, node.tops, top_shapes, node.num_params, flops)

    def _source_of(self, value: str) -> BottomSource | None:
        """The node that wrote an IR value and which output it is; None for a net input."""
        for node in reversed(self.graph.nodes):
            if value in node.outputs:
                shapes = [self.graph.values[v].shape for v in node.inputs]
                return BottomSource(node, node.outputs.index(value), shapes)
        return None

    def _record(self, layer, bottoms, tops, shapes, params: int = 0, flops: int = 0) -> None:
        self.graph.caffe_layers.append(
            CaffeLayer(layer.name, layer.type, bottoms, tops, list(shapes), params, flops))

    def _inputs_of(self, layer) -> list[str]:
        values = []
        for bottom in layer.bottom:
            version = self.current.get(bottom)
            if version is None:
                raise layer_error(GraphError, layer.name, layer.type, self._missing_bottom(bottom))
            version.consumed = True
            values.append(version.value)
        return values

    def _missing_bottom(self, bottom: str) -> str:
        later = [layer.name for layer in self.layers if bottom in layer.top]
        if later:
            return (f"bottom '{bottom}' is only produced later, by layer '{later[0]}': Caffe runs "
                    "layers in prototxt order, so this is a cycle or a misordered net")
        return f"bottom '{bottom}' is never produced by any layer or input"

    def _check_new_top(self, layer, top: str, index: int) -> None:
        in_place = index < len(layer.bottom) and layer.bottom[index] == top
        if top in self.current and not in_place:
            raise layer_error(
                GraphError, layer.name, layer.type,
                f"top '{top}' is already produced by '{self.producer_of[top]}'; only an in-place "
                "layer (bottom i equal to top i) may write an existing blob")

    def _bad_arity(self, layer):
        raise layer_error(GraphError, layer.name, layer.type, "needs exactly one bottom")

    def _set_outputs(self) -> None:
        # Caffe's net outputs: blobs no layer reads, in sorted name order.
        outputs = {v.top: v.value for v in self.versions if not v.consumed}
        self.graph.outputs = [outputs[top] for top in sorted(outputs)]
        self.graph.output_tops = sorted(outputs)


def _last_definitions(layers: list) -> dict[str, int]:
    last = {}
    for index, layer in enumerate(layers):
        if layer.type != "Split":
            for top in layer.top:
                last[top] = index
    return last


def _check_arity(layer, definition) -> None:
    for what, actual, (low, high) in (("bottoms", len(layer.bottom), definition.bottoms),
                                      ("tops", len(layer.top), definition.tops)):
        if actual < low or (high is not None and actual > high):
            allowed = f"{low}" if low == high else f"{low} to {high if high is not None else 'any'}"
            raise layer_error(GraphError, layer.name, layer.type,
                              f"has {actual} {what}; {layer.type} takes {allowed}")


def _check_size(layer, top: str, shape: Shape) -> None:
    elements = 1
    for d in shape:
        elements *= d
    if min(shape, default=1) <= 0 or elements > MAX_BLOB_ELEMENTS:
        raise layer_error(
            ShapeError, layer.name, layer.type,
            f"top '{top}' would have shape {list(shape)} ({elements} elements); dims must be "
            f"positive and a blob may hold at most {MAX_BLOB_ELEMENTS} elements")


def build_graph(name: str, layers: list, overrides: dict[str, Shape], variants: dict[str, str] | None = None) -> Graph:
    """Selected, supported layers -> checked SSA graph (without weights); `variants` (checked by
    frontend.variants) choose a named semantics for a type, recorded in graph.metadata."""
    if not layers:
        raise GraphError(f"net '{name}' has no layers (after choosing the TEST phase): nothing to convert.")
    used = {bottom for layer in layers if not is_input_layer(layer) for bottom in layer.bottom}
    input_layers = [layer for layer in layers if is_input_layer(layer)]
    shapes = resolve_input_shapes(input_layers, used, overrides)
    graph = _Builder(name, layers, shapes, dict(variants or {})).run()
    if variants:
        graph.metadata["layer_variants"] = dict(sorted(variants.items()))
    graph.dynamic = {top: axes for top, axes in open_axes(overrides).items() if top in graph.inputs}
    return graph
