"""The Keras layer a generated model.py copies for a Permute that moves the batch axis
(imports keras/tensorflow only); Keras' own layers.Permute keeps the batch first."""

import keras
import tensorflow as tf
from keras import layers


@keras.saving.register_keras_serializable(package="caffe2x")
class Transpose(layers.Layer):
    """tf.transpose(x, perm), the batch axis included."""

    def __init__(self, perm, **kwargs):
        super().__init__(**kwargs)
        self.perm = list(perm)

    def call(self, x):
        return tf.transpose(x, self.perm)

    def get_config(self):
        return {**super().get_config(), "perm": self.perm}
