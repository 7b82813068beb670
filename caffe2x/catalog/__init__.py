"""Every Caffe layer type caffe2x reads: where it comes from, what each target does with
it and the parameters it honours (`caffe2x layers`, and the README's layer table).

Everything is read from the registries and tables the rest of caffe2x uses, so the
catalog cannot disagree with them: the layer definitions (LAYERS), the reference
kernels, the emitter registries of each target family with their recorded reasons
(caffe2x.targets.emitters), the data and training-only types (caffe2x.layers), and
the origin table (caffe2x.forks). A type registered by a module outside caffe2x (a
plugin, --plugin) is "plugin MODULE"; a built-in type missing from the origin table
is "unknown", which a test refuses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..forks import origin
from ..layers import DATA_TYPES, LAYERS, TRAINING_ONLY_TYPES
from ..layers.expand import EXPANSIONS
from ..reference import REFERENCE
from ..targets import TARGETS
from ..targets.emitters import EMITTER_FAMILIES, FRONT_END_TYPES, UNSUPPORTED, emitter_registry, missing_emitters
from .params import honoured_params, params_read_by

UNKNOWN = "unknown"

# What becomes of a layer of the type: converted ("layer"), a net input ("input": Input and
# the data layers), removed by the graph builder ("removed": Split, Silence) or dropped
# with its tops because it only means something in training ("dropped").
LAYER, INPUT, REMOVED, DROPPED = "layer", "input", "removed", "dropped"


@dataclass(frozen=True)
class Support:
    """Whether a target expresses the type; if not, the recorded reason (or "no emitter")."""

    supported: bool
    reason: str | None = None


@dataclass(frozen=True)
class LayerEntry:
    type: str
    origin: str  # "BVLC master", a fork (caffe2x.forks), "plugin MODULE" or "unknown"
    role: str  # LAYER, INPUT, REMOVED or DROPPED
    support: dict[str, Support]  # target name -> Support, in TARGETS order
    reference: bool  # a NumPy reference kernel exists (verify --reference builtin)
    params: tuple[str, ...]  # "block.field" honoured, in declaration order

    @property
    def builtin(self) -> bool:
        return not self.origin.startswith("plugin ")


def layer_catalog(builtin_only: bool = False) -> list[LayerEntry]:
    """Every type caffe2x reads, sorted by name (case-insensitively); with builtin_only,
    without the types plugins registered (what the README documents)."""
    types = set(LAYERS) | DATA_TYPES | TRAINING_ONLY_TYPES
    entries = [_entry(t) for t in sorted(types, key=lambda t: (t.lower(), t))]
    return [e for e in entries if e.builtin] if builtin_only else entries


def layer_origin(layer_type: str) -> str:
    """Where a type comes from: the plugin module that registered it, else the origin table."""
    plugin = plugin_module(layer_type)
    if plugin:
        return f"plugin {plugin}"
    return origin(layer_type) or UNKNOWN


def plugin_module(layer_type: str) -> str | None:
    """The module outside caffe2x whose code handles the type (its shape rule, parse
    step, kernel or an emitter), or None for a type caffe2x itself handles."""
    for handler in _handlers(layer_type):
        module = getattr(handler, "__module__", None) or ""
        if module and module != "caffe2x" and not module.startswith("caffe2x."):
            return module
    return None


def _handlers(layer_type: str) -> list:
    handlers = []
    if layer_type in LAYERS:
        definition = LAYERS.get(layer_type)
        handlers += [definition.parse, getattr(definition.parse, "fork_build", None), definition.infer,
                     definition.weights, definition.flops]
    if layer_type in REFERENCE:
        handlers.append(REFERENCE.get(layer_type))
    for family in EMITTER_FAMILIES:
        registry = emitter_registry(family)
        if layer_type in registry:
            handlers.append(registry.get(layer_type))
    return [h for h in handlers if h is not None]


def _role(layer_type: str) -> str:
    if layer_type == "Input" or layer_type in DATA_TYPES:
        return INPUT
    if layer_type in FRONT_END_TYPES:
        return REMOVED
    return DROPPED if layer_type in TRAINING_ONLY_TYPES else LAYER


def _support(layer_type: str, role: str) -> dict[str, Support]:
    support = {}
    for target in TARGETS:
        # The one rule of what a target lacks (an expanded type such as SPP lacks nothing).
        if role != LAYER or not missing_emitters(target.emitters, [(layer_type, layer_type)]):
            support[target.name] = Support(True)
        else:
            support[target.name] = Support(False, UNSUPPORTED.get((target.emitters, layer_type), "no emitter"))
    return support


def _params(layer_type: str, role: str) -> tuple[str, ...]:
    if layer_type in LAYERS:
        return tuple(honoured_params(layer_type))
    if role == INPUT:
        return tuple(_data_layer_params(layer_type))
    return ()


def _data_layer_params(layer_type: str) -> list[str]:
    """The fields of a data layer's own block (DummyData: dummy_data_param) that the front end
    reads to shape its tops; none for those whose shape only --input-shape gives."""
    from ..frontend.inputs import declared_shapes

    block = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", layer_type).lower() + "_param"
    return [p for p in params_read_by(declared_shapes) if p.startswith(block + ".")]


def _entry(layer_type: str) -> LayerEntry:
    role = _role(layer_type)
    return LayerEntry(layer_type, layer_origin(layer_type), role, _support(layer_type, role),
                      layer_type in REFERENCE or layer_type in EXPANSIONS or role != LAYER, _params(layer_type, role))
