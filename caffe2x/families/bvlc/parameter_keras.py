"""The Keras layer a generated model.py copies for BVLC's Parameter (imports keras/tensorflow only)."""

import keras
import tensorflow as tf
from keras import layers


@keras.saving.register_keras_serializable(package="caffe2x")
class Parameter(layers.Layer):
    """The layer's blob, in Caffe's axis order. Called on the model's first input only to be
    placed in the functional graph; the input is not read."""

    def __init__(self, shape, **kwargs):
        super().__init__(**kwargs)
        self.blob_shape = tuple(shape)

    def build(self, input_shape):
        self.blob = self.add_weight(name="blob", shape=self.blob_shape, initializer="zeros")

    def call(self, anchor):
        return tf.identity(self.blob)

    def compute_output_shape(self, input_shape):
        return self.blob_shape

    def get_config(self):
        return {**super().get_config(), "shape": self.blob_shape}
