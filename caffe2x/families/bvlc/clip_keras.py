"""The Keras layer a generated model.py copies for BVLC's Clip (imports keras/tensorflow only)."""

import keras
import tensorflow as tf
from keras import layers

from .clip import apply_clip


@keras.saving.register_keras_serializable(package="caffe2x")
class Clip(layers.Layer):
    """max(low, min(x, high)), in that order (low wins when low > high, as in Caffe)."""

    def __init__(self, low, high, **kwargs):
        super().__init__(**kwargs)
        self.low, self.high = low, high

    def call(self, x):
        return apply_clip(x, self.low, self.high, tf.maximum, tf.minimum)

    def get_config(self):
        return {**super().get_config(), "low": self.low, "high": self.high}
