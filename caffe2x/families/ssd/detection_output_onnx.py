"""DetectionOutput in standard ONNX operators, exactly the fork's algorithm.

ONNX's NonMaximumSuppression is not the fork's ApplyNMSFast (no pre-NMS top_k, no adaptive
eta, tie order unspecified), so the greedy NMS is written out:
- TopK per (image, class) over the priors: sorted, ties by the lower prior first (the ONNX
  spec), the fork's stable sort; its first top_k; those above confidence_threshold are a
  prefix of it, as the fork's filtered list;
- the overlaps of the candidates with each other (the rules of detection_output.py, through
  OnnxOps), then one Loop over the candidate positions that keeps a candidate when it
  overlaps no kept one by more than the (adaptive) threshold, for all images and classes at once;
- keep_top_k: TopK over each image's kept scores in label, then NMS order (ties: the lower
  label, then the earlier kept), as the reference;
- NonZero over (image, label, position) gives the fork's row order; the "no detection" rows
  are sliced in when there is no row at all.
"""

from __future__ import annotations

import numpy as np

from .detection_output import box_sizes, decode_boxes, jaccard_overlap


class OnnxTensor:
    """An ONNX tensor the rules compute with: each operator adds a node."""

    def __init__(self, ops: OnnxOps, name: str):
        self.ops, self.name = ops, name

    def __getitem__(self, key):  # only the rules' `x[..., k]`: the k-th coordinate
        assert isinstance(key, tuple) and key[0] is Ellipsis and len(key) == 2
        return self.ops.unary("Gather", [self.name, self.ops.ints(key[1], scalar=True)], axis=-1)

    def _binary(self, op, other, reverse=False):
        a, b = self.name, self.ops.operand(other)
        return self.ops.unary(op, [b, a] if reverse else [a, b])

    def __add__(self, other): return self._binary("Add", other)
    def __radd__(self, other): return self._binary("Add", other, True)
    def __sub__(self, other): return self._binary("Sub", other)
    def __rsub__(self, other): return self._binary("Sub", other, True)
    def __mul__(self, other): return self._binary("Mul", other)
    def __rmul__(self, other): return self._binary("Mul", other, True)
    def __truediv__(self, other): return self._binary("Div", other)
    def __gt__(self, other): return self._binary("Greater", other)
    def __lt__(self, other): return self._binary("Less", other)
    def __le__(self, other): return self._binary("LessOrEqual", other)
    def __and__(self, other): return self._binary("And", other)
    def __or__(self, other): return self._binary("Or", other)


class OnnxOps:
    """The rules' array module (exp, where, maximum, minimum, stack) over an OnnxBuilder."""

    def __init__(self, builder, layer: str):
        self.builder, self.layer = builder, layer

    def tensor(self, name: str) -> OnnxTensor:
        return OnnxTensor(self, name)

    def op(self, op_type: str, inputs, **attrs) -> str:
        return self.builder.op(op_type, [self.operand(x) for x in inputs], self.layer, **attrs)

    def unary(self, op_type: str, inputs, **attrs) -> OnnxTensor:
        return self.tensor(self.op(op_type, inputs, **attrs))

    def operand(self, x) -> str:
        if isinstance(x, OnnxTensor):
            return x.name
        if isinstance(x, str):
            return x
        return self.builder.const(self.layer, "c", np.float32(x))

    def ints(self, values, scalar: bool = False) -> str:
        """An int64 constant; scalar: a 0-d one (initializers are stored 1-d, so squeezed)."""
        array = np.asarray(values, np.int64).reshape(-1)
        const = self.builder.const(self.layer, "i", array, dtype=np.int64)
        return self.op("Squeeze", [const, self.ints([0])]) if scalar else const

    def exp(self, x): return self.unary("Exp", [x])
    def where(self, c, a, b): return self.unary("Where", [c, a, b])
    def maximum(self, a, b): return self.unary("Max", [a, b])
    def minimum(self, a, b): return self.unary("Min", [a, b])

    def stack(self, values, axis):
        return self.unary("Concat", [self.op("Unsqueeze", [v, self.ints([axis])]) for v in values], axis=axis)


def emit(node, inputs, outputs, builder):
    p = node.params
    ops = OnnxOps(builder, node.name)
    prior_shape = builder.shape(node.inputs[2])
    num_priors = prior_shape[2] // 4
    classes = [c for c in range(p.num_classes) if c != p.background_label_id]
    k = min(p.top_k, num_priors) if p.top_k > -1 else num_priors
    if not classes or k == 0:
        return [_rows_or_none(ops, inputs[0], None, outputs[0])]
    boxes = _decoded(ops, inputs, num_priors, p)  # (B, C', P, 4)
    scores = _class_scores(ops, inputs[1], num_priors, p.num_classes, classes)  # (B, C', P)
    top_scores, top_idx = builder.op("TopK", [scores.name, ops.ints([k])], node.name, axis=-1, largest=1,
                                     sorted=1, outputs=[builder.fresh(f"{node.name}/top"),
                                                        builder.fresh(f"{node.name}/top_idx")])
    valid = ops.tensor(top_scores) > p.confidence_threshold
    index = ops.op("Unsqueeze", [top_idx, ops.ints([-1])])
    candidates = ops.unary("GatherND", [boxes, index], batch_dims=2)  # (B, C', K, 4)
    kept = _greedy_nms(ops, candidates, valid, k, p)
    if p.keep_top_k > -1:
        kept = _keep_top_k(ops, kept, ops.tensor(top_scores), len(classes) * k, p.keep_top_k)
    return [_rows_or_none(ops, inputs[0], (kept, top_scores, candidates, classes), outputs[0])]


