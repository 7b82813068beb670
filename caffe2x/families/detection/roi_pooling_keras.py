"""The Keras layer a generated model.py copies for ROIPooling (imports keras/tensorflow only)."""

import keras
import tensorflow as tf
from keras import layers

from .roi_bins import roi_pooling_bins

LOWEST_FLOAT = -3.4028234663852886e38  # -FLT_MAX, where the fork's max starts


class TfOps:
    """The array module the ROI rules take (roi_bins.py), over TensorFlow (builtin TFLite ops)."""

    floor, ceil, abs, where, maximum, minimum = tf.floor, tf.math.ceil, tf.abs, tf.where, tf.maximum, tf.minimum

    @staticmethod
    def full_like(x, value):
        return tf.fill(tf.shape(x), value)


def roi_rows_tf(rois, features):
    """The (R, 1) columns x1, y1, x2, y2 and the truncated batch index of each ROI (kept inside the batch)."""
    columns = [rois[:, k:k + 1] for k in range(1, 5)]
    batch = tf.clip_by_value(tf.cast(rois[:, 0], tf.int32), 0, tf.shape(features)[0] - 1)
    return columns, batch


def bin_masks_tf(start, end, size):
    """(R, P, size) booleans: the cells [start, end) of each bin of each ROI."""
    cells = tf.range(size, dtype=tf.float32)
    return tf.logical_and(cells >= start[:, :, None], cells < end[:, :, None])


def bin_row_tf(size):
    return tf.reshape(tf.range(size, dtype=tf.float32), (1, size))


@keras.saving.register_keras_serializable(package="caffe2x")
class ROIPooling(layers.Layer):
    """[features, (R, 5) ROIs] -> (R, pooled_h, pooled_w, C) for NHWC features (channels_last),
    else (R, C, pooled_h, pooled_w): the max of each bin, 0 for an empty one."""

    def __init__(self, pooled_h, pooled_w, spatial_scale, channels_last, **kwargs):
        super().__init__(**kwargs)
        self.pooled_h, self.pooled_w, self.spatial_scale = pooled_h, pooled_w, spatial_scale
        self.channels_last = channels_last

    def call(self, inputs):
        features, rois = inputs
        if not self.channels_last:
            features = tf.transpose(features, (0, 2, 3, 1))
        height, width = features.shape[1], features.shape[2]
        columns, batch = roi_rows_tf(rois, features)
        hstart, hend, wstart, wend = roi_pooling_bins(
            TfOps, *columns, bin_row_tf(self.pooled_h), bin_row_tf(self.pooled_w), self.spatial_scale,
            self.pooled_h, self.pooled_w, height, width)
        regions = tf.gather(features, batch)  # (R, H, W, C)
        rows, cols = bin_masks_tf(hstart, hend, height), bin_masks_tf(wstart, wend, width)
        empty_w = wend <= wstart  # (R, PW)
        pooled = []
        for ph in range(self.pooled_h):
            row_max = tf.reduce_max(tf.where(rows[:, ph, :, None, None], regions, LOWEST_FLOAT), axis=1)  # (R, W, C)
            bin_max = tf.reduce_max(tf.where(cols[:, :, :, None], row_max[:, None], LOWEST_FLOAT), axis=2)
            empty = tf.logical_or(hend[:, ph:ph + 1] <= hstart[:, ph:ph + 1], empty_w)  # (R, PW)
            pooled.append(tf.where(empty[:, :, None], 0.0, bin_max))  # (R, PW, C)
        top = tf.stack(pooled, axis=1)  # (R, PH, PW, C)
        return top if self.channels_last else tf.transpose(top, (0, 3, 1, 2))

    def get_config(self):
        return {**super().get_config(), "pooled_h": self.pooled_h, "pooled_w": self.pooled_w,
                "spatial_scale": self.spatial_scale, "channels_last": self.channels_last}
