"""Per-layer parity of a converted model against a reference, for any target.

A target runner takes (graph, inputs, device) and returns the Caffe blobs it
computed, keyed "LAYER:TOP". Every key both sides have is compared, in net
order; the first failing blob is the first divergence.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field

import numpy as np

from .compare import DEFAULT_TOLERANCE, BlobError, compare
from .display import shown
from .errors import Caffe2xError
from .ir.graph import Graph
from .registry import Registry

Runner = Callable[[Graph, Mapping[str, np.ndarray], str], dict[str, np.ndarray]]
TARGET_RUNNERS: Registry[Runner] = Registry("verify targets")

REPORT_VERSION = 1


@dataclass
class BlobRecord:
    layer: str
    top: str
    shape: list[int]
    error: BlobError
    tolerance: float

    @property
    def passed(self) -> bool:
        return self.error.within(self.tolerance)

    def as_dict(self) -> dict:
        return {"layer": self.layer, "top": self.top, "shape": self.shape, **asdict(self.error),
                "tolerance": self.tolerance, "passed": self.passed}


@dataclass
class VerifyResult:
    net: str
    target: str
    reference: str
    records: list[BlobRecord] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # blobs one side lacks

    @property
    def passed(self) -> bool:
        return bool(self.records) and all(r.passed for r in self.records)

    @property
    def first_divergence(self) -> BlobRecord | None:
        return next((r for r in self.records if not r.passed), None)

    def as_dict(self) -> dict:
        first = self.first_divergence
        return {"version": REPORT_VERSION, "net": self.net, "target": self.target,
                "reference": self.reference, "passed": self.passed,
                "compared": len(self.records), "first_divergence": first.as_dict() if first else None,
                "blobs": [r.as_dict() for r in self.records], "skipped": self.skipped}


def blob_order(graph: Graph) -> list[tuple[str, str]]:
    """(layer, top) of every blob the original net produces, in net order."""
    return [(layer.name, top) for layer in graph.caffe_layers if layer.type not in ("Input", "Split")
            for top in layer.tops]


def compare_blobs(graph: Graph, target: str, reference_name: str, got: Mapping[str, np.ndarray],
                  want: Mapping[str, np.ndarray], tolerance: float = DEFAULT_TOLERANCE,
                  tolerances: Mapping[str, float] | None = None) -> VerifyResult:
    """Compare every blob both sides have; `tolerances` overrides per layer name."""
    result = VerifyResult(graph.name, target, reference_name)
    for layer, top in blob_order(graph):
        key = f"{layer}:{top}"
        if key not in got or key not in want:
            result.skipped.append(key)
            continue
        limit = (tolerances or {}).get(layer, tolerance)
        if got[key].shape != want[key].shape:
            raise Caffe2xError(f"blob {key}: the {target} model gives shape {list(got[key].shape)}, "
                               f"the reference {list(want[key].shape)}.")
        result.records.append(BlobRecord(layer, top, list(want[key].shape), compare(got[key], want[key]), limit))
    return result


def format_result(result: VerifyResult) -> str:
    rows = [("layer", "top", "shape", "norm max err", "max abs err", "cosine", "")]
    for r in result.records:
        rows.append((shown(r.layer), shown(r.top), "x".join(map(str, r.shape)) or "scalar",
                     f"{r.error.normalized_max:.3e}", f"{r.error.max_abs:.3e}", f"{r.error.cosine:.8f}",
                     "ok" if r.passed else "FAIL"))
    widths = [max(len(row[i]) for row in rows) for i in range(7)]
    lines = ["  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    first = result.first_divergence
    worst = max(result.records, key=lambda r: r.error.normalized_max, default=None)
    lines.append("")
    summary = (f"{result.target} vs {result.reference}: {len(result.records)} blobs compared, "
               f"{sum(not r.passed for r in result.records)} failed")
    if worst:
        summary += f"; worst {shown(worst.layer)}:{shown(worst.top)} at {worst.error.normalized_max:.2e}"
    lines.append(summary)
    if first:
        lines.append(f"first divergence: layer '{shown(first.layer)}' top '{shown(first.top)}' "
                     f"(normalized max error {first.error.normalized_max:.2e} > {first.tolerance:.0e})")
    elif not result.records:
        lines.append("nothing compared: the reference and the model share no blob")
    else:
        lines.append("PASS: every blob within tolerance")
    return "\n".join(lines)


def write_report(result: VerifyResult, path: str, force: bool = True) -> None:
    from .io.atomic import atomic_file

    with atomic_file(path, force) as temp:
        temp.write_text(json.dumps(result.as_dict(), indent=1))
