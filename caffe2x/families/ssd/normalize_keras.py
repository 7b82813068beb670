"""The Keras layer a generated model.py copies for the SSD fork's Normalize (imports keras/tensorflow only)."""

import keras
import tensorflow as tf
from keras import layers

from .normalize import apply_normalize


@keras.saving.register_keras_serializable(package="caffe2x")
class Normalize(layers.Layer):
    """x / sqrt(sum of x² over `axes` + eps) * scale; `axes` and the scale's shape are in the
    tensor's Keras layout (the channel axis of a 4-D blob is the last)."""

    def __init__(self, axes, scale_shape, eps, **kwargs):
        super().__init__(**kwargs)
        self.axes, self.scale_shape, self.eps = list(axes), tuple(scale_shape), eps

    def build(self, input_shape):
        self.scale = self.add_weight(name="scale", shape=self.scale_shape, initializer="ones")

    def call(self, x):
        return apply_normalize(x, self.scale, self.eps, lambda t: tf.reduce_sum(t, self.axes, keepdims=True), tf.sqrt)

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "scale_shape": self.scale_shape, "eps": self.eps}
