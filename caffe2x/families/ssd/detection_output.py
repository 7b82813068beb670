"""DetectionOutput (SSD fork): decode the loc head against the priors, per-class NMS, keep_top_k.

    layer { type: "DetectionOutput" bottom: "mbox_loc" bottom: "mbox_conf_flatten" bottom: "mbox_priorbox"
            detection_output_param { num_classes: 21 share_location: true background_label_id: 0
              nms_param { nms_threshold: 0.45 top_k: 100 } code_type: CENTER_SIZE keep_top_k: 100
              confidence_threshold: 0.25 } }

Exactly as the fork computes it (weiliu89/caffe ssd 4817bf8b, detection_output_layer.cpp
Forward_cpu and util/bbox_util.cpp), in float32 like its NormalizedBBox fields:
- decode (DecodeBBox) CORNER / CENTER_SIZE / CORNER_SIZE, variance from the prior blob or
  encoded in the target; boxes are not clipped (the fork passes clip_bbox = false), unless
  OpenCV's extension `clip: true`, which clips to [0, 1] before the box sizes are taken;
- per class but the background (ApplyNMSFast): scores > confidence_threshold, a stable sort
  by score descending (ties: lower prior first), the first nms top_k, then greedy NMS keeping a
  box whose JaccardOverlap with every kept box is <= the adaptive threshold (times eta after
  each keep while it is above 0.5);
- keep_top_k across classes when an image has more detections: the highest scores (ties kept
  in label, then NMS order: the fork's std::sort leaves them unspecified; the golden cases
  have a gap >= 8.4e-5 at every cut);
- rows [image, label, score, xmin, ymin, xmax, ymax] per image, label ascending, NMS order
  (score descending) within a label; when the whole batch has no detection, one
  [image, -1, -1, -1, -1, -1, -1] row per image. The top is 1 x 1 x N x 7, N known only
  after the run: the shape rule gives Caffe's Reshape placeholder N = 1 and the layer
  declares dim 2 data-dependent (LayerDef.data_dependent).

The rules section holds the fork's arithmetic as plain functions over an array module `xp`
(numpy, torch, tensorflow, or OnnxOps which emits ONNX nodes: the few functions they call
exist in all under the same names), used by the reference kernel here and by every target:
detection_output_onnx.py (standard operators), detection_output_torch.py and
detection_output_keras.py (the runtime classes a model.py copies, with these rules). The
reference follows the fork's loops literally; the targets share one vectorized formulation
(top-k candidates per class, the greedy NMS as a loop over candidate positions for all images
and classes at once, rows in (image, label, position) order), checked against it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from caffe2x import api as caffe2x_api
from caffe2x.extend import KerasLayer, LayerDef, TorchLayer, check, count, float_literal, fork_params

CODE_TYPES = ("CORNER", "CENTER_SIZE", "CORNER_SIZE")
FLT_MAX = 3.4028234663852886e38  # the fork's threshold when confidence_threshold is not given


@dataclass(frozen=True)
class DetectionOutputParams:
    num_classes: int
    share_location: bool
    background_label_id: int
    code_type: str
    variance_encoded_in_target: bool
    keep_top_k: int  # -1 (any negative): keep every detection
    confidence_threshold: float  # -FLT_MAX when not given, as the fork
    nms_threshold: float
    eta: float
    top_k: int  # -1: no cut before NMS (the fork's default when nms_param.top_k is absent)
    clip: bool  # OpenCV's extension: clip decoded boxes to [0, 1]

    @property
    def num_loc_classes(self) -> int:
        return 1 if self.share_location else self.num_classes


def build(value) -> DetectionOutputParams:
    """The typed parameters of a detection_output_param block, checked as the fork's LayerSetUp."""
    check(value.has("num_classes"), "detection_output_param must give num_classes (the fork requires it)")
    nms = value.nms_param
    code_type = value.code_type
    check(code_type in CODE_TYPES, f"unknown code_type {code_type!r}; the fork knows {', '.join(CODE_TYPES)}")
    check(nms.nms_threshold >= 0, f"nms_threshold must be non negative (got {nms.nms_threshold})")
    check(0 < nms.eta <= 1, f"nms_param.eta must be in (0, 1] (got {nms.eta})")
    check(not (value.share_location and value.background_label_id == -1),
          "share_location: true with background_label_id: -1 aborts in the SSD fork (its decoded boxes are "
          "keyed by label -1, which it then skips as the background); set a background label or "
          "share_location: false")
    if value.has("save_output_param") and value.save_output_param.output_directory:
        warnings.warn("DetectionOutput: save_output_param is ignored (the fork writes detection files from it; "
                      "the converted models only return the rows)", stacklevel=2)
    threshold = value.confidence_threshold if value.has("confidence_threshold") else -FLT_MAX
    return DetectionOutputParams(
        int(value.num_classes), bool(value.share_location), int(value.background_label_id), code_type,
        bool(value.variance_encoded_in_target), int(value.keep_top_k), float(threshold),
        float(nms.nms_threshold), float(nms.eta), int(nms.top_k) if nms.has("top_k") else -1,
        bool(_clip_extension(value)))


