"""Write an ONNX model with its initializers streamed from numpy arrays.

The skeleton (everything but the weights) is serialized by protobuf; each
initializer is appended to the graph message as a TensorProto written by hand
(name, dims, data_type, raw_data), its bytes going straight from the array to
the file, or to an external data file for models over protobuf's 2 GB limit.
Protobuf allows a message's fields in any order, so this is a plain ModelProto.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...io.wire_writer import Chunks, packed_varints

MODEL_GRAPH = 7
GRAPH_INITIALIZER = 5
TENSOR_DIMS, TENSOR_DATA_TYPE, TENSOR_NAME, TENSOR_RAW_DATA = 1, 2, 8, 9
TENSOR_EXTERNAL_DATA, TENSOR_DATA_LOCATION = 13, 14
ENTRY_KEY, ENTRY_VALUE = 1, 2
DATA_TYPES = {np.dtype("float32"): 1, np.dtype("int64"): 7}
EXTERNAL = 1
ALIGN = 4096


def _tensor_header(name: str, array: np.ndarray) -> Chunks:
    tensor = Chunks()
    if array.ndim:
        tensor.field_bytes(TENSOR_DIMS, packed_varints(array.shape))
    return tensor.field_varint(TENSOR_DATA_TYPE, DATA_TYPES[array.dtype]).field_bytes(TENSOR_NAME, name.encode())


def _entry(key: str, value: str) -> Chunks:
    return Chunks().field_bytes(ENTRY_KEY, key.encode()).field_bytes(ENTRY_VALUE, value.encode())


def write_model(converted, path: Path, data_name: str | None = None) -> None:
    skeleton = converted.skeleton
    graph_bytes = skeleton.graph.SerializeToString()
    outer = type(skeleton)()
    outer.CopyFrom(skeleton)
    outer.ClearField("graph")
    graph = Chunks().raw(graph_bytes)
    data_file = open(path.parent / data_name, "wb") if data_name else None
    try:
        offset = 0
        for name, array in converted.tensors:
            array = np.ascontiguousarray(array, array.dtype.newbyteorder("<"))
            tensor = _tensor_header(name, array)
            if data_file is None:
                tensor.field_array(TENSOR_RAW_DATA, array)
            else:
                data_file.write(b"\0" * (-offset % ALIGN))
                offset += -offset % ALIGN
                data_file.write(memoryview(array).cast("B"))
                for key, value in (("location", data_name), ("offset", str(offset)), ("length", str(array.nbytes))):
                    tensor.field_message(TENSOR_EXTERNAL_DATA, _entry(key, value))
                tensor.field_varint(TENSOR_DATA_LOCATION, EXTERNAL)
                offset += array.nbytes
            graph.field_message(GRAPH_INITIALIZER, tensor)
    finally:
        if data_file is not None:
            data_file.close()
    model = Chunks().raw(outer.SerializeToString()).field_message(MODEL_GRAPH, graph)
    with open(path, "wb") as handle:
        model.write_to(handle)
