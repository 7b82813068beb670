"""The Keras layer a generated model.py copies for ClippedGain (imports keras/tensorflow only)."""

import keras
import tensorflow as tf
from keras import layers


@keras.saving.register_keras_serializable(package="clipped_gain")
class ClippedGain(layers.Layer):
    """x * gain (a weight of shape `view`, broadcast over the layout's channel axis),
    clipped to [low, high] unless they are None."""

    def __init__(self, view, low, high, **kwargs):
        super().__init__(**kwargs)
        self.view, self.low, self.high = tuple(view), low, high

    def build(self, input_shape):
        self.gain = self.add_weight(name="gain", shape=self.view, initializer="ones")

    def call(self, x):
        y = x * self.gain
        return y if self.low is None else tf.clip_by_value(y, self.low, self.high)

    def get_config(self):
        return {**super().get_config(), "view": self.view, "low": self.low, "high": self.high}
