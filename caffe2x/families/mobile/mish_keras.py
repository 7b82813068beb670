"""The Keras layer a generated model.py copies for the forks' Mish (imports keras/tensorflow only)."""

import keras
import tensorflow as tf
from keras import layers

from .mish import apply_mish


@keras.saving.register_keras_serializable(package="caffe2x")
class Mish(layers.Layer):
    """x * tanh(softplus(x)) (TFLite: EXP, ADD, LOG, TANH, MUL builtins)."""

    def call(self, x):
        return apply_mish(x, tf.math.softplus, tf.tanh)
