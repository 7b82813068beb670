"""The Keras layer a generated model.py copies for Interp (imports keras/tensorflow only)."""

import keras
import tensorflow as tf
from keras import layers

from caffe2x.families.segmentation.interp_rules import interp_side


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


@keras.saving.register_keras_serializable(package="caffe2x")
class DynamicInterp(layers.Layer):
    """NHWC Interp sized at run time (dynamic height and width): crop -pad_beg rows and columns at
    the start and -pad_end at the end, then align_corners bilinear resizing to the size the fork's
    rule (interp_side) gives the cropped map, or the crop alone when `copy` (the rule keeps it)."""

    def __init__(self, pad_beg, pad_end, zoom, shrink, height, width, copy, **kwargs):
        super().__init__(**kwargs)
        self.pad_beg, self.pad_end, self.zoom, self.shrink = pad_beg, pad_end, zoom, shrink
        self.height, self.width, self.copy = height, width, copy

    def call(self, x):
        shape = tf.shape(x)
        x = x[:, -self.pad_beg:shape[1] + self.pad_end, -self.pad_beg:shape[2] + self.pad_end, :]
        if self.copy:
            return x
        shape = tf.shape(x)
        size = tf.stack([interp_side(shape[1], self.zoom, self.shrink, self.height),
                         interp_side(shape[2], self.zoom, self.shrink, self.width)])
        return tf.raw_ops.ResizeBilinear(images=x, size=size, align_corners=True, half_pixel_centers=False)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], None, None, input_shape[3])

    def get_config(self):
        return {**super().get_config(), "pad_beg": self.pad_beg, "pad_end": self.pad_end, "zoom": self.zoom,
                "shrink": self.shrink, "height": self.height, "width": self.width, "copy": self.copy}
