"""Fork parameter blocks in a prototxt: cut out before protobuf parses the net,
carried on their layer, read back generically or by a declaration.

protobuf's text parser stops at the first field BVLC's schema lacks
(`norm_param`), so such blocks are taken out of the text first (blanked, so every
other line and column stays where it was) and kept on their LayerParameter as an
unknown field: number 19001 (protobuf reserves 19000-19999 for itself, so no fork
can use it) holding the block's name, position and text. Unknown fields travel
with the message through copies and upgrades, exactly as the fields of a fork's
caffemodel do. A block is cut out when it is declared (register_param,
load_proto), or when it is a `*_param` block on a layer whose type is not BVLC's;
anything else stays for protobuf to refuse, with its line.
"""

from __future__ import annotations

import functools
import re
from dataclasses import replace

from ...errors import PrototxtError, RegistryError, WeightsError
from ...forks import BVLC_LAYER_TYPES
from ..wire import LEN, VARINT, WireError, iter_fields, read_string
from ..wire_writer import Chunks
from .declare import BLOCK_FIELDS, PARAMS, declared, declared_field
from .decode import DecodeError, from_text, from_wire
from .text import TextField, TextMessage, TextSyntaxError, parse_text
from .value import ParamValue

CARRIER = 19001
_NAME, _LINE, _COLUMN, _TEXT = 1, 2, 3, 4


def _layer_fields() -> set[str]:
    from ...schema import LayerParameter

    return {f.name for f in LayerParameter.DESCRIPTOR.fields}


def _v1_fields() -> set[str]:
    from ...schema import V1LayerParameter

    return {f.name for f in V1LayerParameter.DESCRIPTOR.fields}


_PARAM_NAME = re.compile(r"[A-Za-z_]\w*_param\b")


@functools.cache
def _schema_block_names() -> frozenset[str]:
    """Every message-typed field name anywhere in BVLC's schema."""
    from ...schema import NetParameter

    names, seen, todo = set(), set(), [NetParameter.DESCRIPTOR]
    while todo:
        message = todo.pop()
        if message.full_name in seen:
            continue
        seen.add(message.full_name)
        for fld in message.fields:
            if fld.message_type is not None:
                names.add(fld.name)
                todo.append(fld.message_type)
    return frozenset(names)


def split_fork_blocks(text: str) -> tuple[str, list[list[TextField]], list[list[TextField]]]:
    """(text with the fork blocks blanked, the blocks of each top-level `layer`, those of each
    legacy `layers` entry), in order. A block is a whole fork `*_param { }`, a fork field
    inside one of BVLC's blocks (kept under the name "block.field"), or a V1 layer's fork
    enum type (kept as "v1_type"). Text this reader cannot follow is returned as is, for
    protobuf to report."""
    if not _may_have_fork_blocks(text):
        return text, [], []  # the common case, a net of BVLC's schema alone: nothing to look for
    try:
        tree = parse_text(text)
    except TextSyntaxError:
        return text, [], []
    cuts: list[tuple[int, int]] = []
    per_layer = [_layer_blocks(entry.value, text, v1=False, cuts=cuts)
                 for entry in tree.all("layer") if entry.kind == "message"]
    per_v1 = [_layer_blocks(entry.value, text, v1=True, cuts=cuts)
              for entry in tree.all("layers") if entry.kind == "message"]
    return _blank(text, cuts), per_layer, per_v1


def _layer_blocks(layer: TextMessage, text: str, v1: bool, cuts: list) -> list[TextField]:
    """The blocks to cut out of one layer (appending their spans to `cuts`)."""
    from ..upgrade import V1_TYPE_NAMES

    known = _v1_fields() if v1 else _layer_fields()
    type_field = layer.first("type")
    if v1 and type_field is None:
        return []  # a V0 layer (`layers { layer { type: "conv" } }`): upgraded by name, no fork blocks
    layer_type = type_field.value if type_field is not None else ""
    blocks = []
    if v1 and type_field is not None and type_field.kind == "identifier" and layer_type not in V1_TYPE_NAMES:
        blocks.append(replace(type_field, name=V1_TYPE))  # a fork's V1 enum type (DeepLab's INTERP)
    else:
        layer_type = V1_TYPE_NAMES.get(layer_type, layer_type) if v1 else layer_type
    for fld in layer.fields:
        if fld.kind != "message":
            continue
        extensions = _declared_block_fields(fld) if fld.name in known else []
        if _is_fork_block(fld, layer_type, known, _blank_in(text, fld, extensions), v1):
            blocks.append(fld)
        else:
            blocks.extend(replace(ext, name=f"{fld.name}.{ext.name}") for ext in extensions)
    cuts.extend((b.start, b.end) for b in blocks)
    return blocks


