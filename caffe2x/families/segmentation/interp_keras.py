"""The Keras layer a generated model.py copies for Interp (imports keras/tensorflow only)."""

import keras
import tensorflow as tf
from keras import layers


@keras.saving.register_keras_serializable(package="caffe2x")
class Interp(layers.Layer):
    """NHWC: crop rows/columns crop = (top, bottom, left, right), then align_corners bilinear
    resizing to `size` (ResizeBilinear, TFLite's builtin RESIZE_BILINEAR with align_corners),
    or the crop alone when `copy` (the fork copies equal sizes)."""

    def __init__(self, crop, size, copy, **kwargs):
        super().__init__(**kwargs)
        self.crop, self.size, self.copy = tuple(crop), tuple(size), copy

    def call(self, x):
        top, bottom, left, right = self.crop
        x = x[:, top:bottom, left:right, :]
        if self.copy:
            return x
        return tf.raw_ops.ResizeBilinear(images=x, size=list(self.size), align_corners=True, half_pixel_centers=False)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self.size, input_shape[3])

    def get_config(self):
        return {**super().get_config(), "crop": self.crop, "size": self.size, "copy": self.copy}
