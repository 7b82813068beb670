"""The Keras layer a generated model.py copies for PSROIPooling (imports keras/tensorflow only)."""

import keras
import tensorflow as tf
from keras import layers

from .roi_bins import psroi_pooling_bins
from .roi_pooling_keras import TfOps, bin_masks_tf, bin_row_tf, roi_rows_tf


@keras.saving.register_keras_serializable(package="caffe2x")
class PSROIPooling(layers.Layer):
    """[score maps, (R, 5) ROIs] -> (R, G, G, output_dim) for NHWC maps (channels_last), else
    (R, output_dim, G, G): each bin the mean of its cells in its own channel group, 0 when empty."""

    def __init__(self, spatial_scale, output_dim, group_size, channels_last, **kwargs):
        super().__init__(**kwargs)
        self.spatial_scale, self.output_dim, self.group_size = spatial_scale, output_dim, group_size
        self.channels_last = channels_last

    def call(self, inputs):
        features, rois = inputs
        if not self.channels_last:
            features = tf.transpose(features, (0, 2, 3, 1))
        height, width, size = features.shape[1], features.shape[2], self.group_size
        columns, batch = roi_rows_tf(rois, features)
        hstart, hend, wstart, wend = psroi_pooling_bins(
            TfOps, *columns, bin_row_tf(size), self.spatial_scale, size, height, width)
        regions = tf.gather(features, batch)  # (R, H, W, C)
        rows, cols = bin_masks_tf(hstart, hend, height), bin_masks_tf(wstart, wend, width)
        pooled = []
        for ph in range(size):
            for pw in range(size):
                # Channel (ctop * G + ph) * G + pw for ctop = 0..output_dim-1.
                channels = regions[:, :, :, ph * size + pw::size * size]
                inside = tf.logical_and(rows[:, ph, :, None, None], cols[:, pw, None, :, None])  # (R, H, W, 1)
                total = tf.reduce_sum(tf.where(inside, channels, 0.0), axis=(1, 2))  # (R, D)
                area = (hend[:, ph:ph + 1] - hstart[:, ph:ph + 1]) * (wend[:, pw:pw + 1] - wstart[:, pw:pw + 1])
                empty = tf.logical_or(hend[:, ph:ph + 1] <= hstart[:, ph:ph + 1],
                                      wend[:, pw:pw + 1] <= wstart[:, pw:pw + 1])
                pooled.append(tf.where(empty, 0.0, total / area))  # (R, D)
        top = tf.reshape(tf.stack(pooled, axis=2), (-1, self.output_dim, size, size))  # Caffe's order
        return tf.transpose(top, (0, 2, 3, 1)) if self.channels_last else top

    def get_config(self):
        return {**super().get_config(), "spatial_scale": self.spatial_scale, "output_dim": self.output_dim,
                "group_size": self.group_size, "channels_last": self.channels_last}
