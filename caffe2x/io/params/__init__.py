"""Fork parameter blocks: declarations (Python or a fork's .proto), the generic tree a
prototxt's unknown block is kept as, and the typed ParamValue a plugin reads."""

from .blocks import decode_wire_param, fork_blocks, fork_param, unknown_layer_fields
from .declare import PARAMS, Enum, Field, LayerParam, ParamMessage, declared, register_param, unregister_param
from .text import TextField, TextMessage
from .value import ParamValue

__all__ = [
    "PARAMS", "Enum", "Field", "LayerParam", "ParamMessage", "ParamValue", "TextField", "TextMessage",
    "declared", "decode_wire_param", "fork_blocks", "fork_param", "register_param", "unknown_layer_fields",
    "unregister_param",
]