def _clip_extension(value) -> bool:
    """OpenCV's `clip` field (not in the fork's schema; declared where OpenCV's prototxts are read)."""
    return "clip" in value.message.fields and bool(value.clip)


def infer(params: DetectionOutputParams, bottoms):
    """The fork's Reshape checks; the top is 1 x 1 x N x 7 with N = 1 as a placeholder (Caffe's own)."""
    loc, conf, prior = bottoms
    check(len(prior) >= 3, f"the prior blob must be N x 2 x (priors * 4), got {list(prior)}")
    check(loc[0] == conf[0], f"loc has batch {loc[0]} but conf has batch {conf[0]}")
    num_priors = prior[2] // 4
    check(prior[1] == 2, f"the prior blob must hold boxes and variances (2 channels), got {prior[1]}")
    check(num_priors * params.num_loc_classes * 4 == count(loc[1:]),
          f"loc has {count(loc[1:])} values per image, expected {num_priors} priors x "
          f"{params.num_loc_classes} location classes x 4 = {num_priors * params.num_loc_classes * 4}")
    check(num_priors * params.num_classes == count(conf[1:]),
          f"conf has {count(conf[1:])} values per image, expected {num_priors} priors x "
          f"{params.num_classes} classes (num_classes) = {num_priors * params.num_classes}")
    return [(1, 1, 1, 7)]


# ---------------------------------------------------------------------------------------------
# Rules: the fork's arithmetic, float32, over an array module xp (numpy, torch, tensorflow).
# Arrays hold boxes as (..., 4) corners [xmin, ymin, xmax, ymax].
# ---------------------------------------------------------------------------------------------

def decode_boxes(xp, priors, variances, loc, code_type, variance_encoded_in_target, clip):
    """DecodeBBox: (..., 4) loc predictions against (..., 4) priors and variances -> corners.
    The operations and their order are the fork's (each a float32 op, as its float fields)."""
    pxmin, pymin, pxmax, pymax = priors[..., 0], priors[..., 1], priors[..., 2], priors[..., 3]
    d = [loc[..., k] if variance_encoded_in_target else variances[..., k] * loc[..., k] for k in range(4)]
    if code_type == "CORNER":
        box = [pxmin + d[0], pymin + d[1], pxmax + d[2], pymax + d[3]]
    elif code_type == "CENTER_SIZE":
        width, height = pxmax - pxmin, pymax - pymin
        center_x, center_y = (pxmin + pxmax) / 2, (pymin + pymax) / 2
        cx, cy = d[0] * width + center_x, d[1] * height + center_y
        w, h = xp.exp(d[2]) * width, xp.exp(d[3]) * height
        box = [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]
    else:  # CORNER_SIZE
        width, height = pxmax - pxmin, pymax - pymin
        box = [pxmin + d[0] * width, pymin + d[1] * height, pxmax + d[2] * width, pymax + d[3] * height]
    if clip:  # OpenCV's extension: std::max(std::min(v, 1.f), 0.f) (a NaN stays NaN)
        box = [xp.where(v > 1.0, 0.0 * v + 1.0, xp.where(v < 0.0, 0.0 * v, v)) for v in box]
    return xp.stack(box, -1)


def box_sizes(xp, boxes):
    """BBoxSize (normalized): width * height, 0 for an inverted box."""
    width, height = boxes[..., 2] - boxes[..., 0], boxes[..., 3] - boxes[..., 1]
    invalid = (boxes[..., 2] < boxes[..., 0]) | (boxes[..., 3] < boxes[..., 1])
    return xp.where(invalid, 0.0 * width, width * height)


def jaccard_overlap(xp, box, size, others, other_sizes):
    """JaccardOverlap(box, others[j]) for every j (normalized): the intersection's width and
    height must both be > 0, then inter / (size + other_size - inter)."""
    inter_w = xp.minimum(box[..., 2], others[..., 2]) - xp.maximum(box[..., 0], others[..., 0])
    inter_h = xp.minimum(box[..., 3], others[..., 3]) - xp.maximum(box[..., 1], others[..., 1])
    inter = inter_w * inter_h
    overlapping = (inter_w > 0) & (inter_h > 0)
    union = xp.where(overlapping, size + other_sizes - inter, 1.0 + 0.0 * inter)
    return xp.where(overlapping, inter / union, 0.0 * inter)


def adapt_threshold(threshold, eta):
    """ApplyNMSFast's adaptive threshold after a kept box: times eta while above 0.5."""
    return threshold * eta if eta < 1 and threshold > 0.5 else threshold


def no_detection_rows(num):
    """The fork's rows when the whole batch has no detection: [image, -1 x 6] per image."""
    return [[float(i)] + [-1.0] * 6 for i in range(num)]


# ---------------------------------------------------------------------------------------------
# Reference kernel (NumPy, float32 as the fork)
# ---------------------------------------------------------------------------------------------

