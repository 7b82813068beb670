"""Turn arbitrary Caffe names into safe identifiers, one documented rule.

Every character outside [A-Za-z0-9_] becomes "_", a leading digit (or an
empty name) gets a "_" prefix, and a name that collides with an earlier one,
a Python keyword or a reserved word gets "_2", "_3", ... in net order.
Python identifiers (not signature keys) also never start with "__", which
Python would name-mangle inside a class.
Original names are only ever written into generated source as escaped
string literals (repr), never as code or comments.
"""

from __future__ import annotations

import keyword
import re

_INVALID = re.compile(r"[^A-Za-z0-9_]")


def sanitize(name: str) -> str:
    ident = _INVALID.sub("_", name)
    if not ident or ident[0].isdigit():
        ident = "_" + ident
    return ident


class Namer:
    """Stable unique identifiers for keys (first come, first served)."""

    def __init__(self, reserved: set[str] | frozenset[str] = frozenset(), avoid_keywords: bool = True):
        self._reserved = set(reserved)
        self._avoid_keywords = avoid_keywords
        self._used: set[str] = set()
        self._names: dict[object, str] = {}

    def __call__(self, key: object, raw: str | None = None) -> str:
        if key not in self._names:
            base = sanitize(str(key) if raw is None else raw)
            if self._avoid_keywords and base.startswith("__"):
                base = "_" + base.lstrip("_")  # "__x" would be name-mangled inside a class
                base = base if base != "_" else "_layer"
            name, index = base, 1
            while name in self._used or name in self._reserved or (self._avoid_keywords and (
                    keyword.iskeyword(name) or keyword.issoftkeyword(name))):
                index += 1
                name = f"{base}_{index}"
            self._used.add(name)
            self._names[key] = name
        return self._names[key]

    def reserve(self, name: str) -> None:
        self._reserved.add(name)

    @property
    def names(self) -> dict[object, str]:
        return dict(self._names)
