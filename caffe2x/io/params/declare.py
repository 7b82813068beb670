"""Declarations of fork parameter messages, and the registry of fork blocks.

A Caffe fork adds layer parameters as new fields of LayerParameter, e.g.
`optional NormalizeParameter norm_param = 206;`. caffe2x learns such a block from
a declaration: the LayerParameter field name and number of the block, and the
message's fields (name, number, type, default, repeated). The number is what a
caffemodel stores; the name is what a prototxt writes.

    MODE = Enum("Mode", {"FAST": 0, "SLOW": 1})
    SHAPE = ParamMessage("Shape", Field("dim", 1, "int64", repeated=True))
    MY_OP = ParamMessage("MyOpParameter",
                         Field("alpha", 1, float, default=1.0),
                         Field("mode", 2, MODE, default="FAST"),
                         Field("shape", 3, SHAPE))
    caffe2x.register_param("my_op_param", 1234, MY_OP)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Union

import numpy as np

from ...errors import RegistryError

# Protobuf scalar types: name -> (wire kind, Python type). The wire kind says how a
# caffemodel encodes the value: varint flavours, fixed 32/64-bit, or length-delimited.
SCALAR_TYPES = {
    "double": ("fixed64", float), "float": ("fixed32", float),
    "int32": ("varint", int), "int64": ("varint", int), "uint32": ("uint", int), "uint64": ("uint", int),
    "sint32": ("zigzag", int), "sint64": ("zigzag", int),
    "fixed32": ("ufixed32", int), "fixed64": ("ufixed64", int),
    "sfixed32": ("sfixed32", int), "sfixed64": ("sfixed64", int),
    "bool": ("bool", bool), "string": ("string", str), "bytes": ("bytes", bytes),
}
# Python types accepted in a declaration, as the protobuf type they stand for.
_PYTHON_TYPES = {float: "float", int: "int64", bool: "bool", str: "string", bytes: "bytes"}


@dataclass(frozen=True)
class Enum:
    """A protobuf enum: its name and value names -> numbers (in declaration order)."""

    name: str
    values: Mapping[str, int]

    def name_of(self, number: int) -> str | int:
        """The value's name; an unknown number stays an int (as protobuf keeps it)."""
        for name, value in self.values.items():
            if value == number:
                return name
        return number

    @property
    def first(self) -> str:
        """proto2's default for an enum field without [default = ...]."""
        return next(iter(self.values))


FieldType = Union[str, type, Enum, "ParamMessage"]


@dataclass(frozen=True)
class Field:
    """One field of a parameter message. `type` is a protobuf scalar name ("float",
    "uint32", ...), a Python type (float, int = int64, bool, str, bytes), an Enum or a
    ParamMessage. `default` applies when the field is absent (proto2 semantics: scalars
    0/False/"" and an enum's first value without one); a repeated field defaults to ()."""

    name: str
    number: int
    type: FieldType
    default: Any = None
    repeated: bool = False

    def __post_init__(self):
        kind = _PYTHON_TYPES.get(self.type, self.type) if isinstance(self.type, type) else self.type
        if isinstance(kind, str) and kind not in SCALAR_TYPES:
            raise RegistryError(f"field '{self.name}': unknown type '{kind}' (one of {', '.join(SCALAR_TYPES)}, "
                                "an Enum or a ParamMessage)")
        if not isinstance(kind, str | Enum | ParamMessage):
            raise RegistryError(f"field '{self.name}': type must be a scalar name, a Python type, an Enum "
                                f"or a ParamMessage, not {self.type!r}")
        if not 1 <= self.number <= 2**29 - 1:
            raise RegistryError(f"field '{self.name}': number {self.number} is not a valid field number")
        object.__setattr__(self, "type", kind)

    @property
    def scalar(self) -> str | None:
        return self.type if isinstance(self.type, str) else None

    def default_value(self):
        if self.repeated:
            return ()
        if isinstance(self.type, ParamMessage):
            from .value import ParamValue

            return ParamValue(self.type, {}, frozenset())
        if self.default is not None:
            return float(np.float32(self.default)) if self.type == "float" else self.default
        if isinstance(self.type, Enum):
            return self.type.first
        return SCALAR_TYPES[self.type][1]()


class ParamMessage:
    """A parameter message: a name and its fields. Fields are given as Field objects or
    (name, number, type[, default]) tuples; `define` adds them later (for messages that
    refer to each other, as a .proto file allows)."""

    def __init__(self, name: str, *fields: Field | tuple):
        self.name = name
        self.fields: dict[str, Field] = {}
        self.by_number: dict[int, Field] = {}
        self.define(*fields)

    def define(self, *fields: Field | tuple) -> ParamMessage:
        for item in fields:
            fld = item if isinstance(item, Field) else Field(*item)
            if fld.name in self.fields or fld.number in self.by_number:
                raise RegistryError(f"message {self.name}: field '{fld.name}' = {fld.number} is declared twice")
            self.fields[fld.name] = fld
            self.by_number[fld.number] = fld
        return self

    def __repr__(self) -> str:
        return f"ParamMessage({self.name!r}, {len(self.fields)} fields)"


@dataclass(frozen=True)
class LayerParam:
    """A fork block: `optional <message> <name> = <number>;` in the fork's LayerParameter."""

    name: str
    number: int
    message: ParamMessage
    source: str = "register_param"


PARAMS: dict[str, LayerParam] = {}


