"""The Keras layer a generated model.py copies for BVLC's Embed (imports keras/tensorflow only)."""

import keras
import tensorflow as tf
from keras import layers

from .embed import lookup


@keras.saving.register_keras_serializable(package="caffe2x")
class Embed(layers.Layer):
    """Rows of the (input_dim, num_output) table at the input values truncated to integers
    (as Caffe's static_cast<int>), plus the bias; TFLite: CAST and GATHER."""

    def __init__(self, input_dim, num_output, bias_term, **kwargs):
        super().__init__(**kwargs)
        self.input_dim, self.num_output, self.bias_term = input_dim, num_output, bias_term

    def build(self, input_shape):
        self.table = self.add_weight(name="weight", shape=(self.input_dim, self.num_output), initializer="zeros")
        self.offset = (self.add_weight(name="bias", shape=(self.num_output,), initializer="zeros")
                       if self.bias_term else None)

    def call(self, x):
        return lookup(self.table, tf.cast(x, tf.int32), self.offset, self.rows)

    @staticmethod
    def rows(table, indices):
        return tf.gather(table, indices)

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim, "num_output": self.num_output,
                "bias_term": self.bias_term}
