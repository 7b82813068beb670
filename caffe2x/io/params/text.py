"""A small reader of protobuf's text format into a generic tree.

Used for parameter blocks BVLC's schema does not know (a fork's `norm_param { ... }`):
the tree keeps field names, scalars as written, enum identifiers and nested
messages, with the line and column of every field, so a declaration can type it
later and errors can point at the line.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, replace

from google.protobuf import text_encoding

_TOKEN = re.compile(r"""
    (?P<space>[ \t\r\n\f\v]+|\#[^\n]*)
  | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<word>[A-Za-z0-9_.+]+(?:(?<=[eE])-[0-9]+)?)
  | (?P<punct>[{}<>:\[\],;-])
""", re.VERBOSE)

_CLOSE = {"{": "}", "<": ">"}


class TextSyntaxError(ValueError):
    def __init__(self, message: str, offset: int):
        super().__init__(message)
        self.offset = offset


@dataclass(frozen=True)
class Token:
    kind: str  # "string", "word" or "punct"
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class TextField:
    """One `name: value` or `name { ... }`. `kind` is "number", "identifier", "string" or
    "message"; `value` is the scalar as written (a string literal unescaped) or a TextMessage."""

    name: str
    kind: str
    value: str | TextMessage
    line: int
    column: int
    start: int  # offsets of the whole field in the parsed text
    end: int


@dataclass(frozen=True)
class TextMessage:
    fields: tuple[TextField, ...]

    def all(self, name: str) -> list[TextField]:
        return [f for f in self.fields if f.name == name]

    def first(self, name: str) -> TextField | None:
        return next((f for f in self.fields if f.name == name), None)

    def to_dict(self) -> dict:
        """name -> value (a list when the name repeats), messages as dicts."""
        out: dict = {}
        for f in self.fields:
            value = f.value.to_dict() if isinstance(f.value, TextMessage) else f.value
            if f.name in out:
                out[f.name] = [*out[f.name], value] if isinstance(out[f.name], list) else [out[f.name], value]
            else:
                out[f.name] = value
        return out


def tokenize(text: str) -> list[Token]:
    tokens, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise TextSyntaxError(f"unexpected character {text[pos]!r}", pos)
        if match.lastgroup != "space":
            tokens.append(Token(match.lastgroup, match.group(), pos, match.end()))
        pos = match.end()
    return tokens


class _Reader:
    def __init__(self, text: str, line_base: int = 1, column_base: int = 1):
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0
        self.line_base, self.column_base = line_base, column_base
        self.newlines = [i for i, c in enumerate(text) if c == "\n"]

    def where(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_left(self.newlines, offset)
        column = offset - (self.newlines[line - 1] + 1 if line else 0) + 1
        return self.line_base + line, column + (self.column_base - 1 if line == 0 else 0)

    def peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise TextSyntaxError("unexpected end of text", len(self.text))
        self.index += 1
        return token

    def message(self, close: str | None) -> TextMessage:
        fields: list[TextField] = []
        while True:
            token = self.peek()
            if token is None or (token.kind == "punct" and token.text == close):
                if close is not None:
                    self.take()  # the closing brace; at the end of the text, an error
                return TextMessage(tuple(fields))
            if token.kind == "punct" and token.text in ",;":
                self.take()
                continue
            fields.extend(self.field())

    def field(self) -> list[TextField]:
        name = self.take()
        if name.kind != "word" or not re.fullmatch(r"[A-Za-z_]\w*", name.text):
            raise TextSyntaxError(f"expected a field name, found {name.text!r}", name.start)
        colon = self.peek() is not None and self.peek().text == ":"
        if colon:
            self.take()
        if self.peek() is not None and self.peek().text == "[":
            self.take()
            values = []
            while self.peek() is None or self.peek().text != "]":
                values.append(self.value(name, colon))
                if self.peek() is not None and self.peek().text == ",":
                    self.take()
            end = self.take().end
            # Each item spans the whole `name: [...]`, so cutting one out cuts the list.
            return [replace(item, start=name.start, end=end) for item in values]
        return [self.value(name, colon)]

    def value(self, name: Token, colon: bool) -> TextField:
        token = self.take()
        line, column = self.where(name.start)
        if token.kind == "punct" and token.text in _CLOSE:
            body = self.message(_CLOSE[token.text])
            return TextField(name.text, "message", body, line, column, name.start, self.tokens[self.index - 1].end)
        if not colon:
            raise TextSyntaxError(f"expected ':' after field '{name.text}'", token.start)
        if token.kind == "string":
            parts, end = [token.text[1:-1]], token.end
            while self.peek() is not None and self.peek().kind == "string":  # adjacent literals join
                last = self.take()
                parts.append(last.text[1:-1])
                end = last.end
            try:
                value = text_encoding.CUnescape("".join(parts)).decode("utf-8", "surrogateescape")
            except ValueError as exc:
                raise TextSyntaxError(f"bad string literal: {exc}", token.start) from None
            return TextField(name.text, "string", value, line, column, name.start, end)
        sign = ""
        if token.text == "-":
            sign, token = "-", self.take()
        if token.kind != "word":
            raise TextSyntaxError(f"expected a value for field '{name.text}', found {token.text!r}", token.start)
        kind = "number" if re.match(r"[0-9.]", token.text) or sign else "identifier"
        return TextField(name.text, kind, sign + token.text, line, column, name.start, token.end)


def parse_text(text: str, line: int = 1, column: int = 1) -> TextMessage:
    """Text of message fields -> generic tree; raises TextSyntaxError (offset into text)."""
    try:
        return _Reader(text, line, column).message(None)
    except RecursionError:  # hostile nesting: protobuf's own parser reports it
        raise TextSyntaxError("messages nested too deeply", 0) from None
