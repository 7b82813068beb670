"""The Keras layer a generated model.py copies for YoloDetectionOutput and
Yolov3DetectionOutput (imports keras/tensorflow only): yolo_nms.py's formulation in graph-mode
TensorFlow ops, the greedy NMS as one tf.while_loop (TFLite: WHILE) over the kept rows, carrying
the remaining candidates compacted."""

import keras
import tensorflow as tf
from keras import layers

from caffe2x.families.yolo.yolo_nms import box_iou, corners, nms_terms, region_box


@keras.saving.register_keras_serializable(package="caffe2x")
class YoloDetection(layers.Layer):
    """[bottoms N x C x H x W, Caffe layout] -> 1 x 1 x rows x 7, the fork's rows (image id 0,
    label + 1, score descending). version 2: softmax classes, confidence >= threshold; version 3:
    sigmoid classes per box and class, confidence > threshold."""

    def __init__(self, version, num_classes, threshold, nms_threshold, plans, **kwargs):
        super().__init__(**kwargs)
        self.version, self.num_classes = version, num_classes
        self.threshold, self.nms_threshold = threshold, nms_threshold
        self.plans = tuple(tuple(tuple(v) if isinstance(v, list) else v for v in p) for p in plans)

    def get_config(self):
        return {**super().get_config(), "version": self.version, "num_classes": self.num_classes,
                "threshold": self.threshold, "nms_threshold": self.nms_threshold, "plans": self.plans}

    def compute_output_shape(self, input_shape):
        return (1, 1, None, 7)

    def call(self, inputs):
        bottoms = inputs if isinstance(inputs, (list, tuple)) else [inputs]
        parts = [self.candidates(x, plan) for x, plan in zip(bottoms, self.plans)]
        boxes, confidence, label, valid = (tf.concat(p, axis=0) for p in zip(*parts))
        chosen = tf.where(valid)[:, 0]  # the valid candidates, in push order
        boxes, confidence, label = tf.gather(boxes, chosen), tf.gather(confidence, chosen), tf.gather(label, chosen)
        _, order = tf.math.top_k(confidence, k=tf.shape(confidence)[0], sorted=True)  # ties: the lower index first
        boxes, confidence, label = tf.gather(boxes, order), tf.gather(confidence, order), tf.gather(label, order)
        kept = self.greedy_nms(tf.stack(nms_terms(tf, *(boxes[:, k] for k in range(4)))))
        return self.rows(kept, boxes, confidence, label, tf.shape(bottoms[0])[0])

    def candidates(self, x, plan):
        height, width, entries, anchors_w, anchors_h, side_w, side_h, net_w, net_h = plan
        num_box = len(anchors_w)
        t = tf.reshape(x[:, :num_box * entries], [-1, num_box, entries, height, width])
        t = tf.transpose(t, [0, 3, 4, 1, 2])  # (N, H, W, box, entries)
        col = tf.reshape(tf.range(width, dtype=tf.float32), [1, 1, width, 1])
        row = tf.reshape(tf.range(height, dtype=tf.float32), [1, height, 1, 1])
        box = region_box(tf, col, row, tf.sigmoid(t[..., 0]), tf.sigmoid(t[..., 1]), t[..., 2], t[..., 3],
                         tf.constant(anchors_w, tf.float32), tf.constant(anchors_h, tf.float32),
                         float(side_w), float(side_h), float(net_w), float(net_h))
        boxes = tf.stack(box, axis=-1)  # (N, H, W, box, 4)
        logits = t[..., 5:5 + self.num_classes]
        objectness = tf.sigmoid(t[..., 4])
        if self.version == 2:  # class_index_and_score: the softmax's first largest entry
            e = tf.exp(logits - tf.reduce_max(logits, axis=-1, keepdims=True))
            probability = e / tf.reduce_sum(e, axis=-1, keepdims=True)
            confidence = objectness * tf.reduce_max(probability, axis=-1)
            label = tf.argmax(probability, axis=-1, output_type=tf.int32)
            return (tf.reshape(boxes, [-1, 4]), tf.reshape(confidence, [-1]), tf.reshape(label, [-1]),
                    tf.reshape(confidence >= self.threshold, [-1]))
        confidence = tf.sigmoid(logits) * objectness[..., None]  # (N, H, W, box, class)
        label = tf.zeros_like(confidence, tf.int32) + tf.range(self.num_classes, dtype=tf.int32)
        boxes = boxes[..., None, :] + tf.zeros_like(confidence)[..., None]
        return (tf.reshape(boxes, [-1, 4]), tf.reshape(confidence, [-1]), tf.reshape(label, [-1]),
                tf.reshape(confidence > self.threshold, [-1]))

    def greedy_nms(self, terms):
        """ApplyNms over the sorted candidates' nms_terms (5, P): the first remaining one is kept
        and only those it overlaps with box_iou < nms_threshold (or NaN) remain. The kept
        positions, in order."""

        def step(remaining, positions, kept):
            # rows by slicing: TFLite's UNPACK refuses an empty tensor (no candidate at all)
            iou = box_iou(tf, [remaining[k, :1] for k in range(5)], [remaining[k] for k in range(5)])
            stays = tf.logical_not(tf.logical_or(iou >= self.nms_threshold, tf.equal(positions, positions[0])))
            index = tf.where(stays)[:, 0]  # found once for the terms and the positions
            return tf.gather(remaining, index, axis=1), tf.gather(positions, index), tf.concat([kept, positions[:1]], 0)

        _, _, kept = tf.while_loop(
            lambda remaining, positions, kept: tf.size(positions) > 0, step,
            [terms, tf.range(tf.shape(terms)[1]), tf.zeros([0], tf.int32)],
            shape_invariants=[tf.TensorShape([5, None]), tf.TensorShape([None]), tf.TensorShape([None])])
        return kept

    def rows(self, kept, boxes, confidence, label, batch):
        """The kept candidates' rows, else the fork's one no-detection row per image."""
        left, top, right, bottom = corners(boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3])
        every = tf.stack([tf.zeros_like(confidence), tf.cast(label, tf.float32) + 1, confidence,
                          left, top, right, bottom], axis=-1)
        none = tf.concat([tf.cast(tf.range(batch), tf.float32)[:, None], -tf.ones([batch, 6])], axis=1)
        nones = tf.where(tf.size(kept) > 0, 0, batch)
        chosen = tf.concat([kept, tf.shape(every)[0] + tf.range(nones)], axis=0)
        return tf.reshape(tf.gather(tf.concat([every, none], axis=0), chosen), [1, 1, -1, 7])
