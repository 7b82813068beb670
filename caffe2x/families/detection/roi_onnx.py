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
    the batch (the fork CHECK-fails on another)."""
    columns = [ops.tensor(ops.op("Slice", [rois, ops.ints([k]), ops.ints([k + 1]), ops.ints([1])]))
               for k in range(1, 5)]
    first = ops.op("Gather", [rois, ops.ints(0, scalar=True)], axis=1)
    index = ops.op("Cast", [first], to=7)  # float -> int64 truncates, as static_cast<int>
    last = ops.op("Sub", [ops.op("Slice", [ops.op("Shape", [features]), ops.ints([0]), ops.ints([1])]),
                          ops.ints([1])])
    return columns, ops.op("Min", [ops.op("Max", [index, ops.ints([0])]), last])


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
    """Each bin a range-maximum query over a table of the map's power-of-two window maxima, as the
    PyTorch runtime does (roi_pooling_torch.ROIPooling): no per-ROI copy of the map."""
    p = node.params
    ops = RoiOps(builder, node.name)
    _, channels, height, width = builder.shape(node.inputs[0])
    columns, index = _rows(ops, inputs[0], inputs[1])
    bounds = roi_pooling_bins(ops, *columns, _row(ops, p.pooled_h), _row(ops, p.pooled_w),
                              p.spatial_scale, p.pooled_h, p.pooled_w, height, width)
    hstart, hend, wstart, wend = (ops.op("Cast", [b.name], to=7) for b in bounds)  # int64 (R, P)
    levels_h, levels_w = height.bit_length() - 1, width.bit_length() - 1
    nhwc = ops.op("Transpose", [inputs[0]], perm=[0, 2, 3, 1])
    table = ops.op("Reshape", [_range_max_table(ops, nhwc, levels_h, levels_w), ops.ints([-1, channels])])
    kh, h0, h1 = (ops.op("Unsqueeze", [t, ops.ints([2])]) for t in _corners(ops, hstart, hend, levels_h, height))
    kw, w0, w1 = (ops.op("Unsqueeze", [t, ops.ints([1])]) for t in _corners(ops, wstart, wend, levels_w, width))
    batch = ops.op("Slice", [ops.op("Shape", [inputs[0]]), ops.ints([0]), ops.ints([1])])
    plane = ops.op("Add", [ops.op("Mul", [ops.op("Add", [ops.op("Mul", [kh, ops.ints([levels_w + 1])]), kw]), batch]),
                           ops.op("Unsqueeze", [index, ops.ints([1, 2])])])  # (R, PH, PW)
    corners = []
    for h in (h0, h1):
        row = ops.op("Mul", [ops.op("Add", [ops.op("Mul", [plane, ops.ints([height])]), h]), ops.ints([width])])
        corners += [ops.op("Gather", [table, ops.op("Add", [row, w])], axis=0) for w in (w0, w1)]
    lowest = builder.const(node.name, "lowest", np.float32(-FLT_MAX))
    top = ops.op("Max", [*corners, lowest])  # (R, PH, PW, C); from -FLT_MAX as the fork
    empty_h = ops.op("LessOrEqual", [ops.op("Unsqueeze", [b, ops.ints([2])]) for b in (hend, hstart)])
    empty_w = ops.op("LessOrEqual", [ops.op("Unsqueeze", [b, ops.ints([1])]) for b in (wend, wstart)])
    empty = ops.op("Unsqueeze", [ops.op("Or", [empty_h, empty_w]), ops.ints([3])])  # (R, PH, PW, 1)
    zero = builder.const(node.name, "zero", np.float32(0))
    return builder.op("Transpose", [ops.op("Where", [empty, zero, top])], node.name, output=output, perm=[0, 3, 1, 2])


def _range_max_table(ops: RoiOps, x: str, levels_h: int, levels_w: int) -> str:
    """(levels_h + 1, levels_w + 1, N, H, W, C): entry [kh, kw, n, h, w] the max of the 2^kh x 2^kw
    cells from (h, w) of the (N, H, W, C) map x (past the map: -FLT_MAX, never read)."""
    lowest = ops.builder.const(ops.layer, "lowest", np.float32(-FLT_MAX))

    def doubled(previous: str, axis: int, shift: int) -> str:
        ahead = ops.op("Slice", [previous, ops.ints([shift]), ops.ints([2 ** 31]), ops.ints([axis])])
        tail = ops.op("Slice", [previous, ops.ints([0]), ops.ints([shift]), ops.ints([axis])])
        pad = ops.op("Expand", [lowest, ops.op("Shape", [tail])])
        return ops.op("Max", [previous, ops.op("Concat", [ahead, pad], axis=axis)])

    def stacked(levels: list[str]) -> str:
        return ops.op("Concat", [ops.op("Unsqueeze", [v, ops.ints([0])]) for v in levels], axis=0)

    rows = [x]
    for k in range(1, levels_h + 1):
        rows.append(doubled(rows[-1], 1, 2 ** (k - 1)))
    table = []
    for level in rows:
        cols = [level]
        for k in range(1, levels_w + 1):
            cols.append(doubled(cols[-1], 2, 2 ** (k - 1)))
        table.append(stacked(cols))
    return stacked(table)


def _corners(ops: RoiOps, start: str, end: str, levels: int, size: int) -> tuple[str, str, str]:
    """Each [start, end) range (int64) as two windows of 2^level cells covering it exactly: (level,
    first window's start, second window's start), clamped inside the map (empty ranges are masked)."""
    length = ops.op("Max", [ops.op("Sub", [end, start]), ops.ints([1])])
    level, power = ops.op("Mul", [length, ops.ints([0])]), ops.op("Max", [ops.op("Mul", [length, ops.ints([0])]),
                                                                        ops.ints([1])])
    for k in range(1, levels + 1):
        longer = ops.op("GreaterOrEqual", [length, ops.ints([2 ** k])])
        level = ops.op("Where", [longer, ops.ints([k]), level])
        power = ops.op("Where", [longer, ops.ints([2 ** k]), power])

    def clamp(v: str) -> str:
        return ops.op("Min", [ops.op("Max", [v, ops.ints([0])]), ops.ints([size - 1])])
    return level, clamp(start), clamp(ops.op("Sub", [end, power]))


def psroi_pooling(node, inputs, output, builder) -> str:
    p = node.params
    ops = RoiOps(builder, node.name)
    _, _, height, width = builder.shape(node.inputs[0])
    size = p.group_size
    columns, index = _rows(ops, inputs[0], inputs[1])
    hstart, hend, wstart, wend = psroi_pooling_bins(ops, *columns, _row(ops, size), p.spatial_scale, size,
                                                    height, width)
    rows = ops.op("Transpose", [ops.op("Cast", [_masks(ops, hstart, hend, height)], to=1)], perm=[1, 2, 0])
    cols = ops.op("Transpose", [ops.op("Cast", [_masks(ops, wstart, wend, width)], to=1)], perm=[1, 2, 0])
    # rows (G, H, R) and cols (G, W, R): 1 inside a bin. Each ROI's own image: GatherND at (batch, r).
    count = ops.op("Slice", [ops.op("Shape", [inputs[1]]), ops.ints([0]), ops.ints([1])])
    each = ops.op("Range", [ops.ints(0, scalar=True), ops.op("Squeeze", [count, ops.ints([0])]),
                            ops.ints(1, scalar=True)])
    own = ops.op("Concat", [ops.op("Unsqueeze", [v, ops.ints([1])]) for v in (index, each)], axis=1)  # (R, 2)
    zero = builder.const(node.name, "zero", np.float32(0))
    heights = (hend - hstart).name  # (R, G)
    widths = (wend - wstart).name
    bins = []
    for ph in range(size):
        row = ops.op("Gather", [rows, ops.ints(ph, scalar=True)], axis=0)  # (H, R)
        for pw in range(size):
            col = ops.op("Gather", [cols, ops.ints(pw, scalar=True)], axis=0)  # (W, R)
            # Channel (ctop * G + ph) * G + pw for ctop = 0..output_dim-1 of every image, its bin's
            # cells summed by two products with the 0/1 masks (columns, then rows), as the runtimes.
            first = ph * size + pw
            channels = ops.op("Slice", [inputs[0], ops.ints([first]), ops.ints([first + p.output_dim * size * size]),
                                        ops.ints([1]), ops.ints([size * size])])  # (N, D, H, W)
            by_columns = ops.op("MatMul", [channels, col])  # (N, D, H, R)
            sums = builder.reduce("ReduceSum", ops.op("Mul", [by_columns, row]), [2], node.name, False)  # (N, D, R)
            total = ops.op("GatherND", [ops.op("Transpose", [sums], perm=[0, 2, 1]), own])  # (R, D)
            area = ops.op("Mul", [_column(ops, heights, ph), _column(ops, widths, pw)])  # (R, 1)
            empty = ops.op("LessOrEqual", [area, zero])  # both sides are clipped: empty iff no area
            bins.append(ops.op("Unsqueeze", [ops.op("Where", [empty, zero, ops.op("Div", [total, area])]),
                                             ops.ints([2])]))
    flat = ops.op("Concat", bins, axis=2)  # (R, D, G * G), bins in (ph, pw) order
    shape = ops.ints([0, p.output_dim, size, size])
    return builder.op("Reshape", [flat, shape], node.name, output=output)
