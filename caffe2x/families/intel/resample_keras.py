"""The Keras layer a generated model.py copies for FlowNet2's Resample (imports keras/tensorflow only)."""

import keras
import tensorflow as tf
from keras import layers


@keras.saving.register_keras_serializable(package="caffe2x")
class Resample(layers.Layer):
    """NHWC: out[n, :, :, c] = rows @ x[n, :, :, c] @ cols with the resampling weights of each
    axis, computed by caffe2x when the net was converted and held as non-trainable weights
    (rows_t is rows transposed). Plain 2-D matrix products between reshapes and transposes,
    which TFLite runs as builtin FULLY_CONNECTED/BATCH_MATMUL, RESHAPE and TRANSPOSE."""

    def __init__(self, rows_shape, cols_shape, **kwargs):
        super().__init__(**kwargs)
        self.rows_shape, self.cols_shape = tuple(rows_shape), tuple(cols_shape)

    def build(self, input_shape):
        out_h, in_h = self.rows_shape
        self.rows_t = self.add_weight(name="rows_t", shape=(in_h, out_h), initializer="zeros", trainable=False)
        self.cols = self.add_weight(name="cols", shape=self.cols_shape, initializer="zeros", trainable=False)

    def call(self, x):
        out_h, in_h = self.rows_shape
        in_w, out_w = self.cols_shape
        channels = x.shape[3]
        y = tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [-1, in_w])  # (N*C*H, W)
        y = tf.reshape(tf.matmul(y, self.cols), [-1, channels, in_h, out_w])
        y = tf.reshape(tf.transpose(y, [0, 1, 3, 2]), [-1, in_h])  # (N*C*OW, H)
        y = tf.reshape(tf.matmul(y, self.rows_t), [-1, channels, out_w, out_h])
        return tf.transpose(y, [0, 3, 2, 1])  # (N, OH, OW, C)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.rows_shape[0], self.cols_shape[1], input_shape[3])

    def get_config(self):
        return {**super().get_config(), "rows_shape": self.rows_shape, "cols_shape": self.cols_shape}
