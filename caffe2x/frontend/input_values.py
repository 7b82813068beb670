"""Net inputs whose values are data a layer reads as such (LayerDef.data_bottoms: ROIPooling's
boxes, a Proposal's im_info), not activations: checked before anything runs, drawn valid for
random inputs, and their first dimension, a row count, kept dynamic on its own by the targets."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np

from ..ir.graph import Graph, Node
from ..layers.base import LAYERS, DataBottom, DataBottomContext


def data_bottom_inputs(graph: Graph) -> Iterator[tuple[str, Node, DataBottom, DataBottomContext]]:
    """(net input, the node reading it, its DataBottom, the context) for every data bottom a net
    input holds directly, in net order."""
    inputs = set(graph.inputs)
    for node in graph.nodes:
        if node.type not in LAYERS:
            continue
        for rule in LAYERS.get(node.type).data_bottoms:
            if rule.index < len(node.inputs) and node.inputs[rule.index] in inputs:
                yield node.inputs[rule.index], node, rule, context(graph, node)


def context(graph: Graph, node: Node) -> DataBottomContext:
    shapes = [graph.values[v].shape for v in node.inputs]
    return DataBottomContext(shapes, image_size(graph, node.inputs[0]) if node.inputs else None, node.name)


def image_size(graph: Graph, value: str) -> tuple[int, int] | None:
    """(H, W) of the 4-D net input `value` is computed from (the first one found walking the
    producers back, bottoms in order); None when `value` is itself a net input or no 4-D net
    input leads to it."""
    producers = {out: node for node in graph.nodes for out in node.outputs if node.type != "Input"}
    seen, stack = set(), [value]
    while stack:
        current = stack.pop(0)
        if current in seen:
            continue
        seen.add(current)
        if current in graph.inputs:
            shape = graph.values[current].shape
            if current != value and len(shape) == 4:
                return int(shape[2]), int(shape[3])
            continue
        node = producers.get(current)
        if node is not None:
            stack.extend(node.inputs)
    return None


def check_input_values(graph: Graph, arrays: Mapping[str, np.ndarray]) -> None:
    """Raise InputValueError (naming the layer and the input) for the first data bottom whose
    given values its layer refuses. Run before any work, so nothing is written on a refusal."""
    for value, node, rule, where in data_bottom_inputs(graph):
        top = graph.values[value].top
        if top in arrays and rule.check is not None:
            rule.check(node.params, np.asarray(arrays[top]), where)


def draw_input_values(graph: Graph, arrays: dict[str, np.ndarray], rng) -> dict[str, np.ndarray]:
    """`arrays` with every data bottom's net input redrawn valid by its layer (random inputs)."""
    for value, node, rule, where in data_bottom_inputs(graph):
        top = graph.values[value].top
        arrays[top] = np.asarray(rule.draw(node.params, graph.values[value].shape, where, rng), np.float32)
    return arrays


def row_inputs(graph: Graph) -> list[str]:
    """Net inputs whose first dimension counts rows the data decides (DataBottom.rows)."""
    return list(dict.fromkeys(value for value, _, rule, _ in data_bottom_inputs(graph) if rule.rows))


def random_inputs(graph: Graph, seed: int | tuple[int, ...]) -> dict[str, np.ndarray]:
    """Seeded standard-normal inputs of the graph's input shapes, keyed by Caffe input name; an
    input a layer reads as data (LayerDef.data_bottoms: ROIs, Embed indices, LSTM cont, a
    Proposal's im_info) is drawn valid by that layer. The one path for random inputs: run,
    verify, synthetic weights, and the converted folders' example inputs
    (caffe2x.targets.common.example_inputs) all draw here."""
    rng = np.random.default_rng(seed)
    arrays = {graph.values[v].top: rng.standard_normal(graph.values[v].shape).astype(np.float32)
              for v in graph.inputs}
    return draw_input_values(graph, arrays, rng)  # ROIs, im_info and other data bottoms: valid values