V1_TYPE = "v1_type"


def _declared_block_fields(block: TextField) -> list[TextField]:
    """The fields of one of BVLC's blocks that forks add and register_field declared."""
    return [f for f in block.value.fields if declared_field(block.name, f.name) is not None]


def _blank_in(text: str, block: TextField, fields: list[TextField]) -> str:
    """The block's own text with `fields` blanked out (only the block is copied)."""
    return _blank(text[block.start:block.end], [(f.start - block.start, f.end - block.start) for f in fields])


def _may_have_fork_blocks(text: str) -> bool:
    """A cheap scan: some `*_param` name BVLC's schema lacks, a declared block's or field's
    name, or a legacy `layers` net (whose types may be a fork's enum values)."""
    known = _schema_block_names()
    if any(name not in known for name in set(_PARAM_NAME.findall(text))):
        return True
    others = [name for name in PARAMS if not name.endswith("_param")] + [name for _, name in BLOCK_FIELDS]
    return (any(re.search(rf"\b{re.escape(name)}\b", text) for name in others)
            or re.search(r"\blayers\s*[{<]", text) is not None)


def _is_fork_block(fld: TextField, layer_type: str, known: set[str], block_text: str, v1: bool) -> bool:
    if fld.name in known:
        # A fork's own layer may extend one of BVLC's blocks: the SSD fork's AnnotatedData writes
        # transform_param { resize_param { ... } distort_param { ... } }. Such a block, which BVLC's
        # message refuses, is kept generically like the fork's own blocks.
        return layer_type not in BVLC_LAYER_TYPES and not _fits_bvlc(block_text, v1)
    if declared(fld.name) is not None:
        return True
    return fld.name.endswith("_param") and layer_type not in BVLC_LAYER_TYPES


def _fits_bvlc(field_text: str, v1: bool = False) -> bool:
    """Whether one `name { ... }` field of a layer reads by BVLC's LayerParameter (V1's for
    a legacy `layers` entry)."""
    from google.protobuf import text_format

    from ...schema import LayerParameter, V1LayerParameter

    try:
        text_format.Parse(field_text, V1LayerParameter() if v1 else LayerParameter())
    except text_format.ParseError:
        return False
    return True


