"""What a Keras emitter returns, value layouts, and formatting helpers.

Layouts: 4-D blobs are NHWC inside the Keras graph ("nhwc"); every other
rank keeps Caffe's axis order ("caffe"). "flat_nhwc" marks a 2-D blob that
Flatten produced in NHWC order for InnerProduct layers only (their weight
rows are permuted to match), so no transpose is needed before them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...registry import Registry
from ..common import float_literal, pair_literal

NHWC, CAFFE, FLAT_NHWC = "nhwc", "caffe", "flat_nhwc"
# Caffe axis of a 4-D blob -> its axis in NHWC.
NHWC_AXIS = {0: 0, 1: 3, 2: 1, 3: 2}
TO_NCHW = "(3, 1, 2)"  # keras Permute dims, NHWC -> NCHW
TO_NHWC = "(2, 3, 1)"  # NCHW -> NHWC


@dataclass
class KerasLayer:
    """One Caffe layer as Keras code.

    expr:    Python expression producing the output tensor(s); {0}, {1}, ... are the
             inputs (already in the layouts the emitter asked for), {name} the Keras
             name of the layer (a string literal)
    weights: Keras layer name -> its weights in Keras order
    custom:  custom layer classes the expression uses
    layouts: layout of each output
    """

    expr: str
    weights: dict[str, list[np.ndarray]] = field(default_factory=dict)
    custom: tuple[str, ...] = ()
    layouts: list[str] | None = None
    flat_source: tuple[int, int, int] | None = None  # (C, H, W) of a FLAT_NHWC output


KERAS_EMITTERS: Registry = Registry("TensorFlow")


num = float_literal
pair = pair_literal


def nhwc_weight(array: np.ndarray) -> np.ndarray:
    """A 4-D Caffe-order broadcast operand -> NHWC order."""
    return np.ascontiguousarray(np.transpose(array, (0, 2, 3, 1))) if array.ndim == 4 else array
