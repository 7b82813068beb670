"""The Keras layer a generated model.py copies for ROIPooling (imports keras/tensorflow only)."""

import keras
import tensorflow as tf
from keras import layers

from .roi_bins import roi_pooling_bins

LOWEST_FLOAT = -3.4028234663852886e38  # -FLT_MAX, where the fork's max starts
CHANNEL_CHUNK_TF = 64  # channels pooled at a time (bounds the per-ROI copies of the map)


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


def max_of_bins_tf(regions, rows, cols, empty):
    """(R, H, W, C) regions, bin masks (R, PH, H) and (R, PW, W), empty (R, PH, PW) -> (R, PH, PW, C):
    each bin's rows maxed, then its columns; from -FLT_MAX as the fork; 0 where empty."""
    pooled = []
    for ph in range(rows.shape[1]):
        row_max = tf.reduce_max(tf.where(rows[:, ph, :, None, None], regions, LOWEST_FLOAT), axis=1)  # (R, W, C)
        bin_max = tf.reduce_max(tf.where(cols[:, :, :, None], row_max[:, None], LOWEST_FLOAT), axis=2)
        pooled.append(tf.where(empty[:, ph, :, None], 0.0, bin_max))  # (R, PW, C)
    return tf.stack(pooled, axis=1)


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
        rows, cols = bin_masks_tf(hstart, hend, height), bin_masks_tf(wstart, wend, width)
        empty = tf.logical_or((hend <= hstart)[:, :, None], (wend <= wstart)[:, None, :])  # (R, PH, PW)
        # Each ROI's copy of the map is made a few channels at a time (see roi_pooling_torch.py).
        top = tf.concat([max_of_bins_tf(tf.gather(features[..., c:c + CHANNEL_CHUNK_TF], batch), rows, cols, empty)
                         for c in range(0, features.shape[3], CHANNEL_CHUNK_TF)], axis=3)  # (R, PH, PW, C)
        return top if self.channels_last else tf.transpose(top, (0, 3, 1, 2))

    def get_config(self):
        return {**super().get_config(), "pooled_h": self.pooled_h, "pooled_w": self.pooled_w,
                "spatial_scale": self.spatial_scale, "channels_last": self.channels_last}
