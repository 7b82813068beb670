"""Proposal in standard ONNX operators.

The rules of proposal.py through OnnxOps (decode, clip, the minimum-size rule, one node per
float32 operation, as the reference); the filtered boxes scored -inf (pva: 0, kept for NMS); TopK for the pre-NMS cut
(sorted, ties to the lower index: the ONNX spec); NonMaxSuppression (greedy, suppressing an IoU
above iou_threshold, selected in score order) on the corners (x1, y1, x2 + 1, y2 + 1), whose
plain IoU is py_cpu_nms's +1 overlap, with a score_threshold only -inf fails, at most
post_nms_topn; rows (R, 5) and scores (R, 1), R dynamic.
"""

from __future__ import annotations

import numpy as np

from ..ssd.detection_output_onnx import OnnxOps
from .proposal import (
    base_anchors,
    rpn_clip,
    rpn_decode,
    rpn_min_sides,
    rpn_nms_corners,
    rpn_too_small,
    score_rows,
    shifted_anchors,
    small_box_score,
)

LOWEST_SCORE = np.float32(-3.4028234663852886e38)


def emit(node, inputs, outputs, builder):
    p = node.params
    ops = OnnxOps(builder, node.name)
    shape = builder.shape(node.inputs[0])
    a = p.num_anchors
    anchors = shifted_anchors(base_anchors(p), shape[2], shape[3], p.feat_stride)
    count = len(anchors)
    fg = ops.op("Slice", [inputs[0], ops.ints([a]), ops.ints([2 * a]), ops.ints([1])])
    fg = ops.op("Reshape", [ops.op("Transpose", [fg], perm=[0, 2, 3, 1]), ops.ints([-1])])
    deltas = ops.op("Reshape", [ops.op("Transpose", [inputs[1]], perm=[0, 2, 3, 1]), ops.ints([-1, 4])])
    info = ops.op("Reshape", [inputs[2], ops.ints([-1])])
    values = 4 if p.variant == "pva" else 3  # (height, width, scale[_h][, scale_w])
    info = [ops.unary("Gather", [info, ops.ints(i, scalar=True)], axis=0) for i in range(values)]
    anchor_const = ops.tensor(builder.const(node.name, "anchors", anchors))
    box = rpn_clip(ops, rpn_decode(ops, anchor_const, ops.tensor(deltas)), info[0], info[1])
    small = rpn_too_small(box, *rpn_min_sides(info, p.min_size, p.variant))
    masked = ops.op("Where", [small, ops.operand(small_box_score(p.variant)), fg])
    k = min(p.pre_nms_topn, count) if p.pre_nms_topn > 0 else count
    top_scores, order = builder.op("TopK", [masked, ops.ints([k])], node.name, axis=0, largest=1, sorted=1,
                                   outputs=[builder.fresh(f"{node.name}/top"), builder.fresh(f"{node.name}/order")])
    candidates = [ops.unary("Gather", [c, order], axis=0) for c in box]
    corners = ops.op("Unsqueeze", [ops.stack(rpn_nms_corners(candidates), 1), ops.ints([0])])  # (1, K, 4)
    nms_scores = ops.op("Reshape", [top_scores, ops.ints([1, 1, k])])
    limit = p.post_nms_topn if p.post_nms_topn > 0 else k
    selected = ops.op("NonMaxSuppression", [corners, nms_scores, ops.ints([limit]),
                                            builder.const(node.name, "iou", np.asarray([p.nms_thresh], np.float32)),
                                            builder.const(node.name, "lowest", np.asarray([LOWEST_SCORE]))])
    positions = ops.op("Gather", [selected, ops.ints(2, scalar=True)], axis=1)  # (R,) in selection order
    chosen = ops.op("Gather", [order, positions], axis=0)
    boxes = ops.op("Gather", [ops.stack(box, 1).name, chosen], axis=0)  # (R, 4)
    rows = ops.op("Shape", [chosen])
    zeros = ops.op("ConstantOfShape", [ops.op("Concat", [rows, ops.ints([1])], axis=0)],
                   value=_zero_tensor())
    names = [ops.op("Concat", [zeros, boxes], axis=1, output=outputs[0])]
    if len(outputs) > 1:
        picked = ops.op("Gather", [masked, chosen], axis=0)
        shape = ops.ints(list(score_rows(p.variant, -1)))  # (R, 1), or (R,) for pva
        names.append(ops.op("Reshape", [picked, shape], output=outputs[1]))
    return names


def _zero_tensor():
    from onnx import TensorProto, helper

    return helper.make_tensor("zero", TensorProto.FLOAT, [1], [0.0])
