"""NumPy reference implementation of Caffe's forward pass."""

from . import activation, affine, conv, eltwise, normalization, pooling, reduction, tensor  # noqa: F401
from .base import REFERENCE, Kernel
from .executor import as_golden_blobs, iter_forward, run

__all__ = ["REFERENCE", "Kernel", "as_golden_blobs", "iter_forward", "run"]