def _decoded(ops, inputs, num_priors, p) -> OnnxTensor:
    """The decoded boxes per (image, class, prior): (B, C', P, 4)."""
    first = ops.op("Gather", [inputs[2], ops.ints(0, scalar=True)], axis=0)  # the priors of the first item
    prior = ops.op("Reshape", [first, ops.ints([2, num_priors, 1, 4])])
    priors = ops.tensor(ops.op("Gather", [prior, ops.ints(0, scalar=True)], axis=0))
    variances = ops.tensor(ops.op("Gather", [prior, ops.ints(1, scalar=True)], axis=0))
    loc = ops.tensor(ops.op("Reshape", [inputs[0], ops.ints([0, num_priors, p.num_loc_classes, 4])]))
    boxes = decode_boxes(ops, priors, variances, loc, p.code_type, p.variance_encoded_in_target, p.clip)
    boxes = ops.op("Transpose", [boxes], perm=[0, 2, 1, 3])  # (B, L, P, 4)
    classes = [c for c in range(p.num_classes) if c != p.background_label_id]
    if p.share_location:
        return ops.unary("Expand", [boxes, ops.ints([1, len(classes), 1, 1])])
    return ops.unary("Gather", [boxes, ops.ints(classes)], axis=1)


def _class_scores(ops, conf, num_priors, num_classes, classes) -> OnnxTensor:
    conf = ops.op("Reshape", [conf, ops.ints([0, num_priors, num_classes])])
    conf = ops.op("Transpose", [conf], perm=[0, 2, 1])
    return ops.unary("Gather", [conf, ops.ints(classes)], axis=1)


def _greedy_nms(ops, candidates, valid, k, p) -> OnnxTensor:
    """ApplyNMSFast for every (image, class) at once: a Loop over the K candidate positions."""
    from onnx import TensorProto

    sizes = box_sizes(ops, candidates)  # (B, C', K)
    unsq = [ops.op("Unsqueeze", [x, ops.ints([axis])]) for x, axis in
            ((candidates, 3), (sizes, 3), (candidates, 2), (sizes, 2))]
    overlaps = jaccard_overlap(ops, ops.tensor(unsq[0]), ops.tensor(unsq[1]), ops.tensor(unsq[2]),
                               ops.tensor(unsq[3]))  # (B, C', K, K): row i against every j
    kept0 = ops.op("And", [valid, ops.unary("Not", [valid])])  # all false, (B, C', K)
    first = ops.op("Gather", [ops.op("Cast", [valid], to=TensorProto.FLOAT), ops.ints(0, scalar=True)], axis=2)
    thr0 = ops.op("Add", [ops.op("Mul", [first, ops.operand(0.0)]), ops.operand(p.nms_threshold)])  # (B, C')
    positions = ops.ints(list(range(k)))
    body = _nms_body(ops, overlaps.name, valid.name, positions, p.eta)
    trip = ops.ints(k, scalar=True)
    kept, _ = ops.builder.op("Loop", [trip, "", kept0, thr0], ops.layer, body=body,
                             outputs=[ops.builder.fresh(f"{ops.layer}/kept"), ops.builder.fresh(f"{ops.layer}/thr")])
    return ops.tensor(kept)


def _nms_body(ops, overlaps, valid, positions, eta):
    """Loop body: (k, cond, kept, thr) -> (cond, kept, thr): candidate k is kept when it is valid
    and no kept candidate overlaps it by more than thr (NaN overlaps suppress, as `<=` in the fork)."""
    from onnx import TensorProto, helper

    nodes, fresh = [], iter(range(1000))

    def node(op_type, inputs, **attrs):
        name = f"{ops.layer}/loop/{op_type}_{next(fresh)}"
        nodes.append(helper.make_node(op_type, inputs, [name], **attrs))
        return name

    k, cond, kept, thr = (f"{ops.layer}/loop/{n}" for n in ("k", "cond", "kept", "thr"))
    row = node("Gather", [overlaps, k], axis=2)  # (B, C', K)
    thr_col = node("Unsqueeze", [thr, ops.ints([-1])])
    beyond = node("And", [node("Not", [node("LessOrEqual", [row, thr_col])]), kept])
    beyond_count = node("ReduceSum", [node("Cast", [beyond], to=TensorProto.FLOAT), ops.ints([-1])], keepdims=0)
    suppressed = node("Greater", [beyond_count, ops.operand(0.0)])
    keep = node("And", [node("Gather", [valid, k], axis=2), node("Not", [suppressed])])  # (B, C')
    here = node("Equal", [positions, k])  # (K,)
    kept_out = node("Or", [kept, node("And", [here, node("Unsqueeze", [keep, ops.ints([-1])])])])
    thr_out = thr
    if eta < 1:
        shrink = node("And", [keep, node("Greater", [thr, ops.operand(0.5)])])
        thr_out = node("Where", [shrink, node("Mul", [thr, ops.operand(eta)]), thr])
    cond_out = node("Identity", [cond])
    kept_final = node("Identity", [kept_out])
    thr_final = node("Identity", [thr_out])
    graph = helper.make_graph(
        nodes, f"{ops.layer}_nms",
        [helper.make_tensor_value_info(k, TensorProto.INT64, []),
         helper.make_tensor_value_info(cond, TensorProto.BOOL, []),
         helper.make_tensor_value_info(kept, TensorProto.BOOL, None),
         helper.make_tensor_value_info(thr, TensorProto.FLOAT, None)],
        [helper.make_tensor_value_info(cond_out, TensorProto.BOOL, []),
         helper.make_tensor_value_info(kept_final, TensorProto.BOOL, None),
         helper.make_tensor_value_info(thr_final, TensorProto.FLOAT, None)])
    return graph


