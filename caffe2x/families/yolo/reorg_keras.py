"""The Keras layer a generated model.py copies for YOLO's Reorg (imports keras/tensorflow only)."""

import keras
import tensorflow as tf
from keras import layers


@keras.saving.register_keras_serializable(package="caffe2x")
class Reorg(layers.Layer):
    """The fork's reorg_cpu index map on a Caffe-layout (N, C, H, W) tensor: reshape to `view`,
    transpose by `perm`, reshape to `top` (each without the batch; reorg.plan computes them);
    the top is returned NHWC."""

    def __init__(self, view, perm, top, **kwargs):
        super().__init__(**kwargs)
        self.view, self.perm, self.top = tuple(view), tuple(perm), tuple(top)

    def call(self, x):
        top = tf.reshape(tf.transpose(tf.reshape(x, (-1, *self.view)), self.perm), (-1, *self.top))
        return tf.transpose(top, (0, 2, 3, 1))

    def get_config(self):
        return {**super().get_config(), "view": self.view, "perm": self.perm, "top": self.top}
