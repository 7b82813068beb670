"""Fork parameter blocks: declarations (Python or a fork's .proto), the generic tree a
prototxt's unknown block is kept as, and the typed ParamValue a plugin reads."""

from . import fork_fields  # noqa: F401  (declares the forks' fields in BVLC's blocks)
from .blocks import block_field, decode_wire_param, fork_blocks, fork_param, unknown_layer_fields
from .declare import (
    PARAMS,
    BlockField,
    Enum,
    Field,
    LayerParam,
    ParamMessage,
    declared,
    register_field,
    register_param,
    unregister_param,
)
from .text import TextField, TextMessage
from .value import ParamValue

__all__ = [
    "PARAMS", "BlockField", "Enum", "Field", "LayerParam", "ParamMessage", "ParamValue", "TextField", "TextMessage",
    "block_field", "declared", "decode_wire_param", "fork_blocks", "fork_param", "register_field", "register_param",
    "unknown_layer_fields", "unregister_param",
]
