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
        rows = tf.cast(bin_masks_tf(hstart, hend, height), tf.float32)  # (R, G, H), 1 inside a bin
        cols = tf.cast(bin_masks_tf(wstart, wend, width), tf.float32)  # (R, G, W)
        own = tf.stack([batch, tf.range(tf.shape(rois)[0])], axis=1)  # (R, 2): each ROI's image
        maps = tf.transpose(features, (0, 3, 1, 2))  # (N, C, H, W)
        pooled = []
        for ph in range(size):
            for pw in range(size):
                # Channel (ctop * G + ph) * G + pw for ctop = 0..output_dim-1 of every image, its bin's
                # cells summed by two products with the 0/1 masks (see psroi_pooling_torch.py).
                channels = maps[:, ph * size + pw::size * size]  # (N, D, H, W)
                by_columns = tf.matmul(channels, tf.transpose(cols[:, pw]))  # (N, D, H, R)
                sums = tf.reduce_sum(by_columns * tf.transpose(rows[:, ph]), axis=2)  # (N, D, R)
                total = tf.gather_nd(tf.transpose(sums, (0, 2, 1)), own)  # (R, D)
                area = (hend[:, ph:ph + 1] - hstart[:, ph:ph + 1]) * (wend[:, pw:pw + 1] - wstart[:, pw:pw + 1])
                empty = tf.logical_or(hend[:, ph:ph + 1] <= hstart[:, ph:ph + 1],
                                      wend[:, pw:pw + 1] <= wstart[:, pw:pw + 1])
                pooled.append(tf.where(empty, 0.0, total / area))  # (R, D)
        top = tf.reshape(tf.stack(pooled, axis=2), (-1, self.output_dim, size, size))  # Caffe's order
        return tf.transpose(top, (0, 2, 3, 1)) if self.channels_last else top

    def get_config(self):
        return {**super().get_config(), "spatial_scale": self.spatial_scale, "output_dim": self.output_dim,
                "group_size": self.group_size, "channels_last": self.channels_last}
