"""Write a caffemodel (current `layer` format) from a graph's weights."""

from __future__ import annotations

import os

import numpy as np

from ..io.atomic import atomic_file
from ..ir.graph import Graph
from .wire_writer import Chunks, packed_varints

NET_NAME, NET_LAYER = 1, 100
LAYER_NAME, LAYER_TYPE, LAYER_BLOBS = 1, 2, 7
BLOB_SHAPE, BLOB_DATA, SHAPE_DIM = 7, 5, 1


def _blob(array: np.ndarray, shape) -> Chunks:
    dims = Chunks().field_bytes(SHAPE_DIM, packed_varints(shape))
    return Chunks().field_message(BLOB_SHAPE, dims).field_array(BLOB_DATA, np.asarray(array, "<f4").reshape(-1))


def caffemodel_chunks(graph: Graph) -> Chunks:
    net = Chunks().field_bytes(NET_NAME, graph.name.encode())
    for node in graph.nodes:
        if not node.weights:
            continue
        layer = Chunks().field_bytes(LAYER_NAME, node.name.encode()).field_bytes(LAYER_TYPE, node.type.encode())
        for array, shape in zip(node.weights, node.weight_shapes):
            layer.field_message(LAYER_BLOBS, _blob(array, shape))
        net.field_message(NET_LAYER, layer)
    return net


def write_caffemodel(graph: Graph, path: str | os.PathLike, force: bool = False) -> None:
    """Write the graph's weights as a caffemodel Caffe (and caffe2x) can read."""
    chunks = caffemodel_chunks(graph)
    with atomic_file(path, force) as temp, open(temp, "wb") as handle:
        chunks.write_to(handle)
