"""Region proposals (Faster R-CNN's RPN): anchors + predicted deltas -> (R, 5) ROIs.

One implementation, two Caffe spellings:

    layer { type: "Python" bottom: "rpn_cls_prob_reshape" bottom: "rpn_bbox_pred" bottom: "im_info"
            top: "rois" python_param { module: "rpn.proposal_layer" layer: "ProposalLayer"
                                       param_str: "'feat_stride': 16" } }
    layer { type: "Proposal" bottom: ... (the same three) top: "rois"
            proposal_param { feat_stride: 16 base_size: 16 min_size: 16 ratio: 0.5 ratio: 1 ratio: 2
                             scale: 8 scale: 16 scale: 32 pre_nms_topn: 6000 post_nms_topn: 300
                             nms_thresh: 0.7 } }

Semantics: py-faster-rcnn (rbgirshick/py-faster-rcnn @781a917b378dbfdedb45b6a56189a31982da1b43)
lib/rpn/proposal_layer.py with lib/rpn/generate_anchors.py, lib/fast_rcnn/bbox_transform.py
(bbox_transform_inv, clip_boxes), lib/nms/py_cpu_nms.py and the TEST defaults of
lib/fast_rcnn/config.py (RPN_PRE_NMS_TOP_N 6000, RPN_POST_NMS_TOP_N 300, RPN_NMS_THRESH 0.7,
RPN_MIN_SIZE 16), in float32 as its blobs:
- anchors: generate_anchors(base_size 16, ratios (0.5, 1, 2), scales) with np.round (half to
  even), ratio-major; shifted by (w, h) * feat_stride, rows ordered (h, w, anchor);
- scores: the second half of bottom 0's channels (foreground), (1, 2A, H, W) -> (H*W*A,);
  deltas (1, 4A, H, W) -> (H*W*A, 4), the same order;
- bbox_transform_inv with widths x2 - x1 + 1 and centres x1 + 0.5 * w (no -1 on x2: the
  source's), clip to [0, im_w - 1] x [0, im_h - 1] (im_info = (height, width, scale));
- keep boxes whose x2 - x1 + 1 and y2 - y1 + 1 are >= min_size * im_info[2];
- sort by score, descending (ties: the lower anchor first; py-faster-rcnn's argsort()[::-1]
  leaves ties unspecified), the first pre_nms_topn (<= 0: all), greedy NMS suppressing an
  overlap > nms_thresh (areas and intersections with +1), the first post_nms_topn kept;
- rois [0, x1, y1, x2, y2] (R x 5), and the optional second top the scores (R x 1).
R is known only after the run: the shape rule gives Caffe's Reshape placeholder R = 1 and
the layer declares dim 0 data-dependent. The fork takes one image (batch 1), as here.

The C++ type reads OpenCV's ProposalParameter (proposal.proto): the same computation with
base_size, min_size, ratio, scale, the top-N counts and nms_thresh as parameters; an absent
ratio/scale list is py-faster-rcnn's (0.5, 1, 2) / (8, 16, 32).

Variant "pva" (--layer-variant Proposal=pva; the C++ type only): the C++ Proposal of
pva-faster-rcnn as openvinotoolkit/training_toolbox_caffe@46feb72b2220b0f09dd7b98a1a6e8ed51ddf2137
src/caffe/layers/proposal_layer.cpp ships it (the one OpenVINO's Caffe front end reads), with the
same type name and proposal_param. Every rule above is shared except:
- im_info is (height, width, scale_h, scale_w): the minimum height is min_size * scale_h, the
  minimum width min_size * scale_w;
- a box under the minimum size is not removed: its score becomes 0 (flag * score), and it is
  sorted and goes through NMS with the others;
- the sort is the fork's partial quicksort (sort_box) of every box, the first pre_nms_topn
  sorted; equal scores (the zeroed boxes) come in its order, which the reference reproduces
  (fork_sort_order) and the targets do not (ties to the lower anchor): NMS among zeroed boxes
  may then keep others, so their rows can differ (the boxes scored above 0 agree exactly);
- the scores top is (R,), not (R, 1);
- anchors round half up ((int)(x + 0.5)) where py-faster-rcnn's np.round rounds half to even;
- pre_nms_topn and post_nms_topn must be > 0 (the fork has no "all").
Known deviation: the fork's NMS overlap is 0 for boxes apart by less than a pixel (x1 > the
other's x2), where py_cpu_nms's +1 width counts an overlap (at most (1 - gap) / (1 + gap), for
boxes a pixel wide); caffe2x keeps py_cpu_nms's (the ONNX and TensorFlow NMS ops compute it), so
only such sub-pixel-apart pairs, thin boxes in practice, could be suppressed otherwise.

The rules below are plain functions over an array module `xp` (numpy, torch, tensorflow, or
OnnxOps emitting ONNX nodes), used by the reference here and by every target:
proposal_onnx.py (TopK + NonMaxSuppression), proposal_torch.py (the greedy NMS as a
fixed-point torch.while_loop, exact), proposal_keras.py (top_k + NonMaxSuppressionV4, a
TFLite builtin).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from caffe2x import api as caffe2x_api
from caffe2x.extend import (
    DataBottom,
    KerasLayer,
    LayerDef,
    TorchLayer,
    check,
    float_literal,
    fork_params,
    python_param_mapping,
)

from .roi_inputs import known_image

# py-faster-rcnn's lib/fast_rcnn/config.py, cfg.TEST
TEST_PRE_NMS_TOP_N, TEST_POST_NMS_TOP_N, TEST_NMS_THRESH, TEST_MIN_SIZE = 6000, 300, 0.7, 16
DEFAULT_RATIOS, DEFAULT_SCALES = (0.5, 1.0, 2.0), (8.0, 16.0, 32.0)
PY_MODULE, PY_LAYER = "rpn.proposal_layer", "ProposalLayer"
PY_FASTER_RCNN, PVA = "py-faster-rcnn", "pva"  # the rules a generated model.py copies spell "pva" out


@dataclass(frozen=True)
class ProposalParams:
    feat_stride: int
    base_size: int
    min_size: float
    ratios: tuple[float, ...]
    scales: tuple[float, ...]
    pre_nms_topn: int  # <= 0: no cut
    post_nms_topn: int  # <= 0: no cut
    nms_thresh: float
    tops: int = 1  # rois, or rois and scores
    variant: str = PY_FASTER_RCNN  # or PVA: --layer-variant Proposal=pva
    # pva only: equal scores in its quicksort's order (the fork), or by anchor (the targets' sorts;
    # verify's row-flip rule, LayerDef.equal_score_orders)
    quicksort_ties: bool = True

    @property
    def num_anchors(self) -> int:
        return len(self.ratios) * len(self.scales)


def build_cpp(value) -> ProposalParams:
    """proposal_param (OpenCV's ProposalParameter)."""
    check(value.feat_stride > 0, f"proposal_param.feat_stride must be > 0 (got {value.feat_stride})")
    return ProposalParams(int(value.feat_stride), int(value.base_size), float(value.min_size),
                          tuple(float(r) for r in value.ratio) or DEFAULT_RATIOS,
                          tuple(float(s) for s in value.scale) or DEFAULT_SCALES,
                          int(value.pre_nms_topn), int(value.post_nms_topn), float(value.nms_thresh))


def to_pva(params: ProposalParams) -> ProposalParams:
    """The pva variant (LayerDef.variants["pva"]): the same parameters, pva-faster-rcnn's rules."""
    check(params.pre_nms_topn > 0 and params.post_nms_topn > 0,
          "the pva Proposal needs pre_nms_topn and post_nms_topn > 0 (its sort and output are sized by them), "
          f"got {params.pre_nms_topn} and {params.post_nms_topn}")
    return replace(params, variant=PVA)


def anchor_ordered_ties(params: ProposalParams) -> tuple[ProposalParams, ...]:
    """LayerDef.equal_score_orders: pva's boxes under min_size all score 0, and its quicksort
    leaves them in the order of its swaps, which decides the ones NMS keeps among them; a
    target's sort takes them by anchor. Both are the fork's rule, sort by score."""
    return (replace(params, quicksort_ties=False),) if params.variant == PVA else ()


def parse_python(layer) -> ProposalParams:
    """py-faster-rcnn's ProposalLayer.setup: param_str gives feat_stride (required) and
    optionally scales; the rest is cfg.TEST."""
    values = python_param_mapping(layer)
    check("feat_stride" in values, "py-faster-rcnn's ProposalLayer needs param_str \"'feat_stride': N\" "
                                   f"(param_str gives {sorted(values)})")
    stride, scales = values["feat_stride"], values.get("scales", DEFAULT_SCALES)
    check(isinstance(stride, int) and not isinstance(stride, bool) and stride > 0,
          f"param_str feat_stride must be a positive integer, not {stride!r}")
    scales = scales if isinstance(scales, (list, tuple)) else [scales]
    check(len(scales) > 0 and all(isinstance(s, (int, float)) and not isinstance(s, bool) and s > 0 for s in scales),
          f"param_str scales must be positive numbers, not {values.get('scales')!r}")
    return ProposalParams(stride, 16, float(TEST_MIN_SIZE), DEFAULT_RATIOS, tuple(float(s) for s in scales),
                          TEST_PRE_NMS_TOP_N, TEST_POST_NMS_TOP_N, TEST_NMS_THRESH)


def infer(params: ProposalParams, bottoms):
    """ProposalLayer's forward reads (scores 1 x 2A x H x W, deltas 1 x 4A x H x W, im_info 1 x 3);
    tops (R x 5) and optionally (R x 1), R = 1 as Caffe's placeholder."""
    check(len(bottoms) == 3, f"a Proposal layer takes three bottoms: the RPN scores, the box deltas and im_info "
                             f"(image height, width, scale), which clipping and the minimum size need; this one has "
                             f"{len(bottoms)}{' (no im_info)' if len(bottoms) == 2 else ''}")
    scores, deltas, im_info = bottoms
    a = params.num_anchors
    check(len(scores) == 4 and len(deltas) == 4, f"scores and deltas must be 4-D, got {list(scores)}, {list(deltas)}")
    check(scores[0] == 1, f"py-faster-rcnn's proposal layer takes one image (batch 1), got batch {scores[0]}")
    check(scores[1] == 2 * a, f"scores have {scores[1]} channels, expected 2 x {a} anchors = {2 * a} "
                              "(background, then foreground)")
    check(tuple(deltas) == (1, 4 * a, *scores[2:]),
          f"deltas must be 1 x {4 * a} x {scores[2]} x {scores[3]} (4 per anchor), got {list(deltas)}")
    values, layout = (4, "height, width, scale_h, scale_w") if params.variant == PVA else (3, "height, width, scale")
    check(len(im_info) >= 2 and im_info[-1] >= values,
          f"im_info must be 1 x {values} ({layout}) for the {params.variant} Proposal, got {list(im_info)}")
    return [(1, 5), score_rows(params.variant, 1)][:params.tops]


# ---------------------------------------------------------------------------------------------
# Rules: py-faster-rcnn's arithmetic, float32, over an array module xp. Boxes are lists of
# four coordinate arrays [x1, y1, x2, y2].
# ---------------------------------------------------------------------------------------------

def round_half_up(x):
    """pva-faster-rcnn's ROUND(x): (int)(x + 0.5), for the positive sizes of its anchors."""
    return np.floor(np.asarray(x) + 0.5)


def base_anchors(params: ProposalParams) -> np.ndarray:
    """The variant's anchors: py-faster-rcnn rounds half to even (np.round), pva half up."""
    rounding = round_half_up if params.variant == PVA else np.round
    return generate_anchors(params.base_size, params.ratios, params.scales, rounding)


def generate_anchors(base_size: int, ratios, scales, rounding=np.round) -> np.ndarray:
    """generate_anchors.py: (A, 4) float64, ratio-major, around the (0, 0, base-1, base-1) window."""
    def whctrs(anchor):
        w, h = anchor[2] - anchor[0] + 1, anchor[3] - anchor[1] + 1
        return w, h, anchor[0] + 0.5 * (w - 1), anchor[1] + 0.5 * (h - 1)

    def mkanchors(ws, hs, x_ctr, y_ctr):
        ws, hs = ws[:, None], hs[:, None]
        return np.hstack((x_ctr - 0.5 * (ws - 1), y_ctr - 0.5 * (hs - 1),
                          x_ctr + 0.5 * (ws - 1), y_ctr + 0.5 * (hs - 1)))

    w, h, x_ctr, y_ctr = whctrs(np.array([1, 1, base_size, base_size], np.float64) - 1)
    ws = rounding(np.sqrt(w * h / np.asarray(ratios, np.float64)))
    ratio_anchors = mkanchors(ws, rounding(ws * np.asarray(ratios, np.float64)), x_ctr, y_ctr)
    scales = np.asarray(scales, np.float64)
    out = []
    for anchor in ratio_anchors:
        w, h, x_ctr, y_ctr = whctrs(anchor)
        out.append(mkanchors(w * scales, h * scales, x_ctr, y_ctr))
    return np.vstack(out)


def shifted_anchors(base: np.ndarray, height: int, width: int, feat_stride: int) -> np.ndarray:
    """Every anchor at every cell: (H * W * A, 4) float32, rows ordered (h, w, anchor)."""
    shift_x, shift_y = np.meshgrid(np.arange(width) * feat_stride, np.arange(height) * feat_stride)
    shifts = np.stack([shift_x.ravel(), shift_y.ravel(), shift_x.ravel(), shift_y.ravel()], 1)
    return (base[None] + shifts[:, None]).reshape(-1, 4).astype(np.float32)


def rpn_decode(xp, anchors, deltas):
    """bbox_transform_inv: anchors and deltas (N, 4) -> [x1, y1, x2, y2], float32 op by op."""
    widths = anchors[..., 2] - anchors[..., 0] + 1.0
    heights = anchors[..., 3] - anchors[..., 1] + 1.0
    ctr_x = anchors[..., 0] + 0.5 * widths
    ctr_y = anchors[..., 1] + 0.5 * heights
    pred_ctr_x = deltas[..., 0] * widths + ctr_x
    pred_ctr_y = deltas[..., 1] * heights + ctr_y
    pred_w = xp.exp(deltas[..., 2]) * widths
    pred_h = xp.exp(deltas[..., 3]) * heights
    return [pred_ctr_x - 0.5 * pred_w, pred_ctr_y - 0.5 * pred_h, pred_ctr_x + 0.5 * pred_w, pred_ctr_y + 0.5 * pred_h]


def rpn_clip(xp, box, im_h, im_w):
    """clip_boxes: max(min(v, im_side - 1), 0) for x against the width, y against the height."""
    x_max, y_max = im_w - 1.0, im_h - 1.0
    limits = (x_max, y_max, x_max, y_max)
    return [xp.maximum(xp.minimum(v, limit), 0.0 * limit) for v, limit in zip(box, limits)]


def rpn_min_sides(info, min_size, variant: str):
    """(minimum width, minimum height) from im_info (flat): min_size * im_info[2] for both
    (py-faster-rcnn), min_size * scale_w (im_info[3]) and min_size * scale_h (im_info[2]) (pva)."""
    if variant == "pva":
        return info[3] * min_size, info[2] * min_size
    return info[2] * min_size, info[2] * min_size


def rpn_too_small(box, min_w, min_h):
    """_filter_boxes' complement: a width x2 - x1 + 1 below min_w or a height y2 - y1 + 1 below min_h."""
    return ((box[2] - box[0] + 1.0) < min_w) | ((box[3] - box[1] + 1.0) < min_h)


def score_rows(variant: str, rows):
    """The scores top's shape: (R, 1) (py-faster-rcnn), (R,) (pva: its LayerSetUp pops the 5)."""
    return (rows,) if variant == "pva" else (rows, 1)


def small_box_score(variant: str) -> float:
    """The score a box under the minimum size ranks with: -inf, i.e. removed before the sort and
    NMS (py-faster-rcnn), or 0, i.e. kept, sorted and output with score 0 (pva: flag * score)."""
    return 0.0 if variant == "pva" else float("-inf")


def rpn_overlaps(xp, box, others):
    """py_cpu_nms's overlap of box with each of others (+1 areas): inter / (area + areas - inter)."""
    w = xp.maximum(xp.minimum(box[2], others[2]) - xp.maximum(box[0], others[0]) + 1.0, 0.0 * others[0])
    h = xp.maximum(xp.minimum(box[3], others[3]) - xp.maximum(box[1], others[1]) + 1.0, 0.0 * others[1])
    inter = w * h
    area = (box[2] - box[0] + 1.0) * (box[3] - box[1] + 1.0)
    areas = (others[2] - others[0] + 1.0) * (others[3] - others[1] + 1.0)
    return inter / (area + areas - inter)


def rpn_nms_corners(box):
    """The box as corners whose plain IoU (ONNX NonMaxSuppression, TensorFlow's) is py_cpu_nms's
    +1 overlap: (x1, y1, x2 + 1, y2 + 1)."""
    return [box[0], box[1], box[2] + 1.0, box[3] + 1.0]


# ---------------------------------------------------------------------------------------------
# Reference kernel (NumPy, float32 as the fork)
# ---------------------------------------------------------------------------------------------

class _Float32:
    """numpy for the rules, with exp correctly rounded to float32."""

    maximum, minimum = staticmethod(np.maximum), staticmethod(np.minimum)

    @staticmethod
    def exp(x):
        return np.exp(np.asarray(x, np.float64)).astype(np.float32)


def greedy_nms(boxes: np.ndarray, thresh: float) -> list[int]:
    """py_cpu_nms on boxes already in score order: the kept positions, in keep order."""
    coords = [boxes[:, k] for k in range(4)]
    order = np.arange(len(boxes))
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        ovr = rpn_overlaps(_Float32, [c[i] for c in coords], [c[rest] for c in coords])
        order = rest[ovr <= np.float32(thresh)]
    return keep


def fork_sort_order(scores: np.ndarray, num_top: int) -> np.ndarray:
    """pva's sort_box on the (N,) scores: the permutation its partial quicksort leaves (the first
    num_top positions sorted descending; equal scores in the order its swaps make), reproduced
    swap for swap, iteratively (the fork recurses; the subranges are disjoint, so order is moot)."""
    values, order = scores.tolist(), list(range(len(scores)))
    stack = [(0, len(values) - 1)] if values else []
    while stack:
        start, end = stack.pop()
        pivot, left, right = values[start], start + 1, end
        while left <= right:
            while left <= end and values[left] >= pivot:
                left += 1
            while right > start and values[right] <= pivot:
                right -= 1
            if left <= right:
                values[left], values[right] = values[right], values[left]
                order[left], order[right] = order[right], order[left]
                left, right = left + 1, right - 1
        if right > start:
            values[start], values[right] = values[right], values[start]
            order[start], order[right] = order[right], order[start]
        if start < right - 1:
            stack.append((start, right - 1))
        if right + 1 < num_top and right + 1 < end:
            stack.append((right + 1, end))
    return np.asarray(order, np.int64)


def ranked_order(ranked: np.ndarray, params: ProposalParams) -> np.ndarray:
    """The boxes in score order, cut to pre_nms_topn: py-faster-rcnn's argsort (ties to the lower
    anchor; its removed boxes, -inf, dropped), or pva's quicksort of every box."""
    if params.variant == PVA and params.quicksort_ties:
        return fork_sort_order(ranked, params.pre_nms_topn)[:params.pre_nms_topn]
    keep = np.flatnonzero(ranked != -np.inf)
    order = keep[np.argsort(-ranked[keep], kind="stable")]
    return order[:params.pre_nms_topn] if params.pre_nms_topn > 0 else order


def flat_inputs(scores, deltas, num_anchors):
    """Foreground scores (N,) and deltas (N, 4), rows ordered (h, w, anchor) as the anchors."""
    fg = scores[0, num_anchors:].transpose(1, 2, 0).reshape(-1)
    return fg, deltas[0].transpose(1, 2, 0).reshape(-1, 4)


def propose(scores, deltas, im_info, params: ProposalParams):
    """ProposalLayer.forward: rois (R, 5) and their scores (R, 1), float32."""
    scores, deltas, im_info = (np.asarray(x, np.float32) for x in (scores, deltas, im_info))
    info = im_info.reshape(-1)
    fg, flat_deltas = flat_inputs(scores, deltas, params.num_anchors)
    anchors = shifted_anchors(base_anchors(params), scores.shape[2], scores.shape[3], params.feat_stride)
    box = rpn_clip(_Float32, rpn_decode(_Float32, anchors, flat_deltas), info[0], info[1])
    boxes = np.stack(box, 1).astype(np.float32)
    small = rpn_too_small(box, *rpn_min_sides(info, np.float32(params.min_size), params.variant))
    ranked = np.where(small, np.float32(small_box_score(params.variant)), fg).astype(np.float32)
    order = ranked_order(ranked, params)
    kept = greedy_nms(boxes[order], params.nms_thresh)
    if params.post_nms_topn > 0:
        kept = kept[:params.post_nms_topn]
    chosen = order[kept]
    rois = np.hstack([np.zeros((len(chosen), 1), np.float32), boxes[chosen]])
    return rois.astype(np.float32), ranked[chosen].reshape(score_rows(params.variant, -1)).astype(np.float32)


def reference(node, inputs):
    rois, scores = propose(*inputs, node.params)
    return [rois, scores][:node.params.tops]


# ---------------------------------------------------------------------------------------------
# Emitters
# ---------------------------------------------------------------------------------------------

def constructor_args(params: ProposalParams, scores_shape) -> str:
    """The runtime classes' arguments: base anchors (A x 4), map size, stride, the cuts, the tops
    and the variant."""
    base = base_anchors(params).tolist()
    return (f"{base!r}, {scores_shape[2]}, {scores_shape[3]}, {params.feat_stride}, "
            f"{float_literal(params.min_size)}, {params.pre_nms_topn}, {params.post_nms_topn}, "
            f"{float_literal(params.nms_thresh)}, {params.tops}, {params.variant!r}")


def onnx(node, inputs, outputs, builder):
    """TopK, then the standard NonMaxSuppression (proposal_onnx.py)."""
    from .proposal_onnx import emit

    return emit(node, inputs, outputs, builder)


def pytorch(node, ctx):
    args = constructor_args(node.params, ctx.shape(node.inputs[0]))
    return TorchLayer(f"Proposal({args})",
                      helpers=("caffe2x.families.detection.proposal_torch:Proposal",))


def tensorflow(node, args, ctx):
    """A Keras layer (proposal_keras.py) on the Caffe-layout bottoms; its (R, 5) keeps Caffe's form."""
    inputs = ", ".join(ctx.to_caffe(node, arg, value) for arg, value in zip(args, node.inputs))
    constructor = constructor_args(node.params, ctx.shape(node.inputs[0]))
    return KerasLayer(f"Proposal({constructor}, name={ctx.name(node)})([{inputs}])",
                      custom=("caffe2x.families.detection.proposal_keras:Proposal",),
                      layouts=["caffe"] * len(node.outputs))


def draw_image_info(params: ProposalParams, shape, context, rng) -> np.ndarray:
    """A random im_info (random inputs, example inputs, --random-weights): (height, width, 1) of
    the image, as py-faster-rcnn feeds it ((height, width, 1, 1) for pva). The image is the 4-D
    net input the RPN maps are computed from (roi_inputs.known_image, at 1 / feat_stride); where
    the maps are themselves net inputs, the area they cover, map x feat_stride (the map's own
    size would filter every box out)."""
    image = known_image(context, 1.0 / params.feat_stride)
    if image is None:
        _, _, map_h, map_w = context.bottom_shapes[0]
        image = (map_h * params.feat_stride, map_w * params.feat_stride)
    info = np.zeros(shape, np.float32)
    scales = (1.0, 1.0) if params.variant == PVA else (1.0,)  # pva: scale_h, scale_w
    info.reshape(-1, shape[-1])[:, :2 + len(scales)] = (*image, *scales)
    return info


# im_info is data (LayerDef.data_bottoms): drawn as the image's size; any given value is read as
# py-faster-rcnn reads it (the shape rule has checked 1 x 3).
IMAGE_INFO = DataBottom(2, None, draw_image_info)


# ---------------------------------------------------------------------------------------------
# Registration: the C++ type and py-faster-rcnn's Python layer, one computation
# ---------------------------------------------------------------------------------------------

def _definition(parse, variants=None) -> LayerDef:
    def parse_with_tops(layer):
        return replace(parse(layer), tops=len(layer.top))

    if hasattr(parse, "fork_block"):  # what `caffe2x layers` lists as the parameters honoured
        parse_with_tops.fork_block, parse_with_tops.fork_build = parse.fork_block, parse.fork_build
    return LayerDef(parse_with_tops, infer, bottoms=(1, 3), tops=(1, 2), data_dependent=(0,),
                    data_bottoms=(IMAGE_INFO,), variants=variants or {}, equal_score_orders=anchor_ordered_ties)


caffe2x_api.register_layer("Proposal", _definition(fork_params("proposal_param", build_cpp), {PVA: to_pva}), reference,
                           onnx=onnx, pytorch=pytorch, tensorflow=tensorflow)
PYTHON_TYPE = caffe2x_api.register_python_layer(PY_MODULE, PY_LAYER, _definition(parse_python), reference,
                                                onnx=onnx, pytorch=pytorch, tensorflow=tensorflow)
