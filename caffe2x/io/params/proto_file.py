"""Read a fork's caffe.proto (messages, enums, fields, defaults) into declarations.

A small reader of the .proto language, enough for Caffe schemas: `message` and
`enum` (nested too), fields with label, type, name, number and `[default = ..]`,
`oneof` (its fields read as optional ones); `syntax`, `package`, `import`, `option`,
`reserved`, `extensions` and `extend`/`service` blocks are skipped. No protoc is
needed, so it works in any installation.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field

from ...errors import RegistryError, SchemaError
from .declare import SCALAR_TYPES, Enum, Field, LayerParam, ParamMessage, register_param

_TOKEN = re.compile(r"""
    (?P<space>\s+|//[^\n]*|/\*.*?\*/)
  | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<word>[A-Za-z0-9_.+-]+)
  | (?P<punct>[{}\[\]()<>=;,:])
""", re.VERBOSE | re.DOTALL)


@dataclass
class _FieldSpec:
    label: str
    type_name: str
    name: str
    number: int
    default: str | None
    line: int


@dataclass
class _MessageSpec:
    full_name: str
    fields: list[_FieldSpec] = field(default_factory=list)


class _Parser:
    def __init__(self, text: str, source: str):
        self.source = source
        self.tokens: list[tuple[str, int]] = []  # (text, line)
        pos, line = 0, 1
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if match is None:
                self.fail(f"unexpected character {text[pos]!r}", line)
            if match.lastgroup != "space":
                self.tokens.append((match.group(), line))
            line += match.group().count("\n")
            pos = match.end()
        self.index = 0
        self.package = ""
        self.messages: dict[str, _MessageSpec] = {}
        self.enums: dict[str, Enum] = {}

    def fail(self, message: str, line: int | None = None):
        line = line if line is not None else (self.tokens[min(self.index, len(self.tokens) - 1)][1]
                                              if self.tokens else 1)
        raise SchemaError(f"{self.source}: line {line}: {message}")

    def peek(self) -> str | None:
        return self.tokens[self.index][0] if self.index < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        if self.index >= len(self.tokens):
            self.fail("unexpected end of file")
        token = self.tokens[self.index][0]
        if expected is not None and token != expected:
            self.fail(f"expected '{expected}', found '{token}'")
        self.index += 1
        return token

    def line(self) -> int:
        return self.tokens[min(self.index, len(self.tokens) - 1)][1]

    def skip_statement(self) -> None:
        """Up to and including the next ';' or a balanced { } block."""
        depth = 0
        while True:
            token = self.take()
            if token == "{":
                depth += 1
            elif token == "}":
                depth -= 1
                if depth <= 0:
                    return
            elif token == ";" and depth == 0:
                return

    def file(self) -> None:
        while self.peek() is not None:
            token = self.peek()
            if token == "package":
                self.take()
                self.package = self.take()
                self.take(";")
            elif token == "message":
                self.message("." + self.package if self.package else "")
            elif token == "enum":
                self.enum("." + self.package if self.package else "")
            elif token == ";":
                self.take()
            else:  # syntax, import, option, extend, service
                self.skip_statement()

    def message(self, scope: str) -> None:
        self.take("message")
        spec = _MessageSpec(f"{scope}.{self.take()}")
        self.messages[spec.full_name] = spec
        self.take("{")
        self.body(spec)

    def body(self, spec: _MessageSpec) -> None:
        while self.peek() != "}":
            token = self.peek()
            if token is None:
                self.fail(f"message {spec.full_name.lstrip('.')} is not closed")
            if token == "message":
                self.message(spec.full_name)
            elif token == "enum":
                self.enum(spec.full_name)
            elif token == "oneof":
                self.take()
                self.take()
                self.take("{")
                self.body(spec)
            elif token in ("option", "reserved", "extensions", "extend"):
                self.skip_statement()
            elif token == ";":
                self.take()
            elif token == "map" or token == "group":
                self.fail(f"'{token}' fields are not supported")
            else:
                spec.fields.append(self.field())
        self.take("}")

    def field(self) -> _FieldSpec:
        line = self.line()
        label = self.take() if self.peek() in ("optional", "required", "repeated") else "optional"
        type_name, name = self.take(), self.take()
        self.take("=")
        number = self.take()
        if not number.isdigit():
            self.fail(f"field '{name}' has number '{number}'")
        default = None
        if self.peek() == "[":
            default = self.options()
        self.take(";")
        return _FieldSpec(label, type_name, name, int(number), default, line)

    def options(self) -> str | None:
        self.take("[")
        default = None
        while True:
            key = self.take()
            self.take("=")
            value = self.take()
            if key == "default":
                default = value
            if self.take() == "]":
                return default

    def enum(self, scope: str) -> None:
        self.take("enum")
        name = self.take()
        self.take("{")
        values: dict[str, int] = {}
        while self.peek() != "}":
            if self.peek() in ("option", "reserved"):
                self.skip_statement()
                continue
            if self.peek() == ";":
                self.take()
                continue
            value_name = self.take()
            self.take("=")
            number = self.take()
            try:
                values[value_name] = int(number, 0)
            except ValueError:
                self.fail(f"enum value {value_name} = '{number}' is not a number")
            if self.peek() == "[":
                self.options()
            self.take(";")
        self.take("}")
        self.enums[f"{scope}.{name}"] = Enum(name, values)


@dataclass
class ProtoSchema:
    """Every message and enum of one .proto, declared, by full name (".caffe.NormalizeParameter")."""

    messages: dict[str, ParamMessage]
    enums: dict[str, Enum]
    layer_fields: list[tuple[str, int, ParamMessage]]  # LayerParameter's message fields: name, number, type

    def message(self, name: str) -> ParamMessage:
        for full, message in self.messages.items():
            if full == name or full.endswith("." + name):
                return message
        raise SchemaError(f"the schema has no message '{name}'")


def _resolve(name: str, scope: str, known) -> str | None:
    """protobuf's scoping: look in the scope, then each enclosing one, up to the root."""
    if name.startswith("."):
        return name if name in known else None
    parts = scope.split(".")
    while True:
        full = ".".join([*parts, name])
        if full in known:
            return full
        if len(parts) <= 1:
            return None
        parts.pop()


