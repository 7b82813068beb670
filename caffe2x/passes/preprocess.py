"""Embed the preprocessing into the graph (convert --preprocess embed): the steps of
frontend.preprocess.preprocessing_steps become ordinary Caffe layers in front of the net, so
every target emits them with its own emitters and the converted model takes the image as the
user holds it (say RGB, 0-255, N,H,W,C).

    transpose NHWC -> NCHW   Permute (order 0 3 1 2)
    RGB -> BGR               Slice (axis 1, one top per channel) + Concat of the tops reversed
    x * raw_scale, x * scale Power (one factor) or Scale (per channel)
    x - mean                 Bias with the negated mean: (C,) values, or a (C, H, W) mean image

Each layer computes exactly the float32 operation its step names (x + (-m) is x - m in IEEE
arithmetic), so the embedded model's numbers are apply_preprocessing's, bit for bit. The layers
are built from prototxt text through the front end (parse and shape rules), as a net's own are.
"""

from __future__ import annotations

from ..errors import PreprocessingError
from ..frontend.build import build_graph
from ..frontend.preprocess import Preprocessing, Step, held_shape, preprocessing_steps
from ..io.prototxt import parse_prototxt_text
from ..ir.graph import Graph
from .rewrite import clone, replace_uses

PREFIX = "preprocess_"


def embed_preprocessing(graph: Graph, spec: Preprocessing) -> Graph:
    """The graph with `spec` applied inside it, on its first input (a 4-D N, C, H, W image blob).
    The input keeps its name and takes the image as held: graph.values[input].image_layout says
    its layout, and graph.metadata["preprocessing"] records the spec with "embedded": true."""
    if not graph.inputs or len(graph.shape(graph.inputs[0])) != 4:
        raise PreprocessingError("--preprocess embed needs a 4-D N,C,H,W image input first")
    steps = preprocessing_steps(spec, graph.shape(graph.inputs[0])[1])
    if not steps:  # the net takes the image as it is held: nothing to embed
        return graph
    graph = clone(graph)
    name = graph.inputs[0]
    value = graph.values[name]
    prefix = _free_prefix(graph)
    front = _front_graph(steps, value.top, held_shape(spec, value.shape), prefix)
    last = front.outputs[0]
    if front.shape(last) != value.shape:  # a bug of ours: the steps must end at the net's input
        raise AssertionError(f"preprocessing ends at {front.shape(last)}, the net takes {value.shape}")
    # The net's readers of the input now read the front's last value, renamed so that the
    # image keeps the input's name (runtimes feed inputs by name).
    inner = _inner_name(name, prefix)
    replace_uses(graph, name, inner)
    nodes = [n for n in front.nodes if n.type != "Input"]
    for node in nodes:
        node.outputs = [inner if v == last else v for v in node.outputs]
    graph.values.update({v: front.values[v] for v in front.values if v not in (last, name)})
    graph.values[inner] = front.values[last]
    graph.values[inner].name = inner
    graph.values[name] = _held_value(front.values[name], spec)
    _set_input_node_shape(graph, name)
    first = max((i + 1 for i, n in enumerate(graph.nodes) if n.type == "Input"), default=0)
    graph.nodes[first:first] = nodes
    layers = [layer for layer in front.caffe_layers if layer.type != "Input"]
    graph.caffe_layers = graph.caffe_layers[:first] + layers + graph.caffe_layers[first:]
    graph.metadata = {**graph.metadata, "preprocessing": {**spec.to_dict(), "embedded": True,
                                                          "input": {"name": value.top,
                                                                    "shape": list(graph.shape(name)),
                                                                    "layout": spec.input_layout,
                                                                    "channel_order": spec.channel_order}}}
    _attach_operands(nodes, steps, prefix)
    return graph


def _inner_name(name: str, prefix: str) -> str:
    return f"{name}@{prefix}input"


def preprocessed_blob(graph: Graph) -> str:
    """"LAYER:TOP" of the embedded steps' last blob: the net's input as Caffe takes it."""
    start = f"{graph.inputs[0]}@{PREFIX}" if graph.inputs else None
    for node in graph.nodes:
        for top, value in zip(node.tops, node.outputs):
            if start and value.startswith(start) and value.endswith("input"):
                return f"{node.name}:{top}"
    raise PreprocessingError("this graph has no embedded preprocessing")


def _free_prefix(graph: Graph) -> str:
    """preprocess_, or preprocess__... if the net has layers of that name already."""
    prefix = PREFIX
    while any(node.name.startswith(prefix) for node in graph.nodes):
        prefix += "_"
    return prefix


def _front_graph(steps: list[Step], top: str, shape: tuple[int, ...], prefix: str) -> Graph:
    """The steps as a small Caffe net from the held image `top` to its last layer's top."""
    dims = " ".join(f"dim: {d}" for d in shape)
    text = [f'input: "{top}" input_shape {{ {dims} }}']
    bottom = top
    for step in steps:
        layer = prefix + step.name
        text += _layers_of(step, layer, bottom)
        bottom = layer
    net = parse_prototxt_text("\n".join(text), "<preprocessing>")
    return build_graph("preprocessing", list(net.layer), {top: shape})


def _layers_of(step: Step, layer: str, bottom: str) -> list[str]:
    if step.kind == "transpose":
        order = " ".join(f"order: {axis}" for axis in step.order)
        return [f'layer {{ name: "{layer}" type: "Permute" bottom: "{bottom}" top: "{layer}" '
                f"permute_param {{ {order} }} }}"]
    if step.kind == "channels":
        parts = [f"{layer}_{i}" for i in range(len(step.order))]
        tops = " ".join(f'top: "{p}"' for p in parts)
        reordered = " ".join(f'bottom: "{parts[i]}"' for i in step.order)
        return [f'layer {{ name: "{layer}_split" type: "Slice" bottom: "{bottom}" {tops} slice_param {{ axis: 1 }} }}',
                f'layer {{ name: "{layer}" type: "Concat" {reordered} top: "{layer}" concat_param {{ axis: 1 }} }}']
    if step.kind == "multiply" and step.operand.size == 1:
        return [f'layer {{ name: "{layer}" type: "Power" bottom: "{bottom}" top: "{layer}" '
                f"power_param {{ scale: {float(step.operand[0])!r} }} }}"]
    kind, block = ("Scale", "scale_param") if step.kind == "multiply" else ("Bias", "bias_param")
    return [f'layer {{ name: "{layer}" type: "{kind}" bottom: "{bottom}" top: "{layer}" '
            f"{block} {{ axis: 1 num_axes: {step.operand.ndim} }} }}"]


def _attach_operands(nodes, steps: list[Step], prefix: str) -> None:
    """Scale's and Bias's blob is the step's operand (float32, as a caffemodel holds it)."""
    by_name = {node.name: node for node in nodes if node.type in ("Scale", "Bias")}
    for step in steps:
        if prefix + step.name in by_name:
            by_name[prefix + step.name].weights = [step.operand]


def _held_value(value, spec: Preprocessing):
    from dataclasses import replace

    return replace(value, image_layout=spec.input_layout)


def _set_input_node_shape(graph: Graph, name: str) -> None:
    from ..layers.tensor import InputParams

    for node in graph.nodes:
        if node.type == "Input" and name in node.outputs:
            node.params = InputParams(tuple(graph.shape(v) for v in node.outputs))
