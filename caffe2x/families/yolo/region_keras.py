"""The Keras layer a generated model.py copies for the caffe-yolov2 ports' Region (imports keras/tensorflow only)."""

import keras
import tensorflow as tf
from keras import layers


@keras.saving.register_keras_serializable(package="caffe2x")
class Region(layers.Layer):
    """On a Caffe-layout (N, C, H, W) tensor: each image's (H·W, C) transpose in the (N, C, H, W)
    top, entry 4 of each record through the logistic, entries 5 .. 5 + classes through a softmax
    when asked; the top returned NHWC."""

    def __init__(self, record, classes, softmax, **kwargs):
        super().__init__(**kwargs)
        self.record, self.classes, self.softmax = record, classes, softmax

    def call(self, x):
        shape = tf.shape(x)
        r = tf.reshape(tf.transpose(x, (0, 2, 3, 1)), (shape[0], -1, self.record))
        classes = r[..., 5:5 + self.classes]
        if self.softmax:
            classes = tf.nn.softmax(classes, axis=-1)
        r = tf.concat([r[..., :4], tf.sigmoid(r[..., 4:5]), classes, r[..., 5 + self.classes:]], axis=-1)
        return tf.transpose(tf.reshape(r, shape), (0, 2, 3, 1))

    def get_config(self):
        return {**super().get_config(), "record": self.record, "classes": self.classes, "softmax": self.softmax}