def _build(parser: _Parser) -> ProtoSchema:
    messages = {full: ParamMessage(full.rsplit(".", 1)[-1]) for full in parser.messages}
    known = {*messages, *parser.enums}
    for full, spec in parser.messages.items():
        fields = []
        for f in spec.fields:
            kind = _field_type(parser, f, full, known, messages)
            default = _default(parser, f, kind) if f.default is not None else None
            fields.append(Field(f.name, f.number, kind, default, f.label == "repeated"))
        try:
            messages[full].define(*fields)
        except RegistryError as exc:
            parser.fail(str(exc))
    layer = next((m for full, m in parser.messages.items() if full.endswith(".LayerParameter")
                  or full == "LayerParameter"), None)
    layer_fields = []
    if layer is not None:
        for f in layer.fields:
            kind = _field_type(parser, f, layer.full_name, known, messages)
            if isinstance(kind, ParamMessage) and f.label != "repeated":
                layer_fields.append((f.name, f.number, kind))
    return ProtoSchema(messages, dict(parser.enums), layer_fields)


def _field_type(parser: _Parser, f: _FieldSpec, scope: str, known, messages):
    if f.type_name in SCALAR_TYPES:
        return f.type_name
    full = _resolve(f.type_name, scope, known)
    if full is not None:
        return messages.get(full) or parser.enums[full]
    bvlc = bvlc_type(f.type_name)  # a fork's file may name BVLC's own types (FillerParameter)
    if bvlc is None:
        parser.fail(f"field '{f.name}': unknown type '{f.type_name}' (neither in this file nor BVLC's schema)",
                    f.line)
    return bvlc


