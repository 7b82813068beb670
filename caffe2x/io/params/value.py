"""The typed object a plugin gets for a declared fork block."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ParamValue:
    """A fork parameter message read by its declaration, from a prototxt or a caffemodel.

    Attribute access gives every declared field, with its default when absent:
    numbers as int or float (`float` fields rounded to float32, as Caffe holds them),
    bool, str, bytes; enums as their value names (str; a number the declaration does
    not know stays an int); nested messages as ParamValue (an absent one has all
    defaults); repeated fields as tuples. `has(name)` says whether a field was given.
    Immutable and comparable."""

    __slots__ = ("_message", "_values", "_present")

    def __init__(self, message, values: Mapping[str, Any], present: frozenset[str]):
        object.__setattr__(self, "_message", message)
        object.__setattr__(self, "_values", dict(values))
        object.__setattr__(self, "_present", present)

    @property
    def message(self):
        """The ParamMessage declaration this value was read by."""
        return self._message

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        if name in self._values:
            return self._values[name]
        field = self._message.fields.get(name)
        if field is None:
            raise AttributeError(f"{self._message.name} has no field '{name}'")
        return field.default_value()

    def __setattr__(self, name, value):
        raise AttributeError(f"{self._message.name} values are read-only")

    def has(self, name: str) -> bool:
        """Whether the field was written (False: the default applies)."""
        if name not in self._message.fields:
            raise AttributeError(f"{self._message.name} has no field '{name}'")
        return name in self._present

    def to_dict(self) -> dict[str, Any]:
        """Every declared field with its value (defaults applied), nested messages as dicts."""
        return {name: _plain(getattr(self, name)) for name in self._message.fields}

    def __eq__(self, other) -> bool:
        return (isinstance(other, ParamValue) and self._message.name == other._message.name
                and self.to_dict() == other.to_dict())

    def __hash__(self) -> int:
        return hash(self._message.name)

    def __repr__(self) -> str:
        given = ", ".join(f"{name}={self._values[name]!r}" for name in self._message.fields
                          if name in self._present)
        return f"{self._message.name}({given})"


def _plain(value):
    if isinstance(value, ParamValue):
        return value.to_dict()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value
