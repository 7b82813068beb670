"""The Keras layer a generated model.py copies for SSD's PriorBox (imports keras/tensorflow only)."""

import keras
import tensorflow as tf
from keras import layers


@keras.saving.register_keras_serializable(package="caffe2x")
class PriorBox(layers.Layer):
    """SSD's PriorBox: its (1, 2, count) top, computed by caffe2x when the net was converted
    (it depends only on the bottoms' heights and widths, fixed by the model's inputs) and
    held as a non-trainable weight. Batch 1 whatever the input batch, as Caffe gives it;
    the inputs only place the layer in the graph."""

    def __init__(self, count, **kwargs):
        super().__init__(**kwargs)
        self.count = count

    def build(self, input_shape):
        self.priors = self.add_weight(name="priors", shape=(1, 2, self.count), initializer="zeros",
                                      trainable=False)

    def call(self, inputs):
        return tf.identity(self.priors)

    def compute_output_shape(self, input_shape):
        return (1, 2, self.count)

    def get_config(self):
        return {**super().get_config(), "count": self.count}
