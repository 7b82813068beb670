"""The Keras layer a generated model.py copies for max-unpooling by a mask (imports keras/tensorflow only)."""

import keras
import tensorflow as tf
from keras import layers


@keras.saving.register_keras_serializable(package="caffe2x")
class Unpool(layers.Layer):
    """SegNet's Upsample, NHWC, in TFLite builtins: the mask value m of (n, h, w, c) names the
    top's cell (n, m / W', m % W', c), flat (n * plane + m) * C + c; each top cell takes the
    value of the largest flat input position naming it (UNSORTED_SEGMENT_MAX: the fork's later
    write wins, and NHWC order keeps each plane's order), zero where none does. Mask values of
    -1 or past the plane go to a spare segment that is cut off."""

    def __init__(self, size, **kwargs):
        super().__init__(**kwargs)
        self.size = tuple(size)

    def call(self, inputs):
        data, mask = inputs
        shape = tf.shape(data)
        batch, channels = shape[0], data.shape[3]
        plane = self.size[0] * self.size[1]
        index = tf.cast(mask, tf.int32)
        item = tf.range(batch)[:, None, None, None]
        channel = tf.range(channels)[None, None, None, :]
        cells = batch * plane * channels
        target = tf.where((index >= 0) & (index < plane), (item * plane + index) * channels + channel, cells)
        positions = tf.reshape(tf.range(tf.size(data)), [-1])
        winner = tf.math.unsorted_segment_max(positions, tf.reshape(target, [-1]), cells + 1)[:-1]
        values = tf.gather(tf.reshape(data, [-1]), tf.maximum(winner, 0))
        top = tf.where(winner >= 0, values, tf.zeros_like(values))
        return tf.reshape(top, [batch, self.size[0], self.size[1], channels])

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], *self.size, input_shape[0][3])

    def get_config(self):
        return {**super().get_config(), "size": self.size}
