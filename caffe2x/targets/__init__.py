"""Conversion targets. Each lives in its own subpackage and imports its
framework lazily, so the core works with none of them installed; TARGETS
(caffe2x.targets.registry) is the one list of them."""

from __future__ import annotations

from ..io.outputs import FILE, FOLDER
from . import builtin  # noqa: F401  (registers the built-in targets)
from .registry import TARGETS, ConvertOptions, Target, require_all

__all__ = ["FILE", "FOLDER", "TARGETS", "ConvertOptions", "Target", "require_all"]