class _Float32:
    """numpy for the rules, with exp correctly rounded to float32 (the fork's exp of a float
    promotes to double and rounds on store; numpy's float32 exp may be an ulp away)."""

    stack, where, maximum, minimum = staticmethod(np.stack), staticmethod(np.where), \
        staticmethod(np.maximum), staticmethod(np.minimum)

    @staticmethod
    def exp(x):
        return np.exp(np.asarray(x, np.float64)).astype(np.float32)


def nms_fast(boxes, sizes, scores, params: DetectionOutputParams) -> list[int]:
    """ApplyNMSFast on one class of one image: the kept prior indices, in keep order."""
    passing = np.flatnonzero(scores > np.float32(params.confidence_threshold))
    order = passing[np.argsort(-scores[passing], kind="stable")]
    if params.top_k > -1:
        order = order[:params.top_k]
    kept: list[int] = []
    threshold = np.float32(params.nms_threshold)
    for idx in order:
        overlaps = jaccard_overlap(_Float32, boxes[idx], sizes[idx], boxes[kept], sizes[kept])
        if np.all(overlaps <= threshold):
            kept.append(int(idx))
            threshold = np.float32(adapt_threshold(threshold, np.float32(params.eta)))
    return kept


def image_detections(boxes, scores, params: DetectionOutputParams) -> list[tuple[int, int]]:
    """(label, prior) of one image's kept detections, in the fork's output order."""
    sizes = box_sizes(_Float32, boxes)
    found = []
    for label in range(params.num_classes):
        if label == params.background_label_id:
            continue
        loc_class = 0 if params.share_location else label
        kept = nms_fast(boxes[:, loc_class], sizes[:, loc_class], scores[:, label], params)
        found += [(label, idx) for idx in kept]
    if -1 < params.keep_top_k < len(found):
        best = sorted(range(len(found)), key=lambda j: -scores[found[j][1], found[j][0]])[:params.keep_top_k]
        found = [found[j] for j in sorted(best)]  # back to label, then NMS order
    return found


def detect(loc, conf, prior, params: DetectionOutputParams) -> np.ndarray:
    """The fork's Forward_cpu: 1 x 1 x N x 7 float32 rows."""
    num = loc.shape[0]
    num_priors = prior.shape[2] // 4
    priors = prior[0, 0].reshape(num_priors, 1, 4)
    variances = prior[0, 1].reshape(num_priors, 1, 4)
    loc = loc.reshape(num, num_priors, params.num_loc_classes, 4)
    conf = conf.reshape(num, num_priors, params.num_classes)
    rows = []
    for i in range(num):
        boxes = decode_boxes(_Float32, priors, variances, loc[i], params.code_type,
                             params.variance_encoded_in_target, params.clip)
        for label, idx in image_detections(boxes, conf[i], params):
            box = boxes[idx, 0 if params.share_location else label]
            rows.append([float(i), float(label), float(conf[i, idx, label]), *map(float, box)])
    rows = rows or no_detection_rows(num)
    return np.asarray(rows, np.float32).reshape(1, 1, len(rows), 7)


def reference(node, inputs):
    loc, conf, prior = (np.asarray(x, np.float32) for x in inputs)
    return [detect(loc, conf, prior, node.params)]


# ---------------------------------------------------------------------------------------------
# Emitters
# ---------------------------------------------------------------------------------------------

def _constructor_args(params: DetectionOutputParams) -> str:
    p = params
    return (f"{p.num_classes}, {p.share_location}, {p.background_label_id}, {p.code_type!r}, "
            f"{p.variance_encoded_in_target}, {p.keep_top_k}, {float_literal(p.confidence_threshold)}, "
            f"{float_literal(p.nms_threshold)}, {float_literal(p.eta)}, {p.top_k}, {p.clip}")


def onnx(node, inputs, outputs, builder):
    """Standard ONNX operators, the greedy NMS as a Loop (detection_output_onnx.py)."""
    from .detection_output_onnx import emit

    return emit(node, inputs, outputs, builder)


def pytorch(node, ctx):
    return TorchLayer(f"DetectionOutput({_constructor_args(node.params)})",
                      helpers=("caffe2x.families.ssd.detection_output_torch:DetectionOutput",))


def tensorflow(node, args, ctx):
    """A Keras layer (detection_output_keras.py); its 1 x 1 x N x 7 output keeps Caffe's form in
    either layout."""
    inputs = ", ".join(ctx.to_caffe(node, arg, value) for arg, value in zip(args, node.inputs))
    num_priors = ctx.shape(node.inputs[2])[2] // 4
    return KerasLayer(f"DetectionOutput({_constructor_args(node.params)}, {num_priors}, name={ctx.name(node)})"
                      f"([{inputs}])", custom=("caffe2x.families.ssd.detection_output_keras:DetectionOutput",),
                      layouts=["caffe"])


# ---------------------------------------------------------------------------------------------
# Registration
# ---------------------------------------------------------------------------------------------

DEFINITION = LayerDef(fork_params("detection_output_param", build), infer, bottoms=(3, 3), data_dependent=(2,))

caffe2x_api.register_layer("DetectionOutput", DEFINITION, reference, onnx=onnx, pytorch=pytorch,
                           tensorflow=tensorflow)
