"""Read a text .prototxt into a current-format NetParameter."""

from __future__ import annotations

import os

from google.protobuf import text_format

from ..errors import PrototxtError
from ..schema import NetParameter
from .upgrade import upgrade_net


def parse_prototxt_text(text: str, source: str = "<string>") -> NetParameter:
    """Parse prototxt text; errors carry the source name, line and column."""
    from .params.blocks import attach_fork_blocks, split_fork_blocks

    net = NetParameter()
    blanked, fork_blocks, v1_fork_blocks = split_fork_blocks(text)  # blocks of a fork's schema: kept for plugins
    try:
        text_format.Parse(blanked, net)
    except text_format.ParseError as exc:
        where = f"line {exc.GetLine()}, column {exc.GetColumn()}" if exc.GetLine() else "?"
        detail = str(exc).split(" : ", 1)[-1]
        raise PrototxtError(f"{source}: {where}: {detail}") from None
    attach_fork_blocks(net, fork_blocks, v1_fork_blocks, text, source)
    return upgrade_net(net, source)


def read_prototxt(path: str | os.PathLike) -> NetParameter:
    path = str(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise PrototxtError(f"{path}: cannot read the prototxt: {exc.strerror}.") from None
    if b"\x00" in raw[:4096]:
        raise PrototxtError(
            f"{path}: is a binary file, not a text prototxt (a caffemodel? pass it with -w)."
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PrototxtError(f"{path}: byte {exc.start} is not valid UTF-8 text.") from None
    return parse_prototxt_text(text, path)
