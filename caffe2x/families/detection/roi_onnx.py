"""ROIPooling and PSROIPooling in standard ONNX operators: the ROI rules of roi_bins.py through
the SSD family's OnnxOps (each rule's operation one ONNX node), then the same formulation as the
PyTorch and Keras runtimes: each ROI's image gathered, each bin's cells masked (Where) and
reduced; the ROI count R stays a dynamic dimension."""

from __future__ import annotations

import numpy as np

from ..ssd.detection_output_onnx import OnnxOps
from .roi_bins import FLT_MAX, psroi_pooling_bins, roi_pooling_bins


class RoiOps(OnnxOps):
    """OnnxOps with the rounding operators the ROI rules use."""

    def floor(self, x): return self.unary("Floor", [x])
    def ceil(self, x): return self.unary("Ceil", [x])
    def abs(self, x): return self.unary("Abs", [x])
    def full_like(self, x, value): return self.tensor(self.operand(value))  # ONNX Runtime divides truly


def _rows(ops: RoiOps, features: str, rois: str):
    """The (R, 1) columns x1, y1, x2, y2 and the truncated batch index of each ROI, kept inside
    the batch (the fork CHECK-fails on another), then each ROI's image (R, C, H, W)."""
    columns = [ops.tensor(ops.op("Slice", [rois, ops.ints([k]), ops.ints([k + 1]), ops.ints([1])]))
               for k in range(1, 5)]
    first = ops.op("Gather", [rois, ops.ints(0, scalar=True)], axis=1)
    index = ops.op("Cast", [first], to=7)  # float -> int64 truncates, as static_cast<int>
    last = ops.op("Sub", [ops.op("Slice", [ops.op("Shape", [features]), ops.ints([0]), ops.ints([1])]),
                          ops.ints([1])])
    index = ops.op("Min", [ops.op("Max", [index, ops.ints([0])]), last])
    return columns, ops.op("Gather", [features, index], axis=0)


def _row(ops: RoiOps, size: int):
    return ops.tensor(ops.builder.const(ops.layer, "bins", np.arange(size, dtype=np.float32).reshape(1, size)))


def _masks(ops: RoiOps, start, end, size: int) -> str:
    """(R, P, size) booleans: the cells [start, end) of each bin of each ROI."""
    cells = ops.builder.const(ops.layer, "cells", np.arange(size, dtype=np.float32))
    lo, hi = (ops.op("Unsqueeze", [bound, ops.ints([-1])]) for bound in (start, end))
    return ops.op("And", [ops.op("GreaterOrEqual", [cells, lo]), ops.op("Less", [cells, hi])])


def _column(ops: RoiOps, x, index: int, axis: int = 1) -> str:
    """x[:, index:index + 1] along `axis`."""
    return ops.op("Slice", [x, ops.ints([index]), ops.ints([index + 1]), ops.ints([axis])])


def roi_pooling(node, inputs, output, builder) -> str:
    p = node.params
    ops = RoiOps(builder, node.name)
    _, _, height, width = builder.shape(node.inputs[0])
    columns, regions = _rows(ops, inputs[0], inputs[1])
    hstart, hend, wstart, wend = roi_pooling_bins(ops, *columns, _row(ops, p.pooled_h), _row(ops, p.pooled_w),
                                                  p.spatial_scale, p.pooled_h, p.pooled_w, height, width)
    rows, cols = _masks(ops, hstart, hend, height), _masks(ops, wstart, wend, width)
    cols = ops.op("Unsqueeze", [cols, ops.ints([1])])  # (R, 1, PW, W)
    lowest = builder.const(node.name, "lowest", np.float32(-FLT_MAX))
    zero = builder.const(node.name, "zero", np.float32(0))
    empty_w = ops.op("LessOrEqual", [wend.name, wstart.name])  # (R, PW)
    pooled = []
    for ph in range(p.pooled_h):
        row = ops.op("Unsqueeze", [ops.op("Gather", [rows, ops.ints(ph, scalar=True)], axis=1), ops.ints([1, 3])])
        row_max = builder.reduce("ReduceMax", ops.op("Where", [row, regions, lowest]), [2], node.name, False)
        spread = ops.op("Unsqueeze", [row_max, ops.ints([2])])  # (R, C, 1, W)
        bin_max = builder.reduce("ReduceMax", ops.op("Where", [cols, spread, lowest]), [3], node.name, False)
        empty_h = ops.op("LessOrEqual", [_column(ops, hend.name, ph), _column(ops, hstart.name, ph)])
        empty = ops.op("Unsqueeze", [ops.op("Or", [empty_h, empty_w]), ops.ints([1])])  # (R, 1, PW)
        pooled.append(ops.op("Unsqueeze", [ops.op("Where", [empty, zero, bin_max]), ops.ints([2])]))
    return builder.op("Concat", pooled, node.name, output=output, axis=2)


def psroi_pooling(node, inputs, output, builder) -> str:
    p = node.params
    ops = RoiOps(builder, node.name)
    _, _, height, width = builder.shape(node.inputs[0])
    size = p.group_size
    columns, regions = _rows(ops, inputs[0], inputs[1])
    index = _row(ops, size)
    hstart, hend, wstart, wend = psroi_pooling_bins(ops, *columns, index, p.spatial_scale, size, height, width)
    rows, cols = _masks(ops, hstart, hend, height), _masks(ops, wstart, wend, width)
    zero = builder.const(node.name, "zero", np.float32(0))
    heights = (hend - hstart).name  # (R, G)
    widths = (wend - wstart).name
    bins = []
    for ph in range(size):
        row = ops.op("Unsqueeze", [ops.op("Gather", [rows, ops.ints(ph, scalar=True)], axis=1), ops.ints([1, 3])])
        for pw in range(size):
            col = ops.op("Unsqueeze", [ops.op("Gather", [cols, ops.ints(pw, scalar=True)], axis=1), ops.ints([1, 2])])
            # Channel (ctop * G + ph) * G + pw for ctop = 0..output_dim-1.
            first = ph * size + pw
            channels = ops.op("Slice", [regions, ops.ints([first]), ops.ints([first + p.output_dim * size * size]),
                                        ops.ints([1]), ops.ints([size * size])])
            cells = ops.op("Where", [ops.op("And", [row, col]), channels, zero])
            total = builder.reduce("ReduceSum", cells, [2, 3], node.name, False)  # (R, D)
            area = ops.op("Mul", [_column(ops, heights, ph), _column(ops, widths, pw)])  # (R, 1)
            empty = ops.op("LessOrEqual", [area, zero])  # both sides are clipped: empty iff no area
            bins.append(ops.op("Unsqueeze", [ops.op("Where", [empty, zero, ops.op("Div", [total, area])]),
                                             ops.ints([2])]))
    flat = ops.op("Concat", bins, axis=2)  # (R, D, G * G), bins in (ph, pw) order
    shape = ops.ints([0, p.output_dim, size, size])
    return builder.op("Reshape", [flat, shape], node.name, output=output)
