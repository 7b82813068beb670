"""Blob comparison metrics, the same for every target.

normalized max error = max|got - want| / max|want|: the project's parity
measure (default tolerance 1e-4; most layers reach 1e-6).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_TOLERANCE = 1e-4


@dataclass(frozen=True)
class BlobError:
    normalized_max: float
    max_abs: float
    mean_abs: float
    cosine: float

    def within(self, tolerance: float) -> bool:
        return self.normalized_max <= tolerance


def compare(got: np.ndarray, want: np.ndarray) -> BlobError:
    """Errors of `got` against the reference `want` (shapes must agree)."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        raise ValueError(f"shape {list(got.shape)} differs from the reference {list(want.shape)}")
    if got.size == 0:
        return BlobError(0.0, 0.0, 0.0, 1.0)
    diff = np.abs(got - want)
    if np.isnan(got).any() or np.isnan(want).any():
        same_nans = np.array_equal(np.isnan(got), np.isnan(want))
        diff = np.where(np.isnan(got) & np.isnan(want), 0.0, diff)
        if not same_nans:
            return BlobError(float("inf"), float("inf"), float("inf"), float("nan"))
    scale = float(np.abs(np.nan_to_num(want)).max())
    max_abs = float(diff.max())
    normalized = max_abs / scale if scale > 0 else (0.0 if max_abs == 0 else float("inf"))
    norms = float(np.linalg.norm(np.nan_to_num(got)) * np.linalg.norm(np.nan_to_num(want)))
    cosine = float(np.vdot(np.nan_to_num(got), np.nan_to_num(want)) / norms) if norms > 0 else 1.0
    return BlobError(normalized, max_abs, float(diff.mean()), cosine)
