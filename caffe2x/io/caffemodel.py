"""Read the weights of a binary .caffemodel without copying them.

The file is memory-mapped and each float blob becomes a read-only numpy view
over it (one copy at most happens later, when an emitter writes its own
format). Current (`layer`), legacy V1 (`layers`) and V0 (`layers { layer }`)
files are all read; only layer names, types and blobs are taken from them,
the net structure always comes from the prototxt. Fields of a current-format
layer that BVLC's schema lacks (a fork's `norm_param` = 206, ...) are kept raw by
number, for a declaration to read (WeightFile.fork_param).
"""

from __future__ import annotations

import mmap
import os
from dataclasses import dataclass, field

import numpy as np

from ..errors import WeightsError
from ..schema import LayerParameter
from .wire import FIXED32, FIXED64, LEN, Field, WireError, as_signed64, iter_fields, read_packed_varints, read_string

# Field numbers from caffe.proto.
NET_NAME, NET_LAYERS_V1, NET_LAYER = 1, 2, 100
LAYER_NAME, LAYER_TYPE, LAYER_BLOBS = 1, 2, 7
V1_V0LAYER, V1_NAME, V1_TYPE, V1_BLOBS = 1, 4, 5, 6
V0_NAME, V0_TYPE, V0_BLOBS = 1, 2, 50
BLOB_NUM, BLOB_CHANNELS, BLOB_HEIGHT, BLOB_WIDTH = 1, 2, 3, 4
BLOB_DATA, BLOB_DOUBLE_DATA, BLOB_SHAPE = 5, 8, 7
SHAPE_DIM = 1
_BVLC_LAYER_NUMBERS = frozenset(f.number for f in LayerParameter.DESCRIPTOR.fields)


@dataclass
class RawBlob:
    """One BlobProto: its declared shape (new or legacy 4-D) and its data."""

    data: np.ndarray  # 1-D float32, usually a view over the mapped file
    shape: tuple[int, ...] | None = None
    legacy_shape: tuple[int, int, int, int] | None = None

    def declared_shape(self) -> tuple[int, ...]:
        if self.shape is not None:
            return self.shape
        if self.legacy_shape is not None:
            return self.legacy_shape
        return (self.data.size,)


@dataclass
class WeightFile:
    path: str
    net_name: str = ""
    format: str = "layer"  # "layer", "v1" or "v0"
    blobs: dict[str, list[RawBlob]] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)
    # layer name -> field number -> serialized payloads of LayerParameter fields BVLC lacks
    unknown_fields: dict[str, dict[int, list[bytes]]] = field(default_factory=dict)

    def fork_param(self, layer: str, name: str):
        """The declared fork block `name` (register_param, load_proto) stored with `layer`, as a
        typed ParamValue; None when the caffemodel has no such block for that layer."""
        from .params import declared, decode_wire_param

        param = declared(name)
        chunks = self.unknown_fields.get(layer, {}).get(param.number) if param is not None else None
        if param is not None and not chunks:
            return None
        return decode_wire_param(name, chunks or [], f"{self.path}: layer '{layer}'")

    @property
    def nbytes(self) -> int:
        return sum(b.data.nbytes for blobs in self.blobs.values() for b in blobs)


def read_caffemodel(path: str | os.PathLike) -> WeightFile:
    """Parse a caffemodel; raise WeightsError naming the file and byte offset on damage."""
    path = str(path)
    buf = _map_file(path)
    weights = WeightFile(path)
    context = {"layer": None}
    try:
        _read_net(buf, weights, context)
    except WireError as exc:
        where = f" in layer '{context['layer']}'" if context["layer"] else ""
        what = ("It looks like a text prototxt: pass the binary .caffemodel as weights."
                if _looks_like_text(buf) else
                "The file is truncated or corrupt, or it is not a binary Caffe model.")
        raise WeightsError(f"{path}: not a valid caffemodel: {exc} (byte {exc.offset}{where}). {what}") from None
    if not weights.blobs and not weights.types:
        hint = " It looks like a text prototxt: pass the binary .caffemodel." if _looks_like_text(buf) else ""
        raise WeightsError(f"{path}: contains no Caffe layers; not a caffemodel.{hint}")
    return weights


def _map_file(path: str):
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size == 0:
                raise WeightsError(f"{path}: the caffemodel is empty (0 bytes).")
            return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as exc:
        raise WeightsError(f"{path}: cannot read the caffemodel: {exc.strerror}.") from None


def _looks_like_text(buf) -> bool:
    head = bytes(buf[:256])
    return (b"layer" in head or b"name:" in head) and all(32 <= c < 127 or c in b"\r\n\t" for c in head)


