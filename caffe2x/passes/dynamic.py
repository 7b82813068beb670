"""Dynamic height and width (--input-shape data=1,3,?,? or --dynamic-hw), in Caffe's terms.

The IR stays static: its shapes are Caffe's at a nominal size (the declared or given one),
and graph.dynamic names the input axes a converted model leaves open. What follows an open
axis is found the way Caffe finds it, by running every layer's own shape rule at another
size (`at_size`): a blob whose shape changes varies with the input. Caffe refuses a size
where a rule refuses it or where a layer's weights no longer fit (InnerProduct after a
convolution: its weight fixes C x H x W), and so does caffe2x, naming the layer.
"""

from __future__ import annotations

from ..errors import DynamicShapeError, ShapeError, layer_error
from ..ir.graph import Graph, Shape
from ..layers import LAYERS
from .rewrite import clone

# Extra rows and columns tried, in order, for the second size verify checks and for finding
# what varies: a multiple of the usual total strides (32) first, so every pooling stage changes.
PROBE_STEPS = (32, 16, 8, 2, 1)


def dynamic_inputs(graph: Graph) -> dict[str, tuple[int, ...]]:
    """Input value -> its open axes ({} for a static net)."""
    return {value: axes for value, axes in getattr(graph, "dynamic", {}).items() if axes and value in graph.inputs}


def at_size(graph: Graph, input_shapes: dict[str, Shape]) -> Graph:
    """The graph with Caffe's shapes at other input shapes ({input value: shape}), every
    layer's shape rule run again, its weights checked against them. A size Caffe refuses is a
    DynamicShapeError naming the first layer that refuses it and why."""
    resized = clone(graph)
    resized.caffe_layers = list(graph.caffe_layers)
    shapes = {value: tuple(graph.values[value].shape) for value in graph.values}
    shapes.update({value: tuple(shape) for value, shape in input_shapes.items()})
    for node in graph.nodes:
        if node.type == "Input":
            continue
        _reshape_node(node, shapes)
    resized.values = {name: _with_shape(value, shapes[name]) for name, value in graph.values.items()}
    resized.caffe_layers = [_layer_at(layer, resized) for layer in graph.caffe_layers]
    return resized


def _reshape_node(node, shapes: dict[str, Shape]) -> None:
    definition = LAYERS.get(node.type)
    bottoms = [shapes[v] for v in node.inputs]
    try:
        tops = [tuple(int(d) for d in s) for s in definition.infer(node.params, bottoms)]
        weights = [tuple(s) for s in definition.weights(node.params, bottoms)]
    except ShapeError as exc:
        raise layer_error(DynamicShapeError, node.name, node.type, f"Caffe refuses this size: {exc}") from None
    if node.weight_shapes and weights != [tuple(s) for s in node.weight_shapes]:
        error = layer_error(DynamicShapeError, node.name, node.type,
                            f"its weights {[list(s) for s in node.weight_shapes]} fit the nominal size only (another "
                            f"size needs {[list(s) for s in weights]}): Caffe itself refuses another size")
        error.fixed_by_weights = True  # no other size will do, whatever the step
        raise error
    for value, shape in zip(node.outputs, tops):
        if min(shape, default=1) <= 0:
            raise layer_error(DynamicShapeError, node.name, node.type,
                              f"Caffe refuses this size: its top would be {list(shape)}")
        shapes[value] = shape


def _with_shape(value, shape: Shape):
    from dataclasses import replace

    return value if tuple(value.shape) == tuple(shape) else replace(value, shape=tuple(shape))


def _layer_at(layer, graph: Graph):
    """A CaffeLayer (what inspect lists) with its tops' shapes at the graph's size."""
    from dataclasses import replace

    keys = graph.blob_keys()
    shapes = []
    for top, shape in zip(layer.tops, layer.shapes):
        value = keys.get(f"{layer.name}:{top}", keys.get(f"input:{top}") if layer.type == "Input" else None)
        shapes.append(graph.values[value].shape if value in graph.values else shape)
    return replace(layer, shapes=shapes)


def grown(graph: Graph, step: int) -> dict[str, Shape]:
    """Every input's shape with `step` added to each open axis."""
    return {value: tuple(d + step if axis in axes else d for axis, d in enumerate(graph.values[value].shape))
            for value, axes in dynamic_inputs(graph).items()}


def other_sizes(graph: Graph) -> list[Graph]:
    """The graph at every PROBE_STEPS size Caffe accepts (more rows and columns on each open
    axis); the first is the second size verify checks. A layer whose weights fix the size
    raises at once; a net no probed size fits is a DynamicShapeError with the reason Caffe
    gives at the first size tried."""
    found, first_error = [], None
    for step in PROBE_STEPS:
        try:
            found.append(at_size(graph, grown(graph, step)))
        except DynamicShapeError as exc:
            if getattr(exc, "fixed_by_weights", False):
                raise DynamicShapeError(f"the height and width of {_names(graph)} cannot be dynamic: {exc}") from None
            first_error = first_error or exc
    if found:
        return found
    raise DynamicShapeError(f"dynamic height and width of {_names(graph)}: the net accepts no other size than "
                            f"the nominal one (tried {', '.join(f'+{s}' for s in PROBE_STEPS)} rows and columns); at +"
                            f"{PROBE_STEPS[0]}: {first_error}")


def _names(graph: Graph) -> str:
    return ", ".join(f"'{graph.values[v].top}'" for v in dynamic_inputs(graph))


def second_size(graph: Graph) -> Graph:
    """The graph at the other size verify checks beside the nominal one (see other_sizes)."""
    return other_sizes(graph)[0]


def varying_values(graph: Graph, others: list[Graph]) -> set[str]:
    """The values whose shapes differ between the graph and the same graph at any other size."""
    return {name for name, value in graph.values.items()
            if any(tuple(other.values[name].shape) != tuple(value.shape) for other in others)}
