"""YoloDetectionOutput / Yolov3DetectionOutput in standard ONNX operators: yolo_nms.py's
formulation (its rules through the SSD family's OnnxOps), the greedy NMS as one Loop whose
condition is "a candidate remains", so it runs once per output row; its state is the remaining
candidates, compacted at every step.

ONNX's NonMaximumSuppression is not the fork's ApplyNms (center-form IoU with the fork's float
arithmetic, `>=`, one class-agnostic list for the whole batch), so the loop is written out.
"""

from __future__ import annotations

import numpy as np

from ..ssd.detection_output_onnx import OnnxOps
from .yolo_nms import box_iou, corners, nms_terms, region_box


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
    chosen = ops.op("Reshape", [ops.op("NonZero", [valid]), ops.ints([-1])])  # the valid ones, in push order
    boxes, confidence, label = (ops.op("Gather", [v, chosen], axis=0) for v in (boxes, confidence, label))
    count = ops.op("Shape", [confidence])
    _, order = builder.op("TopK", [confidence, count], node.name, axis=0, largest=1, sorted=1,  # ties: lower index
                          outputs=[builder.fresh(f"{node.name}/sorted"), builder.fresh(f"{node.name}/order")])
    boxes, confidence, label = (ops.op("Gather", [v, order], axis=0) for v in (boxes, confidence, label))
    kept = _greedy_nms(ops, boxes, nms_threshold)
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


def _greedy_nms(ops, boxes, nms_threshold) -> str:
    """A Loop while a candidate remains: the first remaining one is kept (its position appended)
    and the remaining ones it overlaps with box_iou >= nms_threshold go, with itself; the state
    is the remaining candidates' nms_terms and positions. The kept positions (K,), in order."""
    from onnx import TensorProto, helper

    layer = ops.layer
    columns = [ops.tensor(ops.op("Gather", [boxes, ops.ints(k, scalar=True)], axis=1)) for k in range(4)]
    terms = [ops.operand(t) for t in nms_terms(ops, *columns)]
    positions = ops.op("Range", [ops.ints(0, scalar=True), ops.op("Size", [terms[0]]), ops.ints(1, scalar=True)])
    body = OnnxOps(_BodyBuilder(ops.builder), layer)
    names = [ops.builder.fresh(f"{layer}/loop/{n}") for n in ("k", "cond", "l", "r", "t", "b", "area", "at", "kept")]
    remaining, at, kept = [body.tensor(n) for n in names[2:7]], names[7], names[8]
    first = [body.unary("Slice", [t, ops.ints([0]), ops.ints([1])]) for t in remaining]
    first_at = body.op("Slice", [at, ops.ints([0]), ops.ints([1])])
    overlapped = body.op("GreaterOrEqual", [box_iou(body, first, remaining), ops.operand(nms_threshold)])
    stays = body.op("Not", [body.op("Or", [overlapped, body.op("Equal", [at, first_at])])])
    left = [body.op("Compress", [v, stays], axis=0) for v in names[2:8]]
    outs = [_nonempty(body, left[-1]), *left, body.op("Concat", [kept, first_at], axis=0)]
    carried = [(n, TensorProto.FLOAT) for n in names[2:7]] + [(at, TensorProto.INT64), (kept, TensorProto.INT64)]
    graph = helper.make_graph(
        body.builder.nodes, f"{layer}_nms",
        [helper.make_tensor_value_info(names[0], TensorProto.INT64, []),
         helper.make_tensor_value_info(names[1], TensorProto.BOOL, []),
         *(helper.make_tensor_value_info(n, t, None) for n, t in carried)],
        [helper.make_tensor_value_info(outs[0], TensorProto.BOOL, []),
         *(helper.make_tensor_value_info(n, t, None) for n, (_, t) in zip(outs[1:], carried))])
    none_kept = ops.builder.const(layer, "none_kept", np.zeros(0, np.int64), dtype=np.int64)
    results = ops.builder.op("Loop", ["", _nonempty(ops, positions), *terms, positions, none_kept], layer, body=graph,
                             outputs=[ops.builder.fresh(f"{layer}/nms/{n}") for n in names[2:]])
    return results[-1]


def _nonempty(ops, vector) -> str:
    """A 0-d bool: whether `vector` holds anything (a Loop's condition)."""
    return ops.op("Greater", [ops.op("Size", [vector]), ops.ints(0, scalar=True)])


def _rows(ops, kept, boxes, confidence, label, first_bottom, output) -> str:
    """The kept candidates' rows (kept: their sorted positions, in order), else one
    [image, -1, ...] row per image: 1 x 1 x R x 7."""
    from onnx import TensorProto

    columns = [ops.tensor(ops.op("Gather", [boxes, ops.ints(k, scalar=True)], axis=1)) for k in range(4)]
    left, top, right, bottom = corners(*columns)
    plus_one = ops.op("Add", [label, ops.operand(1.0)])
    zeros = ops.op("Mul", [confidence, ops.operand(0.0)])
    every = ops.op("Concat", [ops.op("Unsqueeze", [v.name if hasattr(v, "name") else v, ops.ints([1])])
                              for v in (zeros, plus_one, confidence, left, top, right, bottom)], axis=1)
    rows = ops.op("Gather", [every, kept], axis=0)
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
