"""The layer catalog as JSON (a stable, versioned document), a terminal table and the
README's Markdown table."""

from __future__ import annotations

from ..targets import TARGETS
from . import INPUT, LAYER, LayerEntry

JSON_VERSION = 1


def as_json(entries: list[LayerEntry]) -> dict:
    """{"version": 1, "targets": [...], "layers": [{"type", "origin", "role", "reference",
    "support": {target: {"supported", "reason"}}, "params": ["block.field", ...]}, ...]}"""
    return {
        "version": JSON_VERSION,
        "targets": TARGETS.names(),
        "layers": [{"type": e.type, "origin": e.origin, "role": e.role, "reference": e.reference,
                    "support": {name: {"supported": s.supported, "reason": s.reason} for name, s in e.support.items()},
                    "params": list(e.params)} for e in entries],
    }


def grouped_params(params, code: bool = False) -> str:
    """'convolution_param: num_output, kernel_size; ...' (nested fields as field.sub); with
    code, each block name in backquotes (Markdown)."""
    blocks: dict[str, list[str]] = {}
    for path in params:
        block, _, field = path.partition(".")
        blocks.setdefault(block, []).append(field)
    quote = "`" if code else ""
    return "; ".join(f"{quote}{block}{quote}: {', '.join(fields)}" for block, fields in blocks.items())


def _cell(entry: LayerEntry, target: str, markdown: bool) -> str:
    """yes / no: reason (Markdown) or no [n] (terminal, reasons listed below), or the role of
    a type no target converts (input, removed, dropped)."""
    if entry.role != LAYER:
        return entry.role
    support = entry.support[target]
    if support.supported:
        return "yes"
    return f"no: {support.reason}" if markdown else "no"


def _params_cell(entry: LayerEntry, markdown: bool) -> str:
    if entry.params:
        return grouped_params(entry.params, code=markdown)
    if entry.role == INPUT:
        from ..frontend.data_layers import SHAPE_RULES

        given = "--input-shape" if not markdown else "`--input-shape`"
        # frontend/data_layers.py computes these layers' shapes from their own parameters.
        return f"shape from its parameters, or {given}" if entry.type in SHAPE_RULES else f"shape from {given}"
    return "none" if entry.role == LAYER else "-"


def text_table(entries: list[LayerEntry]) -> str:
    """Aligned columns: type, origin, one per target, parameters; then every reason a target
    gave for not expressing a type."""
    targets = TARGETS.names()
    header = ["type", "origin", *targets, "parameters honoured"]
    rows = [[e.type, e.origin, *(_cell(e, t, False) for t in targets), _params_cell(e, False)] for e in entries]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1]
             for row in [header, *rows]]
    reasons = [f"  {e.type} on {t}: {s.reason}" for e in entries if e.role == LAYER
               for t, s in e.support.items() if not s.supported]
    if reasons:
        lines += ["", "not supported:", *reasons]
    count = sum(1 for e in entries if e.role == LAYER)
    lines += ["", f"{len(entries)} types: {count} converted, {len(entries) - count} read as inputs, removed or dropped"]
    return "\n".join(lines)


def markdown_table(entries: list[LayerEntry], extra: tuple[str, dict[str, str]] | None = None) -> str:
    """One row per type; `extra` = (heading, {type: text}) adds a last column (the README's
    golden cases)."""
    targets = TARGETS.names()
    headings = ["type", "origin", *targets, "parameters honoured", *([extra[0]] if extra else [])]
    lines = ["| " + " | ".join(headings) + " |", "|" + "---|" * len(headings)]
    for e in entries:
        cells = [f"`{e.type}`", e.origin, *(_cell(e, t, True) for t in targets), _params_cell(e, True),
                 *([extra[1].get(e.type, "")] if extra else [])]
        lines.append("| " + " | ".join(_escape(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
