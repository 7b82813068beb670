"""Per-layer parity of a converted model against a reference, for any target.

A target's run (caffe2x.targets.Target.run) returns the Caffe blobs it
computed, keyed "LAYER:TOP". Every key both sides have is compared, in net
order; the first failing blob is the first divergence. caffe2x.verification
is the pipeline around this (reference, inputs, targets).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

import numpy as np

from .compare import DEFAULT_TOLERANCE, BlobError, compare
from .errors import Caffe2xError
from .ir.graph import Graph

REPORT_VERSION = 1


@dataclass
class BlobRecord:
    layer: str
    top: str
    shape: list[int]
    error: BlobError
    tolerance: float
    # On classifier outputs (N x classes): the share of items whose top-1 class
    # agrees, and the mean overlap of the top-5 sets; None elsewhere.
    top1: float | None = None
    top5: float | None = None
    index: int = 0  # the blob's position in the net's blob order (the same for every target)
    # Why a blob with data-dependent rows failed (row counts, first differing row); None otherwise.
    note: str | None = None

    @property
    def passed(self) -> bool:
        return self.error.within(self.tolerance)

    def as_dict(self) -> dict:
        record = {"layer": self.layer, "top": self.top, "index": self.index, "shape": self.shape,
                  **asdict(self.error), "top1": self.top1, "top5": self.top5, "tolerance": self.tolerance,
                  "passed": self.passed}
        return record if self.note is None else {**record, "note": self.note}


@dataclass
class VerifyResult:
    net: str
    target: str
    reference: str
    records: list[BlobRecord] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # blobs one side lacks
    # Why the tolerance is looser than asked (a quantized TFLite model), said in the summary; None otherwise.
    tolerance_note: str | None = None

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


def classifier_agreement(got: np.ndarray, want: np.ndarray) -> tuple[float | None, float | None]:
    """Top-1 and top-5 agreement of (N, classes[, 1, 1]) scores; None if not a classifier output."""
    if got.ndim < 2 or got.shape[1] < 2 or int(np.prod(got.shape[2:], dtype=np.int64)) != 1:
        return None, None
    got, want = got.reshape(got.shape[0], -1), want.reshape(want.shape[0], -1)
    top1 = float(np.mean(got.argmax(1) == want.argmax(1)))
    if got.shape[1] < 5:
        return top1, None
    best_got, best_want = np.argsort(-got, 1)[:, :5], np.argsort(-want, 1)[:, :5]
    overlap = [len(set(a) & set(b)) / 5 for a, b in zip(best_got, best_want)]
    return top1, float(np.mean(overlap))


def compare_blobs(graph: Graph, target: str, reference_name: str, got: Mapping[str, np.ndarray],
                  want: Mapping[str, np.ndarray], tolerance: float = DEFAULT_TOLERANCE,
                  tolerances: Mapping[str, float] | None = None) -> VerifyResult:
    """Compare every blob both sides have; `tolerances` overrides per layer name."""
    result = VerifyResult(graph.name, target, reference_name)
    outputs = {key for key, value in graph.blob_keys().items() if value in graph.outputs}
    dynamic = data_dependent_dims(graph)
    scores = score_columns(graph)
    for index, (layer, top) in enumerate(blob_order(graph)):
        key = f"{layer}:{top}"
        if key not in got or key not in want:
            result.skipped.append(key)
            continue
        limit = (tolerances or {}).get(layer, tolerance)
        nans = int(np.isnan(np.asarray(want[key], dtype=np.float64)).sum())
        if nans:  # NaN on both sides would compare as equal: a net of NaNs would "pass"
            result.records.append(BlobRecord(
                layer, top, list(want[key].shape), BlobError(float("inf"), float("inf"), float("inf"), float("nan")),
                limit, index=index, note=f"the reference holds {nans} NaN value(s) of {want[key].size}: a NaN "
                                         "proves nothing (random weights or inputs out of the layer's domain?)"))
            continue
        if key in dynamic:  # rows only the data decides: counted, then compared row by row
            result.records.append(compare_rows(layer, top, index, target, got[key], want[key], limit,
                                               scores.get(key), axis=dynamic[key][0]))
            continue
        if got[key].shape != want[key].shape and not result.passed and result.records:
            # Downstream of a failed blob (a data-dependent row count that differs: Proposal ->
            # ROIPooling -> fc6), a shape may follow it: a failure after the first divergence.
            result.records.append(BlobRecord(
                layer, top, list(want[key].shape), BlobError(float("inf"), float("inf"), float("inf"), 0.0), limit,
                index=index, note=f"the {target} model gives shape {list(got[key].shape)}, the reference "
                                  f"{list(want[key].shape)}, after the first divergence"))
            continue
        if got[key].shape != want[key].shape:
            raise Caffe2xError(f"blob {key}: the {target} model gives shape {list(got[key].shape)}, "
                               f"the reference {list(want[key].shape)}.")
        top1 = top5 = None
        if key in outputs:
            top1, top5 = classifier_agreement(np.asarray(got[key]), np.asarray(want[key]))
        result.records.append(BlobRecord(layer, top, list(want[key].shape), compare(got[key], want[key]), limit,
                                         top1, top5, index))
    return result


def data_dependent_dims(graph: Graph) -> dict[str, tuple[int, ...]]:
    """LAYER:TOP -> the dims only the data decides (LayerDef.data_dependent), for blobs that have any."""
    from .layers import LAYERS

    return {f"{layer.name}:{top}": LAYERS.get(layer.type).data_dependent for layer in graph.caffe_layers
            if layer.type in LAYERS and LAYERS.get(layer.type).data_dependent for top in layer.tops}


def score_columns(graph: Graph) -> dict[str, int]:
    """LAYER:TOP -> the score column of its data-dependent rows (LayerDef.score_column), where one is set."""
    from .layers import LAYERS

    return {f"{layer.name}:{top}": LAYERS.get(layer.type).score_column for layer in graph.caffe_layers
            if layer.type in LAYERS and LAYERS.get(layer.type).score_column is not None for top in layer.tops}


def untie_rows(got: np.ndarray, want: np.ndarray, score_column: int, limit: float, axis: int = 2) -> np.ndarray:
    """`got` (rows on `axis`: 1 x 1 x N x K) with its rows reordered to match `want`'s only within
    runs of rows whose reference scores agree within the tolerance: each reference row of a run takes
    the closest unused target row of the same run. Rows that differ still differ afterwards."""
    rows_got, rows_want = _rows(got, axis), _rows(want, axis)
    scale = float(np.abs(rows_want).max()) if rows_want.size else 1.0
    tied = np.abs(np.diff(rows_want[:, score_column])) <= limit * (scale or 1.0)
    starts = [0] + [int(i) + 1 for i in np.flatnonzero(~tied)]
    order = []
    for start, end in zip(starts, starts[1:] + [len(rows_want)]):
        free = list(range(start, end))
        for row in rows_want[start:end]:
            best = min(free, key=lambda j: float(np.abs(rows_got[j] - row).max()))
            free.remove(best)
            order.append(best)
    return np.take(got, order, axis=axis)


def compare_rows(layer: str, top: str, index: int, target: str, got: np.ndarray, want: np.ndarray,
                 limit: float, score_column: int | None = None, axis: int = 2) -> BlobRecord:
    """A blob whose dim `axis` holds data-dependent rows (DetectionOutput's 1 x 1 x N x 7 on
    axis 2, a Proposal's R x 5 on axis 0): the row counts must agree, then the blob compares like
    any other; a failure says how many rows each side has and which row differs first. With a
    score column, rows whose reference scores tie within the tolerance may come in either order
    (untie_rows)."""
    got, want = np.asarray(got), np.asarray(want)
    if got.ndim != want.ndim or np.delete(got.shape, axis).tolist() != np.delete(want.shape, axis).tolist():
        raise Caffe2xError(f"blob {layer}:{top}: the {target} model gives shape {list(got.shape)}, "
                           f"the reference {list(want.shape)} (only dim {axis}, the rows, may differ).")
    if got.shape == want.shape:
        error = compare(got, want)
        if not error.within(limit) and score_column is not None:
            got = untie_rows(got, want, score_column, limit, axis)
            error = compare(got, want)
        note = None if error.within(limit) else first_differing_row(target, got, want, limit, axis)
        return BlobRecord(layer, top, list(want.shape), error, limit, index=index, note=note)
    failed = BlobError(float("inf"), float("inf"), float("inf"), 0.0)
    return BlobRecord(layer, top, list(want.shape), failed, limit, index=index,
                      note=first_differing_row(target, got, want, limit, axis))


def _rows(blob: np.ndarray, axis: int = 2) -> np.ndarray:
    return np.moveaxis(blob, axis, 0).reshape(blob.shape[axis], -1).astype(np.float64)


def first_differing_row(target: str, got: np.ndarray, want: np.ndarray, limit: float, axis: int = 2) -> str:
    """'the T model gives G rows, the reference W; first differing row i: T [...], reference [...]'."""
    rows_got, rows_want = _rows(got, axis), _rows(want, axis)
    scale = float(np.abs(rows_want).max()) if rows_want.size else 1.0
    common = min(len(rows_got), len(rows_want))
    errors = np.abs(rows_got[:common] - rows_want[:common]).max(axis=1, initial=0.0) / (scale or 1.0)
    bad = np.flatnonzero(~(errors <= limit))
    row = int(bad[0]) if bad.size else common

    def shown(rows: np.ndarray) -> str:
        return "[" + ", ".join(f"{v:.6g}" for v in rows[row]) + "]" if row < len(rows) else "none"

    return (f"the {target} model gives {len(rows_got)} rows, the reference {len(rows_want)}; first differing row "
            f"{row}: {target} {shown(rows_got)}, reference {shown(rows_want)}")
