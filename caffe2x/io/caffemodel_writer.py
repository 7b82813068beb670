"""Write a caffemodel (current `layer` format): each layer's name, type and blobs.

It knows nothing of the IR: caffe2x.weights.save_weights turns a graph into its layers."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

import numpy as np

from .atomic import atomic_file
from .wire_writer import Chunks, packed_varints

NET_NAME, NET_LAYER = 1, 100
LAYER_NAME, LAYER_TYPE, LAYER_BLOBS = 1, 2, 7
BLOB_SHAPE, BLOB_DATA, SHAPE_DIM = 7, 5, 1


def _blob(array: np.ndarray, shape) -> Chunks:
    dims = Chunks().field_bytes(SHAPE_DIM, packed_varints(shape))
    return Chunks().field_message(BLOB_SHAPE, dims).field_array(BLOB_DATA, np.asarray(array, "<f4").reshape(-1))


# One layer's entry: (name, type, [(blob array, blob shape), ...]).
LayerBlobs = tuple[str, str, Sequence[tuple[np.ndarray, Sequence[int]]]]


def caffemodel_chunks(net_name: str, layers: Iterable[LayerBlobs]) -> Chunks:
    net = Chunks().field_bytes(NET_NAME, net_name.encode())
    for name, layer_type, blobs in layers:
        layer = Chunks().field_bytes(LAYER_NAME, name.encode()).field_bytes(LAYER_TYPE, layer_type.encode())
        for array, shape in blobs:
            layer.field_message(LAYER_BLOBS, _blob(array, shape))
        net.field_message(NET_LAYER, layer)
    return net


def write_caffemodel(net_name: str, layers: Iterable[LayerBlobs], path: str | os.PathLike,
                     force: bool = False) -> None:
    """Write the layers' blobs as a caffemodel Caffe (and caffe2x) can read, atomically."""
    chunks = caffemodel_chunks(net_name, layers)
    with atomic_file(path, force) as temp, open(temp, "wb") as handle:
        chunks.write_to(handle)
