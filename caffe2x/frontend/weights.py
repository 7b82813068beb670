"""Attach caffemodel blobs to graph nodes, matching layers by name.

Blob shapes are checked the way Caffe's CopyTrainedLayersFrom checks them;
every problem is collected and reported at once.
"""

from __future__ import annotations

import numpy as np

from ..errors import WeightsError
from ..io.caffemodel import RawBlob, WeightFile
from ..ir.graph import Graph, Node, Shape


def _legacy_matches(legacy: tuple[int, ...], expected: Shape) -> bool:
    """Caffe's Blob::ShapeEquals for num/channels/height/width blobs."""
    if len(expected) > 4:
        return False
    padded = (1,) * (4 - len(expected)) + tuple(expected)
    return tuple(legacy) == padded


def _blob_problem(node: Node, index: int, blob: RawBlob, expected: Shape) -> str | None:
    declared = blob.declared_shape()
    elements = int(np.prod(declared, dtype=np.int64))
    if elements != blob.data.size:
        return (f"layer '{node.name}' blob {index} declares shape {list(declared)} "
                f"({elements} values) but holds {blob.data.size}")
    if blob.shape is not None:
        matches = tuple(blob.shape) == tuple(expected)
    elif blob.legacy_shape is not None:
        matches = _legacy_matches(blob.legacy_shape, expected)
    else:
        matches = blob.data.size == int(np.prod(expected, dtype=np.int64))
    if not matches:
        return (f"layer '{node.name}' ({node.type}) blob {index}: expected shape "
                f"{list(expected)}, the caffemodel has {list(declared)}")
    return None


def _shadowed_by_name(graph: Graph) -> dict[int, str]:
    """Weighted layers that Caffe never loads from a caffemodel because an earlier layer
    has their name.

    Caffe allows several layers with one name. Net::CopyTrainedLayersFrom(NetParameter)
    (BVLC caffe master, src/caffe/net.cpp) finds the target of each caffemodel layer by a
    linear search of layer_names_, so every caffemodel layer of that name is copied into
    the FIRST net layer of that name (the last copy wins: the reader keeps the last); a
    later layer of that name keeps its weight_filler's initialization (zeros by default, or
    random numbers), surely not what the net's author meant, and no conversion can
    reproduce the random ones. (The HDF5 path, layer_names_index_, picks the last
    layer instead, but caffe2x reads binary caffemodels only.)"""
    first: dict[str, Node] = {}
    shadowed = {}  # id(node) -> why
    for node in graph.nodes:
        earlier = first.setdefault(node.name, node)
        if earlier is not node and node.weight_shapes:
            shadowed[id(node)] = (
                f"layer '{node.name}' ({node.type}, top '{node.tops[0]}') has weights, but an earlier layer "
                f"({earlier.type}) has its name, and Caffe copies the caffemodel's '{node.name}' blobs into the "
                "first layer of a name only (Net::CopyTrainedLayersFrom): this one would keep its "
                "weight_filler's initialization (zeros, or random numbers), not trained weights. Give it a name "
                "of its own")
    return shadowed


def attach_weights(graph: Graph, weights: WeightFile) -> None:
    shadowed = _shadowed_by_name(graph)
    missing, problems = [], list(shadowed.values())
    for node in graph.nodes:
        if not node.weight_shapes or id(node) in shadowed:
            continue
        blobs = weights.blobs.get(node.name)
        if blobs is None:
            missing.append(node.name)
            continue
        if len(blobs) != len(node.weight_shapes) and not _fit_blob_count(graph, node, len(blobs)):
            problems.append(f"layer '{node.name}' ({node.type}) needs {len(node.weight_shapes)} "
                            f"blob(s), the caffemodel has {len(blobs)}")
            continue
        found = [_blob_problem(node, i, b, s) for i, (b, s) in enumerate(zip(blobs, node.weight_shapes))]
        problems.extend(p for p in found if p)
        if not any(found):
            node.weights = [b.data.reshape(s) for b, s in zip(blobs, node.weight_shapes)]
    if missing or problems:
        raise WeightsError(_describe(weights, graph, missing, problems))
    graph.has_weights = True


def _fit_blob_count(graph: Graph, node: Node, count: int) -> bool:
    """Let the layer type re-read its parameters for the caffemodel's blob count, where its
    forks store different blobs under one type name and the prototxt does not say which
    (LayerDef.fit_blobs); True when the node now expects `count` blobs."""
    from ..layers import LAYERS

    definition = LAYERS.get(node.type)
    params = definition.fit_blobs(node.params, count) if definition.fit_blobs is not None else None
    if params is None:
        return False
    shapes = [tuple(s) for s in definition.weights(params, [graph.values[v].shape for v in node.inputs])]
    if len(shapes) != count:
        return False
    node.params, node.weight_shapes = params, shapes
    return True


def _describe(weights: WeightFile, graph: Graph, missing: list[str], problems: list[str]) -> str:
    parts = [f"{weights.path}: the weights do not fit net '{graph.name}'."]
    if missing:
        parts.append(f"No blobs for layer(s): {', '.join(repr(m) for m in missing)}.")
        needed = sum(1 for node in graph.nodes if node.weight_shapes)
        if len(missing) == needed:
            held = ", ".join(repr(n) for n in list(weights.blobs)[:8]) or "none"
            parts.append(f"The caffemodel (net '{weights.net_name}') holds blobs for {held}"
                         f"{', ...' if len(weights.blobs) > 8 else ''}: is it for another net?")
    parts.extend(p + "." for p in problems)
    return " ".join(parts)
