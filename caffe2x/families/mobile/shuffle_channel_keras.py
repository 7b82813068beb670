"""The Keras layer a generated model.py copies for ShuffleNet's ShuffleChannel (imports keras/tensorflow only)."""

import keras
import tensorflow as tf
from keras import layers

from .shuffle_channel import channel_order


@keras.saving.register_keras_serializable(package="caffe2x")
class ShuffleChannel(layers.Layer):
    """Gathers the channels (on `axis`: -1 for an NHWC tensor) in the fork's shuffled order
    (TFLite: GATHER). A 2- or 3-axis bottom (channels on axis 1) is given `chw`, the fork's 4-D
    top (C, H, W): the result is reshaped to it and made NHWC."""

    def __init__(self, channels, group, axis=-1, chw=None, **kwargs):
        super().__init__(**kwargs)
        self.channels, self.group, self.axis = channels, group, axis
        self.chw = None if chw is None else tuple(chw)

    def call(self, x):
        shuffled = tf.gather(x, channel_order(self.channels, self.group), axis=self.axis)
        if self.chw is None:
            return shuffled
        return tf.transpose(tf.reshape(shuffled, (-1, *self.chw)), (0, 2, 3, 1))

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "group": self.group, "axis": self.axis,
                "chw": self.chw}
