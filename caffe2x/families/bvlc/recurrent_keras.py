"""The Keras layers a generated model.py copies for BVLC's LSTM and RNN (imports keras and
tensorflow only): the loop of lstm.py / rnn.py unrolled over the fixed T with TensorFlow's
operations (TFLite: builtin FULLY_CONNECTED, LOGISTIC, TANH, MUL, ADD, slices and concat)."""

import keras
import tensorflow as tf
from keras import layers

from .lstm import unroll_lstm
from .recurrent import sequence_terms
from .rnn import unroll_rnn


class KerasRecurrentOps:
    """The operations the shared loop calls (recurrent.NumpyOps is the reference's)."""

    @staticmethod
    def linear(a, w):
        """a @ w.T over a's last axis, as a 2-D matmul (TFLite: FULLY_CONNECTED); a is N x D or
        T x N x D with N known (T is Keras's batch axis, unknown while the model is built)."""
        if len(a.shape) == 2:
            return tf.matmul(a, w, transpose_b=True)
        flat = tf.matmul(tf.reshape(a, (-1, w.shape[1])), w, transpose_b=True)
        return tf.reshape(flat, (-1, a.shape[1], w.shape[0]))

    sigmoid = staticmethod(tf.sigmoid)
    tanh = staticmethod(tf.tanh)

    @staticmethod
    def gates(x, parts):
        return tf.split(x, parts, axis=-1)


class CaffeRecurrent(layers.Layer):
    """Caffe's RecurrentLayer: inputs [x (T, N, ...), cont (T, N), x_static (N, ...) if given,
    the initial states (1, N, num_output) with expose_hidden], in Caffe's axis order; the
    blobs in Caffe's order; returns the output sequence (T, N, num_output) and, with
    expose_hidden, the last states. Without expose_hidden the states start at zero."""

    state_count = 0  # the states a subclass carries from step to step

    def __init__(self, num_output, steps, streams, blob_shapes, static_input, expose_hidden, **kwargs):
        super().__init__(**kwargs)
        self.num_output, self.steps, self.streams = num_output, steps, streams
        self.blob_shapes = [tuple(s) for s in blob_shapes]
        self.static_input, self.expose_hidden = static_input, expose_hidden

    def build(self, input_shape):
        self.blobs = [self.add_weight(name=f"blob{i}", shape=s, initializer="zeros")
                      for i, s in enumerate(self.blob_shapes)]

    def unroll(self, terms, conts, states, blobs):
        raise NotImplementedError

    def call(self, inputs):
        x, cont, *rest = inputs
        static = tf.reshape(rest[0], (self.streams, self.blob_shapes[2][1])) if self.static_input else None
        terms = sequence_terms(tf.reshape(x, (-1, self.streams, self.blob_shapes[0][1])), static, self.blobs[0],
                               self.blobs[1], self.blobs[2] if self.static_input else None, KerasRecurrentOps)
        conts = tf.reshape(cont, (-1, self.streams, 1))
        given = list(rest[self.static_input:])
        states = given if self.expose_hidden else [tf.zeros((1, self.streams, self.num_output))] * self.state_count
        outputs, last = self.unroll([terms[t:t + 1] for t in range(self.steps)],
                                    [conts[t:t + 1] for t in range(self.steps)], states,
                                    self.blobs[2 + self.static_input:])
        sequence = tf.concat(outputs, 0)
        return (sequence, *last) if self.expose_hidden else sequence

    def get_config(self):
        return {**super().get_config(), "num_output": self.num_output, "steps": self.steps, "streams": self.streams,
                "blob_shapes": self.blob_shapes, "static_input": self.static_input,
                "expose_hidden": self.expose_hidden}


@keras.saving.register_keras_serializable(package="caffe2x")
class LSTM(CaffeRecurrent):
    """BVLC's LSTM (lstm.py): gates i, f, o, g; states h, c."""

    state_count = 2

    def unroll(self, terms, conts, states, blobs):
        return unroll_lstm(terms, conts, states, blobs, KerasRecurrentOps)


@keras.saving.register_keras_serializable(package="caffe2x")
class RNN(CaffeRecurrent):
    """BVLC's RNN (rnn.py): h_t = tanh(W_hh cont_t h_{t-1} + W_xh x_t + b_h), o_t = tanh(W_ho h_t + b_o)."""

    state_count = 1

    def unroll(self, terms, conts, states, blobs):
        return unroll_rnn(terms, conts, states, blobs, KerasRecurrentOps)
