"""What `caffe2x inspect` reports: per-layer shapes, parameters and FLOPs.

FLOPs count a multiply-add as two operations in Convolution, Deconvolution
and InnerProduct; pooling counts one per window element, LRN one per window
element plus three, other layers one (or a few) per output element.
"""

from __future__ import annotations

from .display import shown
from .ir.graph import Graph


def summarize(graph: Graph) -> dict:
    """The inspect --json document (its keys and shape are a stable interface)."""
    return {
        "inputs": {graph.values[v].top: list(graph.values[v].shape) for v in graph.inputs},
        "outputs": list(graph.output_tops),
        "layers": [
            {"name": layer.name, "type": layer.type, "bottoms": list(layer.bottoms),
             "tops": list(layer.tops), "shapes": [list(s) for s in layer.shapes],
             "params": layer.params}
            for layer in graph.caffe_layers
        ],
        "total_params": graph.total_params,
        "flops": graph.flops,
    }


def human(number: float, unit: str = "") -> str:
    for scale, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(number) >= scale:
            return f"{number / scale:.2f} {prefix}{unit}".strip()
    return f"{int(number)} {unit}".strip()


def _dims(shape) -> str:
    return "x".join(map(str, shape)) or "scalar"


def format_table(graph: Graph) -> str:
    """A readable table: one row per Caffe layer, then totals."""
    rows = [("layer", "type", "output shape", "params", "FLOPs")]
    for layer in graph.caffe_layers:
        shapes = [_dims(s) for s in layer.shapes] if len(layer.tops) == 1 else [
            f"{shown(t)}: {_dims(s)}" for t, s in zip(layer.tops, layer.shapes)]
        rows.append((shown(layer.name), shown(layer.type), ", ".join(shapes) or "-",
                     human(layer.params) if layer.params else "", human(layer.flops) if layer.flops else ""))
    widths = [min(max(len(r[i]) for r in rows), 48) for i in range(5)]
    lines = []
    for index, row in enumerate(rows):
        cells = [row[i].ljust(widths[i]) if i < 3 else row[i].rjust(widths[i]) for i in range(5)]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    inputs = ", ".join(f"{shown(graph.values[v].top)} {list(graph.values[v].shape)}" for v in graph.inputs)
    lines += [
        "",
        f"net '{shown(graph.name)}': {len(graph.caffe_layers)} layers, inputs {inputs or 'none'}",
        f"outputs: {', '.join(map(shown, graph.output_tops)) or 'none'}",
        f"parameters: {graph.total_params:,} ({human(graph.total_params)}), "
        f"FLOPs: {graph.flops:,} ({human(graph.flops, 'FLOP')})",
    ]
    return "\n".join(lines)
