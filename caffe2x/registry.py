"""Registries map a Caffe layer type to one handler for one stage.

Each stage (core definitions, the reference executor, every emitter) owns
one Registry instance. Registering a type twice is an error unless the
caller says `replace=True`, so a plugin cannot silently shadow a built-in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from .errors import RegistryError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, stage: str):
        self.stage = stage
        self._handlers: dict[str, T] = {}

    def register(self, layer_type: str, handler: T | None = None, *, replace: bool = False):
        """Register `handler` for `layer_type`; without a handler, act as a decorator."""
        if handler is None:
            def decorator(fn: T) -> T:
                self.register(layer_type, fn, replace=replace)
                return fn
            return decorator
        if not layer_type or not isinstance(layer_type, str):
            raise RegistryError(f"{self.stage}: a layer type must be a non-empty string")
        if layer_type in self._handlers and not replace:
            raise RegistryError(
                f"{self.stage}: a handler for layer type '{layer_type}' is already registered "
                "(pass replace=True to override it deliberately)"
            )
        self._handlers[layer_type] = handler
        return handler

    def unregister(self, layer_type: str) -> None:
        self._handlers.pop(layer_type, None)

    def get(self, layer_type: str) -> T:
        return self._handlers[layer_type]

    def __contains__(self, layer_type: object) -> bool:
        return layer_type in self._handlers

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._handlers))

    def __len__(self) -> int:
        return len(self._handlers)

    def missing(self, layers: list[tuple[str, str]]) -> dict[str, list[str]]:
        """Group the (name, type) pairs whose type has no handler, by type."""
        by_type: dict[str, list[str]] = {}
        for name, layer_type in layers:
            if layer_type not in self._handlers:
                by_type.setdefault(layer_type, []).append(name)
        return by_type


Handler = Callable[..., object]
