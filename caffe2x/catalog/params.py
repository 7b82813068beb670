"""The parameters a layer type honours, read from the code that parses them.

No list is kept by hand: a type's parse function (LayerDef.parse) is the one place its
parameters are read, so the fields it names are the fields it honours. Its bytecode
(attribute names, string constants such as optional_field(p, "kernel_h"), and names
joined at run time from two of them, f"{name}_h" with "pad"), and that of
the functions of its own module it calls, closures included (fork_params' build), is
intersected with the fields of the parameter blocks it names: BVLC's `*_param`
messages and the declared fork blocks. A fork block read with fork_params whose build
names none of its fields (no build: the whole value is kept) honours every declared field.

tests/test_layers_command.py checks the result against what each parse function really
reads on every fixture net, so a parse that reads a field some other way is caught.
"""

from __future__ import annotations

import inspect
from types import CodeType

from ..io.params.declare import PARAMS, ParamMessage
from ..layers import LAYERS
from ..schema import LayerParameter

_MAX_DEPTH = 3  # nested messages listed: block.field.subfield.subsubfield


def honoured_params(layer_type: str) -> list[str]:
    """'block.field' for every parameter the type's parse step reads, in declaration order."""
    parse = LAYERS.get(layer_type).parse
    return params_read_by(parse, getattr(parse, "fork_block", None), getattr(parse, "fork_build", None))


def params_read_by(function, fork_block: str | None = None, fork_build=None) -> list[str]:
    """The 'block.field' paths `function` (and what it calls in its module) names."""
    names = referenced_names(function)
    blocks = _blocks()
    named = [b for b in blocks if b in names or b == fork_block]
    found = []
    for block in named:
        paths = _paths(blocks[block], names, block, 1)
        if block == fork_block and (fork_build is None or not paths):
            paths = _paths(blocks[block], None, block, 1)  # the whole block is handed on
        found += paths
    return found


def referenced_names(function) -> set[str]:
    """Attribute and global names and string constants of `function`, of the functions of
    its module it calls and of the functions its closure holds."""
    names: set[str] = set()
    _walk(function, names, set())
    # Names built at run time, f"{name}_h" from "pad" and "_h" (Caffe's pad_h/pad_w pairs).
    suffixes = {n for n in names if n.startswith("_") and 1 < len(n) <= 4}
    return names | {name + suffix for name in names for suffix in suffixes}


def _walk(function, names: set[str], seen: set[CodeType]) -> None:
    function = inspect.unwrap(function)
    code = getattr(function, "__code__", None)
    if code is None or code in seen:
        return
    seen.add(code)
    for part in _codes(code):
        names.update(part.co_names)
        names.update(_strings(part.co_consts))
        for name in part.co_names:
            callee = function.__globals__.get(name)
            if inspect.isfunction(callee) and callee.__module__ == function.__module__:
                _walk(callee, names, seen)
            elif isinstance(callee, tuple | list | frozenset | set) and all(isinstance(v, str) for v in callee):
                names.update(callee)  # a module's table of field names (the forks' BN reads them by has())
    for cell in function.__closure__ or ():
        try:
            value = cell.cell_contents
        except ValueError:  # a cell not yet filled
            continue
        if isinstance(value, str):
            names.add(value)
        elif inspect.isfunction(value):
            _walk(value, names, seen)


def _codes(code: CodeType):
    yield code
    for const in code.co_consts:
        if isinstance(const, CodeType):
            yield from _codes(const)


def _strings(consts) -> set[str]:
    """String constants, and those inside tuples (keyword names of calls)."""
    found = set()
    for const in consts:
        if isinstance(const, str):
            found.add(const)
        elif isinstance(const, tuple):
            found |= _strings(const)
    return found


def _blocks() -> dict[str, object]:
    """Every parameter block a layer can have: BVLC's messages, then the declared fork blocks."""
    blocks: dict[str, object] = {f.name: f.message_type for f in LayerParameter.DESCRIPTOR.fields
                                 if f.message_type is not None and f.name.endswith("_param")}
    blocks.update({name: param.message for name, param in PARAMS.items()})
    return blocks


def _children(message) -> list[tuple[str, object | None]]:
    """(field name, its message or None) of a protobuf descriptor or a declared ParamMessage."""
    if isinstance(message, ParamMessage):
        return [(f.name, f.type if isinstance(f.type, ParamMessage) else None) for f in message.fields.values()]
    return [(f.name, f.message_type) for f in message.fields]


def _paths(message, names: set[str] | None, prefix: str, depth: int) -> list[str]:
    """Paths of the fields of `message` in `names` (None: every field), nested ones only
    below a named field."""
    found = []
    for name, child in _children(message):
        if names is not None and name not in names:
            continue
        path = f"{prefix}.{name}"
        found.append(path)
        if child is not None and depth < _MAX_DEPTH:
            found += _paths(child, names, path, depth + 1)
    return found
