"""The Keras layer a generated model.py copies for BVLC's Swish (imports keras/tensorflow only)."""

import keras
import tensorflow as tf
from keras import layers

from .swish import apply_swish


@keras.saving.register_keras_serializable(package="caffe2x")
class Swish(layers.Layer):
    """x * sigmoid(beta * x)."""

    def __init__(self, beta, **kwargs):
        super().__init__(**kwargs)
        self.beta = beta

    def call(self, x):
        return apply_swish(x, self.beta, tf.sigmoid)

    def get_config(self):
        return {**super().get_config(), "beta": self.beta}
