"""Near-ties in index blobs: an argmax that a target breaks the other way.

A MAX Pooling's mask top and an ArgMax hold positions, not values. Where two candidates
of a window (or a channel axis) differ by less than fp32 rounding, a target may pick
the other one: its index blob then differs by whole positions although its values agree,
and every layer that reads the positions (SegNet's Upsample) puts values elsewhere, so
one near-tie fails a whole decoder. Caffe itself would have picked that position on
another CPU. verify therefore accepts an index that differs from the reference's only
where the values it selects are within the blob's tolerance of the reference's choice,
and compares the later layers with the reference re-run on the target's choice (the
builtin executor, from the target's indices on); each such blob says so in its record.
An index that selects a clearly smaller value still fails.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from .compare import BlobError
from .decisions import Settlement, golden_key, record_key, settle_decisions
from .ir.graph import Graph, Node
from .parity import BlobRecord


def _pooling_mask(node: Node, bottom: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """The input value each mask position names: Caffe's mask is h * W + w in the unpadded
    input plane of its (n, c); -1 (a window of padding only) selects nothing."""
    n, c = bottom.shape[:2]
    plane = bottom.reshape(n, c, -1)
    flat = indices.reshape(n, c, -1).astype(np.int64)
    chosen = np.take_along_axis(plane, np.clip(flat, 0, plane.shape[2] - 1), axis=2)
    return np.where(flat >= 0, chosen, -np.inf).reshape(indices.shape)


def _argmax(node: Node, bottom: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """The input value each ArgMax index names (along its axis, or over each item)."""
    from .layers.base import canonical_axis

    p = node.params
    if p.axis is not None:
        axis = canonical_axis(p.axis, bottom.ndim)
        return np.take_along_axis(bottom, indices.astype(np.int64), axis=axis)
    flat = bottom.reshape(bottom.shape[0], -1)
    return np.take_along_axis(flat, indices.reshape(bottom.shape[0], -1).astype(np.int64), axis=1).reshape(
        indices.shape)


def _selector(node: Node, top_index: int) -> Callable[[Node, np.ndarray, np.ndarray], np.ndarray] | None:
    """How the values an index blob selects are read back from its layer's bottom; None for a
    blob of values (an ArgMax with out_max_val holds values, or values and indices mixed)."""
    if node.type == "Pooling" and top_index == 1 and getattr(node.params, "mask", False):
        return _pooling_mask
    if node.type == "ArgMax" and not node.params.out_max_val:
        return _argmax
    return None


def index_blobs(graph: Graph) -> dict[str, tuple[Node, int]]:
    """LAYER:TOP of every index blob -> (its node, the top's position)."""
    found = {}
    for node in graph.nodes:
        for position, top in enumerate(node.tops):
            if _selector(node, position):
                found[f"{node.key_layer}:{top}"] = (node, position)
    return found


def near_tie_gap(node: Node, position: int, bottom: np.ndarray, got: np.ndarray, want: np.ndarray) -> float:
    """The largest shortfall, normalized by the bottom's largest magnitude, of a value the target's
    indices select against the one the reference's select: 0 where they agree; inf where an
    index names nothing while the other names a value, or shapes differ."""
    if got.shape != want.shape:
        return float("inf")
    differ = got != want
    if not differ.any():
        return 0.0
    select = _selector(node, position)
    bottom = np.asarray(bottom, dtype=np.float64)
    chosen, wanted = select(node, bottom, got)[differ], select(node, bottom, want)[differ]
    if not (np.isfinite(chosen) & np.isfinite(wanted)).all():
        return float("inf")
    scale = float(np.abs(bottom).max()) or 1.0
    return float(np.abs(chosen - wanted).max() / scale)


def near_tie(graph: Graph, record: BlobRecord, records: list[BlobRecord], got: Mapping[str, np.ndarray],
             reference: Mapping[str, np.ndarray], inputs: Mapping[str, np.ndarray]) -> Settlement | None:
    """The decisions rule (caffe2x/decisions.py) for index blobs: a failing index blob whose
    differences are all near-ties is settled on the target's indices (the re-run takes them,
    so its record's error is 0), the record noting how many indices differ and the largest
    value gap; None otherwise."""
    key = record_key(record)
    indices = index_blobs(graph)
    if key not in indices or key not in got or key not in reference:
        return None
    node, position = indices[key]
    keys = graph.blob_keys()
    bottom = reference.get(golden_key(keys, node.inputs[0]))
    if bottom is None:
        return None
    target, wanted = np.asarray(got[key]), np.asarray(reference[key])
    gap = near_tie_gap(node, position, bottom, target, wanted)
    if gap > record.tolerance:
        return None
    return Settlement({keys[key]: target}, _note(int((target != wanted).sum()), gap, record.error))


def settle_near_ties(graph: Graph, records: list[BlobRecord], got: Mapping[str, np.ndarray],
                     reference: Mapping[str, np.ndarray], inputs: Mapping[str, np.ndarray],
                     compare_all: Callable[[Mapping[str, np.ndarray]], list[BlobRecord]]) -> list[BlobRecord]:
    """The records with every near-tie settled (module docstring): caffe2x.decisions.settle_decisions
    with the near-tie rule alone. `compare_all(reference)` compares every blob against a reference."""
    return settle_decisions(graph, records, got, reference, inputs, compare_all, [near_tie])


def _note(differ: int, gap: float, error: BlobError) -> str:
    return (f"{differ} near-tie index(es) broken the other way (as indices: max abs error {error.max_abs:.6g}); each "
            f"selects a value within {gap:.2e} (normalized) of the reference's choice; the blobs after it are "
            "compared with the reference re-run on this target's indices")