def _blank(text: str, cuts: list[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in cuts:
        for i in range(start, end):
            if chars[i] != "\n":
                chars[i] = " "
    return "".join(chars)


def attach_fork_blocks(net, per_layer: list[list[TextField]], per_v1: list[list[TextField]], text: str,
                       source: str) -> None:
    """Put each layer's blocks on it (as carrier fields); check the declared ones now."""
    pairs = [*zip(net.layer, per_layer), *zip(net.layers, per_v1)]
    for layer, blocks in pairs:
        for i, block in enumerate(blocks):
            if any(other.name == block.name for other in blocks[:i]):
                raise PrototxtError(f"{source}: line {block.line}, column {block.column}: layer '{layer.name}' "
                                    f"has a second '{block.name}' block")
            param = declared(block.name)
            if param is not None:
                _typed(param, block, source)
            payload = (Chunks().field_bytes(_NAME, block.name.encode()).field_varint(_LINE, block.line)
                       .field_varint(_COLUMN, block.column)
                       .field_bytes(_TEXT, text[block.start:block.end].encode("utf-8", "surrogateescape")))
            layer.MergeFromString(b"".join(Chunks().field_message(CARRIER, payload).parts))


def _typed(param, block: TextField, source: str) -> ParamValue:
    try:
        return from_text(param.message, block.value)
    except DecodeError as exc:
        at = exc.field or block
        raise PrototxtError(f"{source}: line {at.line}, column {at.column}: {param.name}: {exc}") from None


def _unknown_fields(layer):
    from ...schema import LayerParameter

    known = LayerParameter.DESCRIPTOR.fields_by_number
    buf = layer.SerializeToString()
    return buf, [f for f in iter_fields(buf, 0, len(buf)) if f.number not in known]


def fork_blocks(layer) -> dict[str, TextField]:
    """The fork blocks a prototxt gave this layer, as generic trees (name -> TextField whose
    value is a TextMessage: field names, scalars as written, enum identifiers)."""
    buf, unknown = _unknown_fields(layer)
    blocks = {}
    for carrier in (f for f in unknown if f.number == CARRIER and f.wire_type == LEN):
        name, line, column, body = "", 1, 1, ""
        for fld in iter_fields(buf, carrier.start, carrier.end):
            if fld.number == _NAME:
                name = read_string(buf, fld)
            elif fld.number in (_LINE, _COLUMN) and fld.wire_type == VARINT:
                line, column = (fld.value, column) if fld.number == _LINE else (line, fld.value)
            elif fld.number == _TEXT:
                body = bytes(buf[fld.start:fld.end]).decode("utf-8", "surrogateescape")
        (block,) = parse_text(body, line, column).fields
        blocks[name] = block
    return blocks


def unknown_layer_fields(layer) -> dict[int, list[bytes]]:
    """Message fields of a LayerParameter its schema does not know, by number: their
    serialized payloads, as a fork-built message holds them (the same form as
    WeightFile.unknown_fields); the prototxt carriers are left out."""
    buf, unknown = _unknown_fields(layer)
    out: dict[int, list[bytes]] = {}
    for fld in unknown:
        if fld.number != CARRIER and fld.wire_type == LEN:
            out.setdefault(fld.number, []).append(bytes(buf[fld.start:fld.end]))
    return out


def fork_param(layer, name: str, source: str = "<net>") -> ParamValue:
    """The declared fork block `name` of a layer as a typed ParamValue (defaults when the
    layer has none): from the prototxt's block, else from the field's number."""
    param = declared(name)
    if param is None:
        raise RegistryError(f"no declaration for the fork block '{name}': declare it with "
                            "caffe2x.register_param or load the fork's schema (caffe2x.load_proto, --caffe-proto)")
    block = fork_blocks(layer).get(name)
    if block is not None:
        return _typed(param, block, source)
    raw = unknown_layer_fields(layer).get(param.number)
    return decode_wire_param(name, raw or [], f"layer '{layer.name}'")


def decode_wire_param(name: str, chunks: list[bytes], where: str) -> ParamValue:
    """A declared block from its serialized occurrences; several are concatenated, which is
    how protobuf merges repeated occurrences of a message field."""
    param = declared(name)
    if param is None:
        raise RegistryError(f"no declaration for the fork block '{name}'")
    try:
        return from_wire(param.message, b"".join(chunks))
    except WireError as exc:
        raise WeightsError(f"{where}: {name} (field {param.number}) is not a valid "
                           f"{param.message.name}: {exc} (byte {exc.offset})") from None


def carrier_bytes(message) -> bytes:
    """The serialized carrier fields of a message (a V1 layer's, to move onto its upgrade)."""
    buf = message.SerializeToString()
    parts = [bytes(buf[f.start:f.end]) for f in iter_fields(buf, 0, len(buf))
             if f.number == CARRIER and f.wire_type == LEN]
    chunks = Chunks()
    for part in parts:
        chunks.field_bytes(CARRIER, part)
    return b"".join(chunks.parts)


def block_field(layer, block: str, name: str, source: str = "<net>"):
    """A fork's field inside BVLC's block `block` (declared with register_field), typed;
    its default when the prototxt does not write it."""
    from .declare import ParamMessage

    declaration = declared_field(block, name)
    if declaration is None:
        raise RegistryError(f"no declaration for the fork field {block}.{name}: declare it with register_field")
    carried = fork_blocks(layer).get(declaration.path)
    if carried is None:
        return declaration.field.default_value()
    message = ParamMessage(declaration.path, declaration.field)
    carried = replace(carried, name=name)
    try:
        return getattr(from_text(message, TextMessage((carried,))), name)
    except DecodeError as exc:
        raise PrototxtError(f"{source}: line {carried.line}, column {carried.column}: {declaration.path}: "
                            f"{exc}") from None
