"""Read a fork block by its declaration: from a prototxt's generic tree or from the
wire bytes a caffemodel stores, into a ParamValue."""

from __future__ import annotations

import struct

import numpy as np

from ..wire import FIXED32, FIXED64, LEN, VARINT, WireError, as_signed64, iter_fields, read_varint
from .declare import SCALAR_TYPES, Enum, Field, ParamMessage
from .text import TextField, TextMessage
from .value import ParamValue

_INT_LIMITS = {"int32": (-2**31, 2**31 - 1), "sint32": (-2**31, 2**31 - 1), "sfixed32": (-2**31, 2**31 - 1),
               "uint32": (0, 2**32 - 1), "fixed32": (0, 2**32 - 1), "int64": (-2**63, 2**63 - 1),
               "sint64": (-2**63, 2**63 - 1), "sfixed64": (-2**63, 2**63 - 1), "uint64": (0, 2**64 - 1),
               "fixed64": (0, 2**64 - 1)}


class DecodeError(ValueError):
    """A block does not fit its declaration; `field` is the TextField at fault (text only)."""

    def __init__(self, message: str, field: TextField | None = None):
        super().__init__(message)
        self.field = field


def _float32(value: float) -> float:
    return float(np.float32(value))


# ---- from text ---------------------------------------------------------------------------------


def from_text(message: ParamMessage, tree: TextMessage) -> ParamValue:
    values: dict = {}
    for item in tree.fields:
        fld = message.fields.get(item.name)
        if fld is None:
            raise DecodeError(f"{message.name} has no field named '{item.name}'", item)
        value = _text_value(fld, item)
        if fld.repeated:
            values[fld.name] = (*values.get(fld.name, ()), value)
        elif fld.name in values:
            raise DecodeError(f"{message.name}.{fld.name} is given twice but is not repeated", item)
        else:
            values[fld.name] = value
    return ParamValue(message, values, frozenset(values))


def _text_value(fld: Field, item: TextField):
    if isinstance(fld.type, ParamMessage):
        if item.kind != "message":
            raise DecodeError(f"field '{fld.name}' is a message ({fld.type.name}); write {fld.name} {{ ... }}", item)
        return from_text(fld.type, item.value)
    if item.kind == "message":
        raise DecodeError(f"field '{fld.name}' is a {_type_name(fld)}, not a message", item)
    if isinstance(fld.type, Enum):
        return _text_enum(fld, item)
    return _text_scalar(fld, item)


def _type_name(fld: Field) -> str:
    return fld.type.name if isinstance(fld.type, Enum | ParamMessage) else fld.type


def _text_enum(fld: Field, item: TextField):
    if item.kind == "identifier" and item.value in fld.type.values:
        return item.value
    if item.kind == "number" and _is_int(item.value) and int(item.value, 0) in fld.type.values.values():
        return fld.type.name_of(int(item.value, 0))
    known = ", ".join(fld.type.values)
    raise DecodeError(f"'{item.value}' is not a value of enum {fld.type.name} (field '{fld.name}'; "
                      f"one of {known})", item)


def _is_int(text: str) -> bool:
    try:
        int(text, 0)
        return True
    except ValueError:
        return False


def _text_scalar(fld: Field, item: TextField):
    kind, text = fld.type, item.value
    if kind in ("string", "bytes"):
        if item.kind != "string":
            raise DecodeError(f"field '{fld.name}' is a {kind}: write it in quotes", item)
        return text if kind == "string" else text.encode("utf-8", "surrogateescape")
    if item.kind == "string":
        raise DecodeError(f"field '{fld.name}' is a {kind}, not a string", item)
    if kind == "bool":
        if text in ("true", "True", "t", "1"):
            return True
        if text in ("false", "False", "f", "0"):
            return False
        raise DecodeError(f"field '{fld.name}' is a bool: true or false, not '{text}'", item)
    if kind in ("float", "double"):
        value = _text_float(text)
        if value is None:
            raise DecodeError(f"field '{fld.name}' is a {kind}, not '{text}'", item)
        return _float32(value) if kind == "float" else value
    low, high = _INT_LIMITS[kind]
    if not _is_int(text) or not low <= int(text, 0) <= high:
        raise DecodeError(f"field '{fld.name}' is a {kind}, not '{text}'", item)
    return int(text, 0)


