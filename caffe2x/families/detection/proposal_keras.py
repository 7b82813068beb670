"""The Keras layer a generated model.py copies for Proposal (imports keras/tensorflow only).

py-faster-rcnn's ProposalLayer (or the pva variant) in graph-mode TensorFlow ops, with the rules
of proposal.py: decode, clip and the minimum-size rule over every anchor (the filtered ones scored
-inf, or 0 for pva, which NMS still sees: only -inf is under the score threshold);
tf.math.top_k for the pre-NMS cut (ties to the lower anchor); TensorFlow's greedy
NonMaxSuppressionV4 (a TFLite builtin, NON_MAX_SUPPRESSION_V4), by rank, on the corners
(x1, y1, x2 + 1, y2 + 1), whose plain IoU is py_cpu_nms's +1 overlap, suppressing an
overlap above nms_thresh, at most post_nms_topn kept. Rows (R, 5), R dynamic.
"""

import keras
import tensorflow as tf
from keras import layers

from caffe2x.families.detection.proposal import (
    rpn_clip,
    rpn_decode,
    rpn_min_sides,
    rpn_nms_corners,
    rpn_too_small,
    score_rows,
    small_box_score,
)

LOWEST_SCORE = -3.4028234663852886e38  # NMS score_threshold: only the filtered boxes (-inf) are below it


@keras.saving.register_keras_serializable(package="caffe2x")
class Proposal(layers.Layer):
    """[scores 1 x 2A x H x W, deltas 1 x 4A x H x W, im_info 1 x 3] -> rois (R, 5)[, scores (R, 1)]."""

    def __init__(self, base_anchors, height, width, feat_stride, min_size, pre_nms_topn, post_nms_topn,
                 nms_thresh, tops, variant="py-faster-rcnn", **kwargs):
        super().__init__(**kwargs)
        self.base_anchors, self.height, self.width, self.feat_stride = base_anchors, height, width, feat_stride
        self.min_size, self.pre_nms_topn, self.post_nms_topn = min_size, pre_nms_topn, post_nms_topn
        self.nms_thresh, self.tops, self.variant = nms_thresh, tops, variant
        # every anchor at every cell, rows (h, w, anchor): exact sums of small integers and halves
        self.anchors = [[x1 + x * feat_stride, y1 + y * feat_stride, x2 + x * feat_stride, y2 + y * feat_stride]
                        for y in range(height) for x in range(width) for x1, y1, x2, y2 in base_anchors]
        count = len(self.anchors)
        self.k = min(pre_nms_topn, count) if pre_nms_topn > 0 else count

    def get_config(self):
        names = ("base_anchors", "height", "width", "feat_stride", "min_size", "pre_nms_topn", "post_nms_topn",
                 "nms_thresh", "tops", "variant")
        return {**super().get_config(), **{name: getattr(self, name) for name in names}}

    def compute_output_shape(self, input_shape):
        return [(None, 5), score_rows(self.variant, None)] if self.tops == 2 else (None, 5)

    def call(self, inputs):
        scores, deltas, im_info = inputs
        a = len(self.base_anchors)
        fg = tf.reshape(tf.transpose(scores[0, a:], [1, 2, 0]), [-1])
        flat_deltas = tf.reshape(tf.transpose(deltas[0], [1, 2, 0]), [-1, 4])
        info = tf.reshape(im_info, [-1])
        box = rpn_clip(tf, rpn_decode(tf, tf.constant(self.anchors, tf.float32), flat_deltas), info[0], info[1])
        small = rpn_too_small(box, *rpn_min_sides(info, self.min_size, self.variant))
        ranked = tf.where(small, small_box_score(self.variant), fg)
        top_scores, order = tf.math.top_k(ranked, k=self.k, sorted=True)
        corners = tf.stack(rpn_nms_corners([tf.gather(c, order) for c in box]), 1)
        limit = self.post_nms_topn if self.post_nms_topn > 0 else self.k
        # NMS is given each box's rank, not its score: TFLite's NMS re-sorts by score without
        # keeping equal scores in order (pva's many 0 scores), and which box comes first decides
        # what NMS keeps. The ranks keep top_k's order (ties to the lower anchor) on both runtimes;
        # the filtered boxes keep -inf, under the threshold. The rows carry the real scores.
        rank = tf.cast(self.k - tf.range(self.k), tf.float32)
        selected, count = tf.raw_ops.NonMaxSuppressionV4(
            boxes=corners, scores=tf.where(top_scores == float("-inf"), top_scores, rank), max_output_size=limit,
            iou_threshold=self.nms_thresh,
            score_threshold=LOWEST_SCORE, pad_to_max_output_size=True)  # (limit,) padded, and the count
        chosen = tf.gather(order, selected)
        boxes = tf.gather(tf.stack(box, 1), chosen)
        rois = tf.slice(tf.pad(boxes, [[0, 0], [1, 0]]), [0, 0], tf.stack([count, 5]))  # batch index 0 in front
        picked = tf.reshape(tf.slice(tf.gather(ranked, chosen), [0], tf.stack([count])), score_rows(self.variant, -1))
        return [rois, picked] if self.tops == 2 else rois
