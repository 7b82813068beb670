"""The emitter registries: one per family of targets, and which target uses which.

A family is the code a layer's emitter writes: ONNX nodes ("onnx"), PyTorch
module source ("pytorch"), Keras source ("tensorflow": the tensorflow and tflite
targets both convert through Keras). The registries live in small modules that
import no framework, so a plugin registers its emitters at import time for free.
"""

from __future__ import annotations

import importlib

from ..registry import Registry

# family -> "module:attribute" of its registry
_REGISTRIES = {
    "onnx": "caffe2x.targets.onnx.registry:ONNX_EMITTERS",
    "pytorch": "caffe2x.targets.torch.base:TORCH_EMITTERS",
    "tensorflow": "caffe2x.targets.tensorflow.base:KERAS_EMITTERS",
}
EMITTER_FAMILIES = tuple(_REGISTRIES)

# Layer types the graph builder removes or turns into net inputs: no target emits them.
FRONT_END_TYPES = frozenset({"Input", "Split", "Silence"})

# (family, layer type) -> why that family cannot express the type. A layer type listed
# here is reported as unsupported by those targets, with the reason, before any work.
UNSUPPORTED: dict[tuple[str, str], str] = {}


def emitter_registry(family: str) -> Registry:
    """The emitter registry of a family ("onnx", "pytorch" or "tensorflow")."""
    if family not in _REGISTRIES:
        raise KeyError(f"unknown emitter family '{family}'; choose from {', '.join(EMITTER_FAMILIES)}")
    module, attribute = _REGISTRIES[family].split(":")
    return getattr(importlib.import_module(module), attribute)


def mark_unsupported(family: str, layer_type: str, reason: str) -> None:
    """Record that `family` cannot express `layer_type`, and why (shown to users)."""
    emitter_registry(family)  # the family must exist
    UNSUPPORTED[(family, layer_type)] = reason


def missing_emitters(family: str, layers: list[tuple[str, str]]) -> dict[str, list[str]]:
    """The (name, type) pairs whose type the family has no emitter for, grouped by type."""
    from ..layers.expand import EXPANSIONS

    registry = emitter_registry(family)
    # An expanded type (SPP) reaches the targets as the layers it expands to, each checked then.
    return registry.missing([(name, kind) for name, kind in layers
                             if kind not in FRONT_END_TYPES and kind not in EXPANSIONS])


def reasons(family: str, layer_types) -> dict[str, str]:
    """The recorded reasons why `family` does not express some of `layer_types`."""
    return {t: UNSUPPORTED[(family, t)] for t in layer_types if (family, t) in UNSUPPORTED}