def _text_float(text: str) -> float | None:
    body = text.lstrip("-")
    if body.lower() in ("inf", "infinity", "nan"):
        return float(text)
    try:
        return float(text[:-1] if text[-1:] in "fF" and not body.lower().startswith("0x") else text)
    except ValueError:
        return float(int(text, 0)) if _is_int(text) else None


# ---- from wire bytes ---------------------------------------------------------------------------


def from_wire(message: ParamMessage, buf: bytes) -> ParamValue:
    """Decode one serialized message; raises WireError on damage or a wrong wire type."""
    values: dict = {}
    for item in iter_fields(buf, 0, len(buf)):
        fld = message.by_number.get(item.number)
        if fld is None:
            continue  # a field the declaration does not know: protobuf skips it too
        decoded = _wire_values(fld, buf, item)
        if fld.repeated:
            values[fld.name] = (*values.get(fld.name, ()), *decoded)
        elif decoded:
            values[fld.name] = decoded[-1]  # the last one wins, as in protobuf
    return ParamValue(message, values, frozenset(values))


def _wire_values(fld: Field, buf, item) -> list:
    if isinstance(fld.type, ParamMessage):
        _expect(fld, item, LEN)
        return [from_wire(fld.type, bytes(buf[item.start:item.end]))]
    kind = "enum" if isinstance(fld.type, Enum) else SCALAR_TYPES[fld.type][0]
    if kind in ("string", "bytes"):
        _expect(fld, item, LEN)
        raw = bytes(buf[item.start:item.end])
        try:
            return [raw.decode("utf-8") if kind == "string" else raw]
        except UnicodeDecodeError:
            raise WireError(f"string field '{fld.name}' is not valid UTF-8", item.start) from None
    if item.wire_type == LEN:  # a packed repeated scalar
        return [_scalar(fld, kind, value) for value in _unpack(kind, buf, item)]
    return [_scalar(fld, kind, item.value, item)]


_FIXED_WIRE = {"fixed32": FIXED32, "ufixed32": FIXED32, "sfixed32": FIXED32,
               "fixed64": FIXED64, "ufixed64": FIXED64, "sfixed64": FIXED64}


def _expect(fld: Field, item, wire_type: int) -> None:
    if item.wire_type != wire_type:
        raise WireError(f"field '{fld.name}' (number {fld.number}) has wire type {item.wire_type}, "
                        f"its declaration needs {wire_type}", item.start)


def _unpack(kind: str, buf, item) -> list[int]:
    size = {FIXED32: 4, FIXED64: 8}.get(_FIXED_WIRE.get(kind))
    if size is None:
        values, pos = [], item.start
        while pos < item.end:
            value, pos = read_varint(buf, pos, item.end)
            values.append(value)
        return values
    if (item.end - item.start) % size:
        raise WireError(f"packed field of {item.end - item.start} bytes is not a whole number of values", item.start)
    return [int.from_bytes(buf[p:p + size], "little") for p in range(item.start, item.end, size)]


def _scalar(fld: Field, kind: str, raw: int, item=None):
    if item is not None:
        _expect(fld, item, _FIXED_WIRE.get(kind, VARINT))
    if kind == "fixed32":
        return _float32(struct.unpack("<f", raw.to_bytes(4, "little"))[0])
    if kind == "fixed64":
        return struct.unpack("<d", raw.to_bytes(8, "little"))[0]
    if kind == "sfixed32":
        return raw - (1 << 32) if raw >= 1 << 31 else raw
    if kind == "sfixed64":
        return as_signed64(raw)
    if kind == "zigzag":
        return (raw >> 1) ^ -(raw & 1)
    if kind == "bool":
        return raw != 0
    if kind == "enum":
        return fld.type.name_of(as_signed64(raw))
    if kind == "varint":
        value = as_signed64(raw)
        return value - (1 << 32) if fld.type == "int32" and value >= 1 << 31 else value
    return raw  # uint, ufixed32, ufixed64

