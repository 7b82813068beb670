"""The Keras layers a generated model.py copies for Unpooling without a mask (imports keras/tensorflow only)."""

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from .unpooling import first_cell_sources, window_sources


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


@keras.saving.register_keras_serializable(package="caffe2x")
class WindowUnpool(layers.Layer):
    """NHWC AVE (average: each value / its window's size) or TILE unpooling: each value added to
    every cell of its window, in the fork's order, on a zero top (GATHER, DIV, ADD: TFLite builtins)."""

    def __init__(self, in_hw, kernel, stride, size, average, **kwargs):
        super().__init__(**kwargs)
        self.in_hw, self.kernel, self.stride = tuple(in_hw), tuple(kernel), tuple(stride)
        self.size, self.average = tuple(size), average
        self.sources, divisors = window_sources(self.in_hw, self.kernel, self.stride, self.size, average)
        self.divisors = [np.array(d, "float32")[:, None] for d in divisors]

    def call(self, x):
        _, h, w, c = x.shape
        cells = tf.pad(tf.reshape(x, [-1, h * w, c]), [[0, 0], [0, 1], [0, 0]])
        top = tf.zeros_like(tf.gather(cells, self.sources[0], axis=1))
        for row, divisor in zip(self.sources, self.divisors):
            top = top + tf.gather(cells, row, axis=1) / divisor
        return tf.reshape(top, [-1, *self.size, c])

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self.size, input_shape[3])

    def get_config(self):
        return {**super().get_config(), "in_hw": self.in_hw, "kernel": self.kernel, "stride": self.stride,
                "size": self.size, "average": self.average}
