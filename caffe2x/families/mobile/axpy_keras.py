"""The Keras layer a generated model.py copies for SENet's Axpy (imports keras/tensorflow only)."""

import keras
import tensorflow as tf
from keras import layers

from .axpy import apply_axpy


@keras.saving.register_keras_serializable(package="caffe2x")
class Axpy(layers.Layer):
    """a * x + y; a is reshaped to (batch, *view): x's channel axis holds C, the others 1."""

    def __init__(self, view, **kwargs):
        super().__init__(**kwargs)
        self.view = tuple(view)

    def call(self, inputs):
        a, x, y = inputs
        return apply_axpy(tf.reshape(a, (-1, *self.view)), x, y)

    def get_config(self):
        return {**super().get_config(), "view": self.view}
