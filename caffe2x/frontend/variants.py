"""Layer variants: the user's explicit choice between forks' semantics under one type name.

Two forks may register the same type with the same parameter block and compute different
things (py-faster-rcnn's Proposal and pva-faster-rcnn's C++ Proposal, which OpenVINO reads):
nothing in the prototxt tells them apart, so the user names the variant (CLI
--layer-variant Proposal=pva, API layer_variants={"Proposal": "pva"}, convert-all manifest key
layer_variants). A LayerDef declares its variants (LayerDef.variants); the choice turns the
parsed params into the variant's, and graph.metadata records it (caffe2x.json).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..errors import LayerVariantError
from ..layers import LAYERS


def check_layer_variants(variants: Mapping[str, str] | None) -> dict[str, str]:
    """{type: variant} checked against the registered types' declared variants."""
    chosen = dict(variants or {})
    for layer_type, name in chosen.items():
        known = sorted(LAYERS.get(layer_type).variants) if layer_type in LAYERS else []
        if not known:
            having = [t for t in LAYERS if LAYERS.get(t).variants]
            raise LayerVariantError(f"layer variant {layer_type}={name}: caffe2x has no variants of layer type "
                                    f"'{layer_type}' (types with variants: {', '.join(having) or 'none'}).")
        if name not in known:
            raise LayerVariantError(f"layer variant {layer_type}={name}: unknown variant '{name}' of {layer_type}; "
                                    f"choose from {', '.join(known)} (without --layer-variant: the default "
                                    "semantics, see `caffe2x layers`).")
    return chosen


def parse_layer_variants(items: Iterable[str]) -> dict[str, str]:
    """CLI TYPE=NAME strings -> {type: name}; graph_from_net checks the names (check_layer_variants),
    after --plugin has registered its types."""
    chosen = {}
    for item in items:
        layer_type, sep, name = item.partition("=")
        if not sep or not layer_type.strip() or not name.strip():
            raise LayerVariantError(f"--layer-variant {item!r}: expected TYPE=NAME (e.g. Proposal=pva).")
        chosen[layer_type.strip()] = name.strip()
    return chosen


def apply_variant(variants: Mapping[str, str], layer_type: str, params):
    """The params of the variant chosen for this type; the default's where none is."""
    name = variants.get(layer_type)
    return params if name is None else LAYERS.get(layer_type).variants[name](params)
