"""The Keras layer a generated model.py copies for BN (imports keras/tensorflow only)."""

import keras
import tensorflow as tf
from keras import layers

from .bn import apply_bn, batch_moments


@keras.saving.register_keras_serializable(package="caffe2x")
class BN(layers.Layer):
    """(x - mean) / sqrt(variance + eps) * scale + shift, the statistics stored (PSPNet, SegNet's
    INFERENCE with mean 0, variance 1, eps 0) or the batch's over `axes` (SegNet's LEARN, which
    may also return them). The four weights have `shape`, in the tensor's Keras layout."""

    def __init__(self, shape, axes, batch_statistics, eps, statistics_tops=False, **kwargs):
        super().__init__(**kwargs)
        self.shape, self.axes, self.batch_statistics, self.eps = tuple(shape), list(axes), batch_statistics, eps
        self.statistics_tops = statistics_tops

    def build(self, input_shape):
        for name in ("scale", "shift", "mean", "variance"):
            setattr(self, name, self.add_weight(name=name, shape=self.shape, initializer="zeros", trainable=False))

    def call(self, x):
        mean, variance = self.mean, self.variance
        if self.batch_statistics:
            mean, variance = batch_moments(x, lambda t: tf.reduce_mean(t, self.axes, keepdims=True))
        y = apply_bn(x, self.scale, self.shift, mean, variance, self.eps, tf.sqrt)
        if self.statistics_tops:  # SegNet's tops 2 and 3, 1 x C x 1 x 1 (NHWC: 1 x 1 x 1 x C)
            return y, tf.reshape(mean, [1, 1, 1, -1]), tf.reshape(variance, [1, 1, 1, -1])
        return y

    def get_config(self):
        return {**super().get_config(), "shape": self.shape, "axes": self.axes,
                "batch_statistics": self.batch_statistics, "eps": self.eps, "statistics_tops": self.statistics_tops}
