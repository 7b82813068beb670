"""Write protobuf messages whose large payloads are numpy arrays, streaming:
the bytes of each array go to the file as they are, never through Python lists
or one big serialized buffer. Used for caffemodels and large ONNX models."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

VARINT, LEN = 0, 2


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def key(number: int, wire_type: int) -> bytes:
    return varint(number << 3 | wire_type)


class Chunks:
    """A message as a list of byte strings and arrays, with its exact length."""

    def __init__(self):
        self.parts: list = []
        self.length = 0

    def raw(self, data: bytes) -> Chunks:
        self.parts.append(data)
        self.length += len(data)
        return self

    def field_bytes(self, number: int, data: bytes) -> Chunks:
        return self.raw(key(number, LEN) + varint(len(data)) + data)

    def field_array(self, number: int, array: np.ndarray) -> Chunks:
        """A length-delimited field whose payload is the array's little-endian bytes."""
        array = np.ascontiguousarray(array)
        if array.dtype.byteorder == ">":
            array = array.astype(array.dtype.newbyteorder("<"))
        self.raw(key(number, LEN) + varint(array.nbytes))
        self.parts.append(array)
        self.length += array.nbytes
        return self

    def field_message(self, number: int, message: Chunks) -> Chunks:
        self.raw(key(number, LEN) + varint(message.length))
        self.parts.extend(message.parts)
        self.length += message.length
        return self

    def field_varint(self, number: int, value: int) -> Chunks:
        return self.raw(key(number, VARINT) + varint(value & 0xFFFFFFFFFFFFFFFF))

    def write_to(self, handle) -> None:
        for part in self.parts:
            handle.write(memoryview(part).cast("B") if isinstance(part, np.ndarray) else part)


def packed_varints(values: Iterable[int]) -> bytes:
    return b"".join(varint(v & 0xFFFFFFFFFFFFFFFF) for v in values)
