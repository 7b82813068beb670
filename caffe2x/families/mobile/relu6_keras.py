"""The Keras layer a generated model.py copies for the mobile forks' leaky ReLU6 (imports keras/tensorflow only)."""

import keras
import tensorflow as tf
from keras import layers

from .relu6 import apply_relu6


@keras.saving.register_keras_serializable(package="caffe2x")
class ReLU6(layers.Layer):
    """min(max(x, 0) + slope * min(x, 0), 6): the cap applies to the leak too."""

    def __init__(self, slope, **kwargs):
        super().__init__(**kwargs)
        self.slope = slope

    def call(self, x):
        return apply_relu6(x, self.slope, tf.maximum, tf.minimum)

    def get_config(self):
        return {**super().get_config(), "slope": self.slope}
