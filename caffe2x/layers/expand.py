"""Layer types that Caffe itself implements as a composition of other layers (SPPLayer
runs Split, Pooling, Flatten and Concat layers inside): the graph builder replaces such a
layer by those layers, so every target runs the same, already exact, rules. An expansion
is (layer, bottom shapes) -> LayerParameters; the last one writes the layer's tops and
bears its name."""

from __future__ import annotations

from collections.abc import Callable

EXPANSIONS: dict[str, Callable] = {}


def register_expansion(layer_type: str, expand: Callable) -> None:
    EXPANSIONS[layer_type] = expand
