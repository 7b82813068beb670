"""Decisions a target takes the other way, settled one after another in net order.

Some layers decide rather than compute: an argmax picks a position (caffe2x/ties.py), a
Proposal's NMS or a detection output keeps some rows and drops others (caffe2x/flips.py). A
decision is discontinuous: inputs that agree within tolerance can take it the other way,
and then the blob differs by whole positions or rows, and every later layer runs on other
data. Each rule here recognizes such a blob (the first failing one) as a decision the
target took the other way for a reason verify accepts, and names the target's choice; the
reference is then re-run from that choice on (the builtin executor with `overrides`), so
every later layer is compared on the target's own choice, and the blob's record says what
was settled. A rule that does not recognize the blob leaves the failure as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .ir.graph import Graph
from .parity import BlobRecord, blob_order

MAX_ROUNDS = 16  # decisions settled one after another, earliest first


@dataclass(frozen=True)
class Settlement:
    """How one blob is settled: the target's choice (value name -> array) that the reference
    re-run takes from there on, the note its record gets, and, where its record compares
    against something other than that choice (a layer re-run on the target's bottoms),
    LAYER:TOP -> that array."""

    overrides: Mapping[str, np.ndarray]
    note: str
    compared_with: Mapping[str, np.ndarray] = field(default_factory=dict)


# rule(graph, the first failing record, all records, the target's blobs, the reference as
# settled so far, the inputs) -> a Settlement, or None where it does not apply.
Rule = Callable[[Graph, BlobRecord, list[BlobRecord], Mapping[str, np.ndarray], Mapping[str, np.ndarray],
                 Mapping[str, np.ndarray]], "Settlement | None"]


def record_key(record: BlobRecord) -> str:
    return f"{record.layer}:{record.top}"


def golden_key(keys: Mapping[str, str], value: str) -> str | None:
    """The golden key ("LAYER:TOP", "input:NAME") of a value (a layer's bottom) in
    graph.blob_keys(), preferring its producer's own key to a Split's alias."""
    return next((key for key, name in keys.items() if name == value), None)


def settle_decisions(graph: Graph, records: list[BlobRecord], got: Mapping[str, np.ndarray],
                     reference: Mapping[str, np.ndarray], inputs: Mapping[str, np.ndarray],
                     compare_all: Callable[[Mapping[str, np.ndarray]], list[BlobRecord]],
                     rules: Sequence[Rule]) -> list[BlobRecord]:
    """The records with every decision that one of `rules` settles (module docstring): while
    the first failing blob is one a rule settles, it and the blobs after it are compared again
    with the reference re-run on the target's choices so far. `compare_all(reference)`
    compares every blob against a reference."""
    order = {f"{layer}:{top}": index for index, (layer, top) in enumerate(blob_order(graph))}
    settled: dict[str, Settlement] = {}
    current = reference
    for _ in range(MAX_ROUNDS):
        first = next((r for r in records if not r.passed), None)
        if first is None or record_key(first) in settled:
            return records
        settlement = next((s for rule in rules
                           if (s := rule(graph, first, records, got, current, inputs)) is not None), None)
        if settlement is None:
            return records
        settled[record_key(first)] = settlement
        current = _settled_reference(graph, reference, inputs, settled, order)
        records = [_noted(r, settled) for r in compare_all(current)]
    return records


def _settled_reference(graph: Graph, reference: Mapping[str, np.ndarray], inputs: Mapping[str, np.ndarray],
                       settled: Mapping[str, Settlement], order: Mapping[str, int]) -> dict[str, np.ndarray]:
    """The reference with every blob from the first settled one on taken from the re-run on
    the target's choices (blobs before it keep the original), and each settled blob compared
    with what its settlement names."""
    from .reference import as_golden_blobs, run

    overrides = {name: array for s in settled.values() for name, array in s.overrides.items()}
    rerun = as_golden_blobs(graph, run(graph, inputs, overrides=overrides))
    start = min(order[key] for key in settled)
    merged = {**reference, **{k: v for k, v in rerun.items() if order.get(k, -1) >= start}}
    for settlement in settled.values():
        merged.update(settlement.compared_with)
    return merged


def _noted(record: BlobRecord, settled: Mapping[str, Settlement]) -> BlobRecord:
    if record_key(record) in settled:
        record.note = settled[record_key(record)].note
    return record
