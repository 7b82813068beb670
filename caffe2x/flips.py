"""Row flips: a data-dependent layer that keeps other rows on inputs within tolerance.

A Proposal, a DetectionOutput or a YOLO output decides which rows it gives: a min-size
filter, a top-N cut among close scores, NMS suppressing an overlap above a threshold. Its
bottoms pass within tolerance on every target, yet where an overlap lies near the threshold
(or a score near the cut) the target's rounding takes the decision the other way: it keeps
52 rows where the reference keeps 53, or moves a box by more than the tolerance because an
exp() amplified the deltas' rounding. Caffe itself does so on another CPU. Comparing what
follows against the reference then compares different ROIs, so the net fails as a whole
although every layer is right.

verify settles such a blob (caffe2x/decisions.py) by asking whether the layer explains it:
the reference kernel of that layer is re-run on the target's own bottoms (as the target
computed them, each of which passed against the reference). If that reproduces the target's
rows within the blob's tolerance (row counts first, then row by row, near-equal scores in
either order), the divergence is a decision flip caused by inputs within tolerance, and is
accepted: the blob's record compares the target's rows with that re-run, its note says how
the rows changed (counts, rows of either side without a counterpart in the other, the error
against the reference's own rows) and why it passed, and every later layer is compared with
the reference re-run from the target's rows on. Every row must be explained, so the number
of rows that flip needs no separate bound: a target whose layer is wrong (another NMS
threshold, a dropped or duplicated row) is not reproduced by the reference kernel on its
own bottoms and fails as before, as does a blob whose bottoms failed or that the target
does not show, and a later layer that is wrong on the target's rows.

A fork whose sort leaves equal scores in its own order (pva's Proposal: every box under the
minimum size scores 0, and its partial quicksort's swaps order them, which decides the ones NMS
keeps among them) is re-run a second time with equal scores taken by anchor, as the targets'
sorts take them (LayerDef.equal_score_orders); rows reproduced so say so in their note.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from .decisions import Settlement, golden_key, record_key
from .ir.graph import Graph, Node
from .layers.base import row_nodes
from .parity import BlobRecord, compare_rows


def row_flip(graph: Graph, record: BlobRecord, records: list[BlobRecord], got: Mapping[str, np.ndarray],
             reference: Mapping[str, np.ndarray], inputs: Mapping[str, np.ndarray]) -> Settlement | None:
    """The decisions rule (caffe2x/decisions.py) for data-dependent rows (module docstring): a
    Settlement on the target's rows where the layer's reference kernel, re-run on the target's
    bottoms, reproduces them; None otherwise."""
    from .layers import LAYERS
    from .reference import REFERENCE

    node = _producer(graph, record)
    if node is None or record_key(record) not in got:
        return None
    bottoms = _target_bottoms(graph, node, records, got, inputs)
    if bottoms is None:
        return None
    definition = LAYERS.get(node.type)
    orders = definition.equal_score_orders(node.params) if definition.equal_score_orders else ()
    for params in (node.params, *orders):
        rerun = [np.asarray(array, np.float32)
                 for array in REFERENCE.get(node.type)(replace(node, params=params), list(bottoms.values()))]
        settlement = _settle(node, record, records, got, reference, bottoms, rerun, params is not node.params)
        if settlement is not None:
            return settlement
    return None


def _settle(node: Node, record: BlobRecord, records: list[BlobRecord], got: Mapping[str, np.ndarray],
            reference: Mapping[str, np.ndarray], bottoms: Mapping[str, np.ndarray], rerun: list[np.ndarray],
            reordered: bool) -> Settlement | None:
    """The Settlement where `rerun` (the layer's reference on the target's bottoms) gives the
    target's rows; None where one top's rows differ."""
    from .layers import LAYERS

    definition = LAYERS.get(node.type)
    tolerances = {record_key(r): r.tolerance for r in records}
    overrides, compared, errors = {}, {}, []
    for top, value, array in zip(node.tops, node.outputs, rerun):
        key = f"{node.key_layer}:{top}"
        compared[key] = array
        overrides[value] = array
        if key in got:
            check = compare_rows(node.key_layer, top, record.index, "target", got[key], array,
                                 tolerances.get(key, record.tolerance), definition.score_column,
                                 axis=definition.data_dependent[0])
            if not check.passed:
                return None
            overrides[value] = np.asarray(got[key])
            errors.append(check.error.normalized_max)
    note = _note(node, record, got, reference, list(bottoms), max(errors), definition.data_dependent[0])
    if reordered:  # LayerDef.equal_score_orders: the fork's sort took equal scores in another order
        note += "; with equal scores taken by anchor, not in the fork's own sort order"
    return Settlement(overrides, note, compared)


def _producer(graph: Graph, record: BlobRecord) -> Node | None:
    """The row layer whose top the record compares; None for any other blob."""
    return next((node for node in row_nodes(graph)
                 if node.key_layer == record.layer and record.top in node.tops), None)


def _target_bottoms(graph: Graph, node: Node, records: list[BlobRecord], got: Mapping[str, np.ndarray],
                    inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray] | None:
    """LAYER:TOP (or input:NAME) -> the target's own array of each of the node's bottoms; None
    unless every bottom is a net input or a blob the target shows whose record passed."""
    keys = graph.blob_keys()
    passed = {record_key(r): r.passed for r in records}
    bottoms = {}
    for value in node.inputs:
        key = golden_key(keys, value)
        if value in graph.inputs:
            bottoms[key] = np.asarray(inputs[graph.values[value].top], np.float32)
        elif key in got and passed.get(key):
            bottoms[key] = np.asarray(got[key], np.float32)
        else:
            return None
    return bottoms


def _note(node: Node, record: BlobRecord, got: Mapping[str, np.ndarray], reference: Mapping[str, np.ndarray],
          bottoms: list[str], error: float, axis: int) -> str:
    key = record_key(record)
    target, wanted = np.asarray(got[key]), np.asarray(reference[key])
    lost, new = unmatched_rows(target, wanted, record.tolerance, axis)
    against = ("" if target.shape != wanted.shape
               else f", normalized max error {record.error.normalized_max:.2e} against the reference's rows")
    return (f"decision flip: {wanted.shape[axis]} -> {target.shape[axis]} rows ({lost} of the reference's and {new} "
            f"of this target's without a counterpart within tolerance{against}); the reference {node.type} re-run on "
            f"this target's bottoms ({', '.join(bottoms)}, each within tolerance) gives these rows (normalized max "
            f"error {error:.2e}); the blobs after it are compared with the reference re-run on this target's rows")


def unmatched_rows(got: np.ndarray, want: np.ndarray, limit: float, axis: int) -> tuple[int, int]:
    """(rows of `want` that no row of `got` matches within `limit`, rows of `got` that no row of
    `want` matches), rows on `axis`, errors normalized by `want`'s largest magnitude."""
    rows_got = np.moveaxis(got, axis, 0).reshape(got.shape[axis], -1).astype(np.float64)
    rows_want = np.moveaxis(want, axis, 0).reshape(want.shape[axis], -1).astype(np.float64)
    scale = (float(np.abs(rows_want).max()) if rows_want.size else 0.0) or 1.0
    matched_want = np.zeros(len(rows_want), bool)
    matched_got = np.zeros(len(rows_got), bool)
    for i, row in enumerate(rows_got):
        close = np.abs(rows_want - row).max(axis=1, initial=0.0) / scale <= limit
        matched_got[i] = close.any()
        matched_want |= close
    return int((~matched_want).sum()), int((~matched_got).sum())