def _keep_top_k(ops, kept, top_scores, width, keep_top_k) -> OnnxTensor:
    """Each image's keep_top_k highest kept scores, ties to the lower label, then NMS position."""
    from onnx import TensorProto

    flat_kept = ops.op("Reshape", [kept, ops.ints([0, width])])
    flat = ops.op("Reshape", [top_scores, ops.ints([0, width])])
    flat = ops.op("Where", [flat_kept, flat, ops.operand(-np.inf)])
    count = min(keep_top_k, width)
    if count == 0:
        return ops.unary("And", [kept, ops.unary("Not", [kept])])
    names = [ops.builder.fresh(f"{ops.layer}/best"), ops.builder.fresh(f"{ops.layer}/best_idx")]
    _, best = ops.builder.op("TopK", [flat, ops.ints([count])], ops.layer, axis=-1, largest=1, sorted=1, outputs=names)
    zeros = ops.op("Mul", [ops.op("Cast", [flat_kept], to=TensorProto.FLOAT), ops.operand(0.0)])
    ones = ops.op("Add", [ops.op("Mul", [ops.op("Cast", [best], to=TensorProto.FLOAT), ops.operand(0.0)]),
                          ops.operand(1.0)])
    chosen = ops.op("Cast", [ops.op("ScatterElements", [zeros, best, ones], axis=1)], to=TensorProto.BOOL)
    chosen = ops.op("Reshape", [chosen, ops.op("Shape", [kept])])
    return ops.unary("And", [kept, chosen])


def _rows_or_none(ops, loc, found, output) -> str:
    """The rows of the kept (image, label, position) in row-major order, else the fork's
    [image, -1, ...] rows: 1 x 1 x N x 7."""
    from onnx import TensorProto

    batch = ops.op("Slice", [ops.op("Shape", [loc]), ops.ints([0]), ops.ints([1])])  # (1,)
    image_ids = ops.op("Cast", [ops.op("Range", [ops.ints(0, scalar=True),
                                                 ops.op("Squeeze", [batch, ops.ints([0])]),
                                                 ops.ints(1, scalar=True)])], to=TensorProto.FLOAT)
    minus = ops.op("Expand", [ops.builder.const(ops.layer, "minus_ones", -np.ones((1, 6), np.float32)),
                              ops.op("Concat", [batch, ops.ints([6])], axis=0)])
    none = ops.op("Concat", [ops.op("Unsqueeze", [image_ids, ops.ints([1])]), minus], axis=1)  # (B, 7)
    if found is None:
        return ops.op("Reshape", [none, ops.ints([1, 1, -1, 7])], output=output)
    kept, top_scores, candidates, classes = found
    index = ops.op("Transpose", [ops.op("NonZero", [kept])], perm=[1, 0])  # (R, 3): image, class, position
    columns = [ops.op("Slice", [index, ops.ints([i]), ops.ints([i + 1]), ops.ints([1])]) for i in range(2)]
    image = ops.op("Cast", [columns[0]], to=TensorProto.FLOAT)
    label = ops.op("Gather", [ops.builder.const(ops.layer, "labels", np.asarray(classes, np.float32)),
                              columns[1]])
    score = ops.op("Unsqueeze", [ops.op("GatherND", [top_scores, index]), ops.ints([1])])
    box = ops.op("GatherND", [candidates, index])
    rows = ops.op("Concat", [image, label, score, box], axis=1)  # (R, 7)
    count = ops.op("Slice", [ops.op("Shape", [rows]), ops.ints([0]), ops.ints([1])])
    end = ops.op("Where", [ops.op("Equal", [count, ops.ints([0])]), batch, count])
    chosen = ops.op("Slice", [ops.op("Concat", [rows, none], axis=0), ops.ints([0]), end, ops.ints([0])])
    return ops.op("Reshape", [chosen, ops.ints([1, 1, -1, 7])], output=output)