def _bvlc_layer_fields() -> tuple[set[str], set[int]]:
    from ...schema import LayerParameter

    fields = LayerParameter.DESCRIPTOR.fields
    return {f.name for f in fields}, {f.number for f in fields}


def register_param(name: str, number: int, message: ParamMessage, *, replace: bool = False,
                   source: str = "register_param") -> LayerParam:
    """Declare a fork's LayerParameter block `name` = `number` of type `message`.

    The same declaration twice (same name, number and message name) is accepted, so a
    fork schema can be loaded again; a different one needs replace=True. When the one
    already declared covers the new one (every field alike, plus extensions of its own, such
    as OpenCV's DetectionOutputParameter.clip over the SSD fork's schema), it is kept. A name or
    number BVLC's LayerParameter already uses is refused: a caffemodel could not tell
    the two apart."""
    if not isinstance(message, ParamMessage):
        raise RegistryError(f"register_param('{name}'): the message must be a ParamMessage")
    names, numbers = _bvlc_layer_fields()
    if name in names or number in numbers:
        raise RegistryError(f"fork block '{name}' = {number}: BVLC's LayerParameter already uses "
                            f"{'that name' if name in names else 'that field number'}")
    Field(name, number, message)  # checks the number
    old = PARAMS.get(name)
    same = old is not None and (old.number, old.message.name) == (number, message.name)
    if old is not None and not same and not replace:
        raise RegistryError(f"fork block '{name}' is already declared as {old.message.name} = {old.number} "
                            f"(by {old.source}); pass replace=True to override it deliberately")
    clash = next((p for p in PARAMS.values() if p.number == number and p.name != name), None)
    if clash is not None and not replace:
        raise RegistryError(f"fork block '{name}' = {number}: number {number} is already '{clash.name}' "
                            f"(by {clash.source})")
    if same and not replace and covers(old.message, message):
        return old  # the declaration already holds, with extensions of its own (OpenCV's clip)
    PARAMS[name] = LayerParam(name, number, message, source)
    return PARAMS[name]


def covers(richer: ParamMessage, other: ParamMessage, seen: set | None = None) -> bool:
    """Whether `richer` declares every field of `other` alike (name, number, type, default,
    label; nested messages alike too), possibly with more fields of its own: then a block
    read by `richer` reads everything `other` reads, and the same way."""
    seen = set() if seen is None else seen
    if (id(richer), id(other)) in seen or richer is other:
        return True
    seen.add((id(richer), id(other)))
    if richer.name != other.name:
        return False
    for fld in other.fields.values():
        mine = richer.fields.get(fld.name)
        if mine is None or (mine.number, mine.repeated, mine.default) != (fld.number, fld.repeated, fld.default):
            return False
        if isinstance(fld.type, ParamMessage):
            if not isinstance(mine.type, ParamMessage) or not covers(mine.type, fld.type, seen):
                return False
        elif mine.type != fld.type:
            return False
    return True


def unregister_param(name: str) -> None:
    PARAMS.pop(name, None)


def declared(name: str) -> LayerParam | None:
    return PARAMS.get(name)


def declared_number(number: int) -> LayerParam | None:
    return next((p for p in PARAMS.values() if p.number == number), None)


@dataclass(frozen=True)
class BlockField:
    """A field a fork adds to one of BVLC's own parameter blocks, e.g. DeepLab's
    `convolution_param { hole: 2 }` or Fast R-CNN's `dropout_param { scale_train: false }`.
    `field.number` is the fork's; forks may reuse a number for different fields of the
    same block (SegNet's sample_weights_test and Fast R-CNN's scale_train are both
    DropoutParameter field 2), so such fields are read from the prototxt, by name."""

    block: str
    field: Field
    fork: str

    @property
    def path(self) -> str:
        return f"{self.block}.{self.field.name}"


BLOCK_FIELDS: dict[tuple[str, str], BlockField] = {}


def _bvlc_block_fields(block: str) -> set[str] | None:
    """The field names of BVLC's message behind `block` (a LayerParameter or V1 field), or None."""
    from ...schema import LayerParameter, V1LayerParameter

    for message in (LayerParameter, V1LayerParameter):
        fld = message.DESCRIPTOR.fields_by_name.get(block)
        if fld is not None and fld.message_type is not None:
            return {f.name for f in fld.message_type.fields}
    return None


def register_field(block: str, field: Field, *, fork: str = "register_field") -> BlockField:
    """Declare a fork's field inside BVLC's block `block` (`convolution_param`, ...). The
    prototxt reader then takes it out of the block before protobuf parses it, and
    caffe2x.io.params.block_field reads it back typed. The same declaration twice is accepted."""
    names = _bvlc_block_fields(block)
    if names is None:
        raise RegistryError(f"register_field: '{block}' is not one of BVLC's parameter blocks")
    if field.name in names:
        raise RegistryError(f"register_field: BVLC's {block} already has a field '{field.name}'")
    old = BLOCK_FIELDS.get((block, field.name))
    if old is not None and old.field != field:
        raise RegistryError(f"{block}.{field.name} is already declared differently (by {old.fork})")
    BLOCK_FIELDS[(block, field.name)] = BlockField(block, field, fork)
    return BLOCK_FIELDS[(block, field.name)]


def declared_field(block: str, name: str) -> BlockField | None:
    return BLOCK_FIELDS.get((block, name))