def _read_net(buf, weights: WeightFile, context: dict) -> None:
    for fld in iter_fields(buf, 0, len(buf)):
        if fld.number == NET_NAME and fld.wire_type == LEN:
            weights.net_name = read_string(buf, fld)
        elif fld.number == NET_LAYER and fld.wire_type == LEN:
            _read_layer(buf, fld, (LAYER_NAME, LAYER_TYPE, LAYER_BLOBS), weights, context)
        elif fld.number == NET_LAYERS_V1 and fld.wire_type == LEN:
            weights.format = "v1"
            _read_v1_layer(buf, fld, weights, context)


def _read_layer(buf, msg: Field, numbers, weights: WeightFile, context: dict) -> None:
    name_no, type_no, blobs_no = numbers
    name, layer_type, blobs, unknown = "", "", [], {}
    keep_unknown = numbers == (LAYER_NAME, LAYER_TYPE, LAYER_BLOBS)  # not V0 layers
    for fld in iter_fields(buf, msg.start, msg.end):
        if fld.number == name_no:
            name = read_string(buf, fld)
            context["layer"] = name
        elif fld.number == type_no and fld.wire_type == LEN:
            layer_type = read_string(buf, fld)
        elif fld.number == blobs_no and fld.wire_type == LEN:
            blobs.append(_read_blob(buf, fld))
        elif keep_unknown and fld.wire_type == LEN and fld.number not in _BVLC_LAYER_NUMBERS:
            unknown.setdefault(fld.number, []).append(bytes(buf[fld.start:fld.end]))
    _store(weights, name, layer_type, blobs)
    if unknown:
        weights.unknown_fields[name] = unknown


def _read_v1_layer(buf, msg: Field, weights: WeightFile, context: dict) -> None:
    name, layer_type, blobs = "", "", []
    for fld in iter_fields(buf, msg.start, msg.end):
        if fld.number == V1_NAME:
            name = read_string(buf, fld)
            context["layer"] = name
        elif fld.number == V1_TYPE and fld.wire_type == 0:
            layer_type = f"V1:{fld.value}"
        elif fld.number == V1_BLOBS and fld.wire_type == LEN:
            blobs.append(_read_blob(buf, fld))
        elif fld.number == V1_V0LAYER and fld.wire_type == LEN:
            weights.format = "v0"
            _read_layer(buf, fld, (V0_NAME, V0_TYPE, V0_BLOBS), weights, context)
    if name or blobs:
        _store(weights, name, layer_type, blobs)


def _store(weights: WeightFile, name: str, layer_type: str, blobs: list[RawBlob]) -> None:
    # Caffe's CopyTrainedLayersFrom lets a later layer of the same name win too.
    weights.types[name] = layer_type
    if blobs:
        weights.blobs[name] = blobs


def _read_blob(buf, msg: Field) -> RawBlob:
    chunks: list[np.ndarray] = []
    loose: list[int] = []  # non-packed floats, as written by very old writers
    shape = None
    legacy = [None, None, None, None]
    for fld in iter_fields(buf, msg.start, msg.end):
        if fld.number == BLOB_DATA:
            if fld.wire_type == LEN:
                chunks.append(_packed_array(buf, fld, "<f4"))
            elif fld.wire_type == FIXED32:
                loose.append(fld.value)
        elif fld.number == BLOB_DOUBLE_DATA:
            if fld.wire_type == LEN:
                chunks.append(_packed_array(buf, fld, "<f8").astype(np.float32))
            elif fld.wire_type == FIXED64:
                chunks.append(np.array([fld.value], np.uint64).view("<f8").astype(np.float32))
        elif fld.number == BLOB_SHAPE and fld.wire_type == LEN:
            shape = _read_shape(buf, fld)
        elif BLOB_NUM <= fld.number <= BLOB_WIDTH and fld.wire_type == 0:
            legacy[fld.number - 1] = as_signed64(fld.value)
    if loose:
        chunks.append(np.array(loose, np.uint32).view("<f4"))
    data = _join(chunks)
    legacy_shape = tuple(d or 0 for d in legacy) if any(d is not None for d in legacy) else None
    return RawBlob(data=data, shape=shape, legacy_shape=legacy_shape)


def _read_shape(buf, msg: Field) -> tuple[int, ...]:
    dims: list[int] = []
    for fld in iter_fields(buf, msg.start, msg.end):
        if fld.number == SHAPE_DIM:
            dims.extend(as_signed64(v) for v in read_packed_varints(buf, fld))
    return tuple(dims)


def _packed_array(buf, fld: Field, dtype: str) -> np.ndarray:
    itemsize = np.dtype(dtype).itemsize
    length = fld.end - fld.start
    if length % itemsize:
        raise WireError(f"packed data of {length} bytes is not a whole number of values", fld.start)
    return np.frombuffer(buf, dtype=dtype, count=length // itemsize, offset=fld.start)


def _join(chunks: list[np.ndarray]) -> np.ndarray:
    if not chunks:
        return np.zeros(0, np.float32)
    if len(chunks) == 1:
        return chunks[0]
    return np.concatenate(chunks).astype(np.float32, copy=False)