# protobuf's FieldDescriptor.type -> the scalar name a declaration uses
_DESCRIPTOR_SCALARS = {1: "double", 2: "float", 3: "int64", 4: "uint64", 5: "int32", 6: "fixed64", 7: "fixed32",
                       8: "bool", 9: "string", 12: "bytes", 13: "uint32", 15: "sfixed32", 16: "sfixed64",
                       17: "sint32", 18: "sint64"}


def bvlc_type(name: str):
    """BVLC's message or enum named `name` ("FillerParameter", "caffe.FillerParameter", or a
    nested "V1LayerParameter.LayerType"), as a declaration; None if BVLC has none."""
    from ...schema import NetParameter

    pool = NetParameter.DESCRIPTOR.file.pool
    full = name.lstrip(".")
    full = full if full.startswith("caffe.") else f"caffe.{full}"
    for find, convert in ((pool.FindMessageTypeByName, _message_of), (pool.FindEnumTypeByName, _enum_of)):
        try:
            return convert(find(full))
        except KeyError:
            continue
    return None


@functools.cache
def _enum_of(descriptor) -> Enum:
    return Enum(descriptor.name, {value.name: value.number for value in descriptor.values})


@functools.cache
def _message_of(descriptor) -> ParamMessage:
    message = ParamMessage(descriptor.name)
    fields = []
    for f in descriptor.fields:
        if f.message_type is not None:
            kind = _message_of(f.message_type)
        elif f.enum_type is not None:
            kind = _enum_of(f.enum_type)
        else:
            kind = _DESCRIPTOR_SCALARS[f.type]
        repeated = f.is_repeated if hasattr(f, "is_repeated") else f.label == f.LABEL_REPEATED  # protobuf 7 or older
        default = f.default_value if f.has_default_value and not repeated else None
        if isinstance(kind, Enum) and default is not None:
            default = kind.name_of(default)
        fields.append(Field(f.name, f.number, kind, default, repeated))
    return message.define(*fields)


def _default(parser: _Parser, f: _FieldSpec, kind):
    text = f.default
    try:
        if isinstance(kind, Enum):
            if text not in kind.values:
                raise ValueError
            return text
        if kind in ("float", "double"):
            return float(text)
        if kind == "bool":
            return {"true": True, "false": False}[text]
        if kind in ("string", "bytes"):
            from google.protobuf import text_encoding

            value = text_encoding.CUnescape(text[1:-1])
            return value.decode("utf-8") if kind == "string" else value
        return int(text, 0)
    except (ValueError, KeyError, IndexError):
        parser.fail(f"field '{f.name}': default '{text}' does not fit its type", f.line)


def read_proto(path: str | os.PathLike) -> ProtoSchema:
    """Parse a .proto file into declarations (nothing is registered)."""
    path = str(path)
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise SchemaError(f"{path}: cannot read the .proto: {exc}") from None
    parser = _Parser(text, path)
    parser.file()
    return _build(parser)


def load_proto(path: str | os.PathLike) -> list[LayerParam]:
    """Declare every parameter block a fork's caffe.proto adds to LayerParameter (the message
    fields BVLC's LayerParameter lacks, such as the SSD fork's norm_param = 206); returns them.
    Blocks BVLC already has are left to caffe2x's built-in schema."""
    from ...schema import LayerParameter

    schema = read_proto(path)
    if not schema.layer_fields:
        raise SchemaError(f"{path}: declares no LayerParameter with parameter fields; is it a Caffe schema?")
    bvlc = {f.name: f.number for f in LayerParameter.DESCRIPTOR.fields}
    declared = []
    for name, number, message in schema.layer_fields:
        if name in bvlc:
            if bvlc[name] != number:
                raise SchemaError(f"{path}: LayerParameter.{name} is number {number} here but {bvlc[name]} in "
                                  "BVLC's schema; a caffemodel could not be read by both")
            continue
        try:
            declared.append(register_param(name, number, message, source=path))
        except RegistryError as exc:
            raise SchemaError(f"{path}: {exc}") from None
    return declared
