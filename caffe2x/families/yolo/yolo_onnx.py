"""YoloDetectionOutput / Yolov3DetectionOutput in standard ONNX operators: yolo_nms.py's
formulation (its rules through the SSD family's OnnxOps), the greedy NMS as one Loop whose
condition is "a candidate remains", so it runs once per output row.

ONNX's NonMaximumSuppression is not the fork's ApplyNms (center-form IoU with the fork's float
arithmetic, `>=`, one class-agnostic list for the whole batch), so the loop is written out.
"""

from __future__ import annotations

import numpy as np

from ..ssd.detection_output_onnx import OnnxOps
from .yolo_nms import box_iou, corners, region_box


class _BodyBuilder:
    """OnnxBuilder's `op` for a Loop body: nodes go to a list of their own; constants stay
    initializers of the main graph (a body reads outer-scope names)."""

    def __init__(self, builder):
        from onnx import helper

        self.helper, self.outer, self.nodes = helper, builder, []

    def fresh(self, base: str) -> str:
        return self.outer.fresh(base)

    def const(self, layer, what, array, dtype=np.float32):
        return self.outer.const(layer, what, array, dtype=dtype)

    def op(self, op_type, inputs, layer, *, output=None, outputs=None, **attrs):
        names = outputs if outputs is not None else [output or self.fresh(f"{layer}/loop/{op_type}")]
        self.nodes.append(self.helper.make_node(op_type, inputs, names, **attrs))
        return names if outputs is not None else names[0]


def emit(args, node, inputs, outputs, builder):
    version, num_classes, threshold, nms_threshold, plans = args
    ops = OnnxOps(builder, node.name)
    parts = [_candidates(ops, x, plan, version, num_classes, threshold) for x, plan in zip(inputs, plans)]
    boxes, confidence, label, valid = (ops.op("Concat", list(p), axis=0) for p in zip(*parts))
    score = ops.op("Where", [valid, confidence, ops.operand(-np.inf)])
    count = ops.op("Shape", [score])
    _, order = builder.op("TopK", [score, count], node.name, axis=0, largest=1, sorted=1,
                          outputs=[builder.fresh(f"{node.name}/sorted"), builder.fresh(f"{node.name}/order")])
    boxes, confidence, label, valid = (ops.op("Gather", [v, order], axis=0) for v in (boxes, confidence, label, valid))
    kept = _greedy_nms(ops, boxes, valid, nms_threshold)
    return [_rows(ops, kept, boxes, confidence, label, inputs[0], outputs[0])]


def _entry(ops, t, k):
    return ops.unary("Gather", [t, ops.ints(k, scalar=True)], axis=-1)


def _candidates(ops, x, plan, version, num_classes, threshold):
    """One bottom's (boxes (M, 4), confidence (M,), label (M,) float, valid (M,)) in the fork's order."""
    height, width, entries, anchors_w, anchors_h, side_w, side_h, net_w, net_h = plan
    num_box = len(anchors_w)
    t = ops.op("Slice", [x, ops.ints([0]), ops.ints([num_box * entries]), ops.ints([1])])
    t = ops.op("Reshape", [t, ops.ints([-1, num_box, entries, height, width])])
    t = ops.op("Transpose", [t], perm=[0, 3, 4, 1, 2])  # (N, H, W, box, entries)
    b = ops.builder
    col = ops.tensor(b.const(ops.layer, "col", np.arange(width, dtype=np.float32).reshape(1, 1, width, 1)))
    row = ops.tensor(b.const(ops.layer, "row", np.arange(height, dtype=np.float32).reshape(1, height, 1, 1)))
    sx, sy = (ops.unary("Sigmoid", [_entry(ops, t, k)]) for k in (0, 1))
    box = region_box(ops, col, row, sx, sy, _entry(ops, t, 2), _entry(ops, t, 3),
                     ops.tensor(b.const(ops.layer, "anchors_w", np.asarray(anchors_w, np.float32))),
                     ops.tensor(b.const(ops.layer, "anchors_h", np.asarray(anchors_h, np.float32))),
                     float(side_w), float(side_h), float(net_w), float(net_h))
    boxes = ops.stack(list(box), -1)  # (N, H, W, box, 4)
    logits = ops.op("Slice", [t, ops.ints([5]), ops.ints([5 + num_classes]), ops.ints([-1])])
    objectness = ops.op("Sigmoid", [_entry(ops, t, 4)])
    if version == 2:  # class_index_and_score: the softmax's first largest entry
        large = b.reduce("ReduceMax", logits, [-1], ops.layer, keepdims=True)
        e = ops.op("Exp", [ops.op("Sub", [logits, large])])
        probability = ops.op("Div", [e, b.reduce("ReduceSum", e, [-1], ops.layer, keepdims=True)])
        confidence = ops.op("Mul", [objectness, b.reduce("ReduceMax", probability, [-1], ops.layer, keepdims=False)])
        label = ops.op("Cast", [ops.op("ArgMax", [probability], axis=-1, keepdims=0, select_last_index=0)], to=1)
        valid = ops.op("GreaterOrEqual", [confidence, ops.operand(threshold)])
        flat = [(boxes, [-1, 4]), (confidence, [-1]), (label, [-1]), (valid, [-1])]
        return tuple(ops.op("Reshape", [v, ops.ints(shape)]) for v, shape in flat)
    confidence = ops.op("Mul", [ops.op("Sigmoid", [logits]), ops.op("Unsqueeze", [objectness, ops.ints([-1])])])
    shape = ops.op("Shape", [confidence])  # (N, H, W, box, class)
    label = ops.op("Expand", [b.const(ops.layer, "labels", np.arange(num_classes, dtype=np.float32)), shape])
    boxes = ops.op("Expand", [ops.op("Unsqueeze", [boxes, ops.ints([-2])]),
                              ops.op("Concat", [shape, ops.ints([4])], axis=0)])
    valid = ops.op("Greater", [confidence, ops.operand(threshold)])
    flat = [(boxes, [-1, 4]), (confidence, [-1]), (label, [-1]), (valid, [-1])]
    return tuple(ops.op("Reshape", [v, ops.ints(shape)]) for v, shape in flat)


