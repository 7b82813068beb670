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


def range_max_table_tf(x, levels_h, levels_w):
    """The range-maximum table of an (N, H, W, C) map (see roi_pooling_torch.range_max_table)."""
    rows = [x]
    for k in range(1, levels_h + 1):
        previous, shift = rows[-1], 2 ** (k - 1)
        pad = tf.zeros_like(previous[:, :shift]) + LOWEST_FLOAT
        rows.append(tf.maximum(previous, tf.concat([previous[:, shift:], pad], axis=1)))
    table = []
    for level in rows:
        cols = [level]
        for k in range(1, levels_w + 1):
            previous, shift = cols[-1], 2 ** (k - 1)
            pad = tf.zeros_like(previous[:, :, :shift]) + LOWEST_FLOAT
            cols.append(tf.maximum(previous, tf.concat([previous[:, :, shift:], pad], axis=2)))
        table.append(tf.stack(cols))
    return tf.stack(table)  # (levels_h + 1, levels_w + 1, N, H, W, C)


def range_corners_tf(start, end, levels, size):
    """(level, first window's start, second window's start) of each [start, end) range (int32)."""
    length = tf.maximum(end - start, 1)
    level, power = tf.zeros_like(length), tf.ones_like(length)
    for k in range(1, levels + 1):
        longer = length >= 2 ** k
        level, power = tf.where(longer, k, level), tf.where(longer, 2 ** k, power)
    return level, tf.clip_by_value(start, 0, size - 1), tf.clip_by_value(end - power, 0, size - 1)


@keras.saving.register_keras_serializable(package="caffe2x")
class ROIPooling(layers.Layer):
    """[features, (R, 5) ROIs] -> (R, pooled_h, pooled_w, C) for NHWC features (channels_last),
    else (R, C, pooled_h, pooled_w): the max of each bin, 0 for an empty one, by range-maximum
    queries (see roi_pooling_torch.ROIPooling)."""

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
        hstart, hend, wstart, wend = (tf.cast(b, tf.int32) for b in (hstart, hend, wstart, wend))
        channels = features.shape[3]
        levels_h, levels_w = height.bit_length() - 1, width.bit_length() - 1
        table = tf.reshape(range_max_table_tf(features, levels_h, levels_w), (-1, channels))
        kh, h0, h1 = (t[:, :, None] for t in range_corners_tf(hstart, hend, levels_h, height))  # (R, PH, 1)
        kw, w0, w1 = (t[:, None, :] for t in range_corners_tf(wstart, wend, levels_w, width))  # (R, 1, PW)
        plane = (kh * (levels_w + 1) + kw) * tf.shape(features)[0] + batch[:, None, None]  # (R, PH, PW)
        corners = [tf.gather(table, (plane * height + h) * width + w) for h in (h0, h1) for w in (w0, w1)]
        top = tf.maximum(tf.maximum(tf.maximum(corners[0], corners[1]), tf.maximum(corners[2], corners[3])),
                         LOWEST_FLOAT)
        empty = tf.logical_or((hend <= hstart)[:, :, None], (wend <= wstart)[:, None, :])  # (R, PH, PW)
        top = tf.where(empty[..., None], 0.0, top)  # (R, PH, PW, C)
        return top if self.channels_last else tf.transpose(top, (0, 3, 1, 2))

    def get_config(self):
        return {**super().get_config(), "pooled_h": self.pooled_h, "pooled_w": self.pooled_w,
                "spatial_scale": self.spatial_scale, "channels_last": self.channels_last}
