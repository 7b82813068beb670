"""Minimal protobuf wire-format scanner.

Used for caffemodels: we walk the message structure ourselves so that the
float payloads can become numpy views over the memory-mapped file instead
of being copied element by element into Python lists.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

VARINT, FIXED64, LEN, FIXED32 = 0, 1, 2, 5


class WireError(ValueError):
    """Malformed wire data at byte `offset`."""

    def __init__(self, message: str, offset: int):
        super().__init__(message)
        self.offset = offset


@dataclass(frozen=True)
class Field:
    number: int
    wire_type: int
    value: int  # the varint / fixed value, or the payload start for LEN
    end: int  # payload end for LEN; position after the field otherwise

    @property
    def start(self) -> int:
        return self.value


def read_varint(buf, pos: int, end: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if pos >= end:
            raise WireError("varint runs past the end of its message", pos)
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise WireError("varint longer than 10 bytes", pos)


def iter_fields(buf, start: int, end: int) -> Iterator[Field]:
    """Yield the fields of the message in buf[start:end], checking every bound."""
    pos = start
    while pos < end:
        key, pos = read_varint(buf, pos, end)
        number, wire_type = key >> 3, key & 7
        if number == 0:
            raise WireError("field number 0 is invalid", pos)
        if wire_type == VARINT:
            value, pos = read_varint(buf, pos, end)
            yield Field(number, wire_type, value, pos)
        elif wire_type == LEN:
            length, pos = read_varint(buf, pos, end)
            if pos + length > end:
                raise WireError(
                    f"field {number} declares {length} bytes but only {end - pos} remain", pos
                )
            yield Field(number, wire_type, pos, pos + length)
            pos += length
        elif wire_type in (FIXED64, FIXED32):
            size = 8 if wire_type == FIXED64 else 4
            if pos + size > end:
                raise WireError(f"fixed-size field {number} runs past the end", pos)
            value = int.from_bytes(buf[pos : pos + size], "little")
            pos += size
            yield Field(number, wire_type, value, pos)
        else:
            raise WireError(f"wire type {wire_type} (field {number}) is not valid here", pos)


def read_packed_varints(buf, field: Field) -> list[int]:
    """A repeated integer field, packed (LEN) or a single unpacked varint."""
    if field.wire_type == VARINT:
        return [field.value]
    values = []
    pos = field.start
    while pos < field.end:
        value, pos = read_varint(buf, pos, field.end)
        values.append(value)
    return values


def as_signed64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def read_string(buf, field: Field) -> str:
    if field.wire_type != LEN:
        raise WireError(f"field {field.number} should be a string", field.end)
    try:
        return bytes(buf[field.start : field.end]).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WireError(f"string field {field.number} is not valid UTF-8", field.start) from exc
