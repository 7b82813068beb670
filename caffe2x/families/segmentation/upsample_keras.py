"""The Keras layer a generated model.py copies for the YOLO ports' Upsample (imports keras/tensorflow only)."""

import keras
import tensorflow as tf
from keras import layers


@keras.saving.register_keras_serializable(package="caffe2x")
class UpsampleNearest(layers.Layer):
    """The YOLO ports' Upsample, NHWC: each column, then each row, repeated `scale` times
    (reshapes and tiles, exact copies)."""

    def __init__(self, scale, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, x):
        _, h, w, c = x.shape
        s = self.scale
        columns = tf.reshape(tf.tile(x[:, :, :, None, :], [1, 1, 1, s, 1]), [-1, h, w * s, c])
        rows = tf.tile(tf.reshape(columns, [-1, h, 1, w * s * c]), [1, 1, s, 1])
        return tf.reshape(rows, [-1, h * s, w * s, c])

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1] * self.scale, input_shape[2] * self.scale, input_shape[3])

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}
