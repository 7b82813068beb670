"""The Keras layer a generated model.py copies for Unpooling without a mask (imports keras/tensorflow only)."""

import keras
import tensorflow as tf
from keras import layers

from .unpooling import first_cell_sources


@keras.saving.register_keras_serializable(package="caffe2x")
class FirstCellUnpool(layers.Layer):
    """NHWC MAX unpooling without a mask: each value to the first cell of its window (clamped to
    the top), the later one winning, zeros elsewhere (PAD, GATHER, RESHAPE: TFLite builtins)."""

    def __init__(self, in_hw, stride, size, **kwargs):
        super().__init__(**kwargs)
        self.in_hw, self.stride, self.size = tuple(in_hw), tuple(stride), tuple(size)
        self.sources = first_cell_sources(self.in_hw, self.stride, self.size)

    def call(self, x):
        _, h, w, c = x.shape
        cells = tf.pad(tf.reshape(x, [-1, h * w, c]), [[0, 0], [0, 1], [0, 0]])
        return tf.reshape(tf.gather(cells, self.sources, axis=1), [-1, *self.size, c])

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self.size, input_shape[3])

    def get_config(self):
        return {**super().get_config(), "in_hw": self.in_hw, "stride": self.stride, "size": self.size}