def _greedy_nms(ops, boxes, valid, nms_threshold) -> str:
    """A Loop while a candidate remains: the first remaining one is kept and drops the remaining
    ones it overlaps with box_iou >= nms_threshold (and itself)."""
    from onnx import TensorProto, helper

    layer = ops.layer
    columns = [ops.tensor(ops.op("Gather", [boxes, ops.ints(k, scalar=True)], axis=1)) for k in range(4)]
    positions = ops.op("Range", [ops.ints(0, scalar=True), ops.op("Squeeze", [ops.op("Shape", [valid]),
                                                                             ops.ints([0])]),
                                 ops.ints(1, scalar=True)])
    body = OnnxOps(_BodyBuilder(ops.builder), layer)
    k, cond, kept, remaining = (ops.builder.fresh(f"{layer}/loop/{n}") for n in ("k", "cond", "kept", "remaining"))
    first = body.op("ArgMax", [body.op("Cast", [remaining], to=TensorProto.FLOAT)], axis=0, keepdims=1)
    here = body.op("Equal", [positions, first])
    chosen = [body.unary("Gather", [c.name, first], axis=0) for c in columns]
    iou = box_iou(body, chosen, columns)
    dropped = body.op("Or", [body.op("GreaterOrEqual", [iou, ops.operand(nms_threshold)]), here])
    left = body.op("And", [remaining, body.op("Not", [dropped])])
    outs = [_any(body, left), body.op("Or", [kept, here]), body.op("Identity", [left])]
    graph = helper.make_graph(
        body.builder.nodes, f"{layer}_nms",
        [helper.make_tensor_value_info(k, TensorProto.INT64, []),
         helper.make_tensor_value_info(cond, TensorProto.BOOL, []),
         helper.make_tensor_value_info(kept, TensorProto.BOOL, None),
         helper.make_tensor_value_info(remaining, TensorProto.BOOL, None)],
        [helper.make_tensor_value_info(outs[0], TensorProto.BOOL, []),
         helper.make_tensor_value_info(outs[1], TensorProto.BOOL, None),
         helper.make_tensor_value_info(outs[2], TensorProto.BOOL, None)])
    any_valid = _any(ops, valid)
    none_kept = ops.op("And", [valid, ops.op("Not", [valid])])
    result, _ = ops.builder.op("Loop", ["", any_valid, none_kept, valid], layer, body=graph,
                               outputs=[ops.builder.fresh(f"{layer}/kept"), ops.builder.fresh(f"{layer}/left")])
    return result


def _any(ops, mask) -> str:
    """A 0-d bool: whether any entry of `mask` is set (a Loop's condition)."""
    from onnx import TensorProto

    largest = ops.op("ReduceMax", [ops.op("Cast", [mask], to=TensorProto.FLOAT)], keepdims=0)
    return ops.op("Cast", [largest], to=TensorProto.BOOL)


def _rows(ops, kept, boxes, confidence, label, first_bottom, output) -> str:
    """The kept candidates' rows in sorted order, else one [image, -1, ...] row per image: 1 x 1 x R x 7."""
    from onnx import TensorProto

    columns = [ops.tensor(ops.op("Gather", [boxes, ops.ints(k, scalar=True)], axis=1)) for k in range(4)]
    left, top, right, bottom = corners(*columns)
    plus_one = ops.op("Add", [label, ops.operand(1.0)])
    zeros = ops.op("Mul", [confidence, ops.operand(0.0)])
    every = ops.op("Concat", [ops.op("Unsqueeze", [v.name if hasattr(v, "name") else v, ops.ints([1])])
                              for v in (zeros, plus_one, confidence, left, top, right, bottom)], axis=1)
    index = ops.op("Reshape", [ops.op("NonZero", [kept]), ops.ints([-1])])
    rows = ops.op("Gather", [every, index], axis=0)
    batch = ops.op("Slice", [ops.op("Shape", [first_bottom]), ops.ints([0]), ops.ints([1])])
    image_ids = ops.op("Cast", [ops.op("Range", [ops.ints(0, scalar=True), ops.op("Squeeze", [batch, ops.ints([0])]),
                                                 ops.ints(1, scalar=True)])], to=TensorProto.FLOAT)
    minus = ops.op("Expand", [ops.builder.const(ops.layer, "minus_ones", -np.ones((1, 6), np.float32)),
                              ops.op("Concat", [batch, ops.ints([6])], axis=0)])
    none = ops.op("Concat", [ops.op("Unsqueeze", [image_ids, ops.ints([1])]), minus], axis=1)
    count = ops.op("Slice", [ops.op("Shape", [rows]), ops.ints([0]), ops.ints([1])])
    end = ops.op("Where", [ops.op("Equal", [count, ops.ints([0])]), batch, count])
    chosen = ops.op("Slice", [ops.op("Concat", [rows, none], axis=0), ops.ints([0]), end, ops.ints([0])])
    return ops.op("Reshape", [chosen, ops.ints([1, 1, -1, 7])], output=output)
