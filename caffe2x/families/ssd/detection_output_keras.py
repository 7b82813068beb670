"""The Keras layer a generated model.py copies for DetectionOutput (imports keras/tensorflow only).

The fork's algorithm in graph-mode TensorFlow ops (tf.image.non_max_suppression is not the
fork's ApplyNMSFast): decode and overlaps by the rules of detection_output.py; per (image,
class) tf.math.top_k over the priors (sorted, ties to the lower prior: the fork's stable
sort) and its first top_k, the scores above confidence_threshold being a prefix; the greedy
NMS with the adaptive eta as one tf.while_loop over the candidate positions, for all images
and classes at once; keep_top_k by top_k over each image's kept scores (ties to the lower
label, then the earlier kept); tf.where over (image, label, position) gives the fork's row
order; with no row at all, the fork's [image, -1, ...] rows. Output 1 x 1 x N x 7, N dynamic.
"""

import keras
import tensorflow as tf
from keras import layers

from caffe2x.families.ssd.detection_output import box_sizes, decode_boxes, jaccard_overlap


@keras.saving.register_keras_serializable(package="caffe2x")
class DetectionOutput(layers.Layer):
    """[loc N x P*L*4, conf N x P*C, priors 1 x 2 x P*4] -> 1 x 1 x rows x 7 (Caffe's order)."""

    def __init__(self, num_classes, share_location, background_label_id, code_type, variance_encoded_in_target,
                 keep_top_k, confidence_threshold, nms_threshold, eta, top_k, clip, num_priors, **kwargs):
        super().__init__(**kwargs)
        self.num_classes, self.share_location = num_classes, share_location
        self.background_label_id, self.code_type = background_label_id, code_type
        self.variance_encoded_in_target, self.keep_top_k = variance_encoded_in_target, keep_top_k
        self.confidence_threshold, self.nms_threshold, self.eta = confidence_threshold, nms_threshold, eta
        self.top_k, self.clip, self.num_priors = top_k, clip, num_priors
        self.classes = [c for c in range(num_classes) if c != background_label_id]
        self.k = min(top_k, num_priors) if top_k > -1 else num_priors

    def get_config(self):
        names = ("num_classes", "share_location", "background_label_id", "code_type", "variance_encoded_in_target",
                 "keep_top_k", "confidence_threshold", "nms_threshold", "eta", "top_k", "clip", "num_priors")
        return {**super().get_config(), **{name: getattr(self, name) for name in names}}

    def compute_output_shape(self, input_shape):
        return (1, 1, None, 7)

    def call(self, inputs):
        loc, conf, prior = inputs
        batch = tf.shape(loc)[0]
        if not self.classes or self.k == 0:
            return tf.reshape(self.no_detection(batch), [1, 1, -1, 7])
        boxes = self.decoded(loc, prior)  # (B, C', P, 4)
        scores = tf.reshape(conf, [-1, self.num_priors, self.num_classes])
        scores = tf.gather(tf.transpose(scores, [0, 2, 1]), self.classes, axis=1)  # (B, C', P)
        top_scores, top_idx = tf.math.top_k(scores, k=self.k, sorted=True)
        candidates = tf.gather(boxes, top_idx, batch_dims=2)  # (B, C', K, 4)
        kept = self.greedy_nms(candidates, top_scores > self.confidence_threshold)
        if self.keep_top_k > -1:
            kept = self.best_of_image(kept, top_scores)
        index = tf.where(kept)  # (R, 3): image, class, position, in the fork's row order
        rows = tf.concat([tf.cast(index[:, :1], tf.float32),
                          tf.gather(tf.constant(self.classes, tf.float32), index[:, 1:2]),
                          tf.gather_nd(top_scores, index)[:, None], tf.gather_nd(candidates, index)], axis=1)
        count = tf.shape(rows)[0]
        rows = tf.concat([rows, self.no_detection(batch)], axis=0)[:tf.where(count == 0, batch, count)]
        return tf.reshape(rows, [1, 1, -1, 7])

    def no_detection(self, batch):
        return tf.concat([tf.cast(tf.range(batch), tf.float32)[:, None], -tf.ones([batch, 6])], axis=1)

    def decoded(self, loc, prior):
        prior = tf.reshape(prior[0], [2, self.num_priors, 1, 4])  # the priors of the first item
        loc = tf.reshape(loc, [-1, self.num_priors, 1 if self.share_location else self.num_classes, 4])
        boxes = decode_boxes(tf, prior[0], prior[1], loc, self.code_type, self.variance_encoded_in_target,
                             self.clip)
        boxes = tf.transpose(boxes, [0, 2, 1, 3])  # (B, L, P, 4)
        if self.share_location:
            return tf.tile(boxes, [1, len(self.classes), 1, 1])
        return tf.gather(boxes, self.classes, axis=1)

    def greedy_nms(self, candidates, valid):
        """ApplyNMSFast for every (image, class): candidate k is kept when valid and no kept one
        overlaps it by more than the adaptive threshold (a NaN overlap suppresses, as the fork's `<=`)."""
        sizes = box_sizes(tf, candidates)
        overlaps = jaccard_overlap(tf, candidates[:, :, :, None, :], sizes[:, :, :, None],
                                   candidates[:, :, None, :, :], sizes[:, :, None, :])  # (B, C', K, K)
        positions = tf.range(self.k)
        eta = self.eta

        def step(k, kept, threshold):
            row = tf.gather(overlaps, k, axis=2)
            beyond = tf.logical_and(tf.logical_not(row <= threshold[:, :, None]), kept)
            keep = tf.logical_and(tf.gather(valid, k, axis=2), tf.logical_not(tf.reduce_any(beyond, axis=-1)))
            kept = tf.logical_or(kept, tf.logical_and(tf.equal(positions, k)[None, None, :], keep[:, :, None]))
            if eta < 1:
                threshold = tf.where(tf.logical_and(keep, threshold > 0.5), threshold * eta, threshold)
            return k + 1, kept, threshold

        threshold = tf.zeros_like(valid[:, :, 0], tf.float32) + self.nms_threshold
        _, kept, _ = tf.while_loop(lambda k, kept, threshold: k < self.k, step,
                                   [tf.constant(0), tf.zeros_like(valid), threshold])
        return kept

    def best_of_image(self, kept, top_scores):
        """keep_top_k: each image's highest kept scores, ties to the lower label, then NMS position."""
        width = len(self.classes) * self.k
        flat_kept = tf.reshape(kept, [-1, width])
        flat = tf.where(flat_kept, tf.reshape(top_scores, [-1, width]), float("-inf"))
        count = min(self.keep_top_k, width)
        if count == 0:
            return tf.zeros_like(kept)
        _, best = tf.math.top_k(flat, k=count, sorted=True)
        chosen = tf.reduce_max(tf.one_hot(best, width), axis=1) > 0
        return tf.logical_and(kept, tf.reshape(chosen, tf.shape(kept)))
