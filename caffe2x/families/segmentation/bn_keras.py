"""The Keras layer a generated model.py copies for BN (imports keras/tensorflow only)."""

import keras
import tensorflow as tf
from keras import layers

from .bn import apply_bn, batch_moments


@keras.saving.register_keras_serializable(package="caffe2x")
class BN(layers.Layer):
    """(x - mean) / sqrt(variance + eps) * scale + shift, the statistics stored (PSPNet, SegNet's
    INFERENCE with mean 0, variance 1, eps 0) or the batch's over `axes` (SegNet's LEARN). The
    four weights have `shape`, in the tensor's Keras layout."""

    def __init__(self, shape, axes, batch_statistics, eps, **kwargs):
        super().__init__(**kwargs)
        self.shape, self.axes, self.batch_statistics, self.eps = tuple(shape), list(axes), batch_statistics, eps

    def build(self, input_shape):
        for name in ("scale", "shift", "mean", "variance"):
            setattr(self, name, self.add_weight(name=name, shape=self.shape, initializer="zeros", trainable=False))

    def call(self, x):
        mean, variance = self.mean, self.variance
        if self.batch_statistics:
            mean, variance = batch_moments(x, lambda t: tf.reduce_mean(t, self.axes, keepdims=True))
        return apply_bn(x, self.scale, self.shift, mean, variance, self.eps, tf.sqrt)

    def get_config(self):
        return {**super().get_config(), "shape": self.shape, "axes": self.axes,
                "batch_statistics": self.batch_statistics, "eps": self.eps}
