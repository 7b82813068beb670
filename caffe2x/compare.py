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


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """A dot product whose last bits do not depend on the machine's thread count: np.dot and
    np.linalg.norm go to BLAS, whose summation order follows its threads, so the same run
    reported different cosines in a process pool and in a Ray task (one BLAS thread)."""
    return float(np.einsum("i,i->", a, b))


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
    got, want = np.nan_to_num(got).ravel(), np.nan_to_num(want).ravel()
    norms = float(np.sqrt(_dot(got, got)) * np.sqrt(_dot(want, want)))
    cosine = float(_dot(got, want) / norms) if norms > 0 else 1.0
    return BlobError(normalized, max_abs, float(diff.mean()), cosine)
