"""Caffe names as they are shown in terminal tables: control characters escaped,
so a hostile name cannot break the table or the terminal. Data formats (JSON,
.npz keys, generated sources) always keep the exact names."""

from __future__ import annotations


def shown(name: str) -> str:
    if name.isprintable():
        return name
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in name)
