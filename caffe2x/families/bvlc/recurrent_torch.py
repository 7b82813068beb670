"""The nn.Modules a generated model.py copies for BVLC's LSTM and RNN (imports torch only):
the loop of lstm.py / rnn.py unrolled over the fixed T, with PyTorch's operations."""

import torch
from torch import nn

from .lstm import unroll_lstm
from .recurrent import sequence_terms
from .rnn import unroll_rnn


class TorchRecurrentOps:
    """The operations the shared loop calls (recurrent.NumpyOps is the reference's)."""

    linear = staticmethod(torch.nn.functional.linear)
    sigmoid = staticmethod(torch.sigmoid)
    tanh = staticmethod(torch.tanh)

    @staticmethod
    def gates(x, parts):
        return torch.chunk(x, parts, -1)


class CaffeRecurrent(nn.Module):
    """Caffe's RecurrentLayer: inputs x (T, N, ...), cont (T, N), [x_static (N, ...)], [the
    initial states, each (1, N, num_output), with expose_hidden]; the blobs in Caffe's order as
    parameters blob0, blob1, ...; returns the output sequence (T, N, num_output) and, with
    expose_hidden, the last states. Without expose_hidden the states start at zero (a fresh
    Caffe net's first pass)."""

    state_count = 0  # the states a subclass carries from step to step

    def __init__(self, num_output, steps, streams, blob_shapes, static_input, expose_hidden):
        super().__init__()
        self.num_output, self.steps, self.streams = num_output, steps, streams
        self.static_input, self.expose_hidden = static_input, expose_hidden
        self.blob_count = len(blob_shapes)
        for index, shape in enumerate(blob_shapes):  # parameters: model.train() fine-tunes them
            setattr(self, f"blob{index}", nn.Parameter(torch.zeros(shape)))

    def unroll(self, terms, conts, states, blobs):
        raise NotImplementedError

    def forward(self, x, cont, *rest):
        blobs = [getattr(self, f"blob{i}") for i in range(self.blob_count)]
        static = rest[0].reshape(self.streams, -1) if self.static_input else None
        recurrent = blobs[2 + self.static_input:]
        terms = sequence_terms(x.reshape(-1, self.streams, blobs[0].shape[1]), static, blobs[0], blobs[1],
                               blobs[2] if self.static_input else None, TorchRecurrentOps)
        conts = cont.reshape(-1, self.streams, 1)
        given = list(rest[self.static_input:])
        states = given if self.expose_hidden else [x.new_zeros(1, self.streams, self.num_output)] * self.state_count
        outputs, last = self.unroll([terms[t:t + 1] for t in range(self.steps)],
                                    [conts[t:t + 1] for t in range(self.steps)], states, recurrent)
        sequence = torch.cat(outputs, 0)
        return (sequence, *last) if self.expose_hidden else sequence


class LSTM(CaffeRecurrent):
    """BVLC's LSTM (lstm.py): gates i, f, o, g; states h, c."""

    state_count = 2

    def unroll(self, terms, conts, states, blobs):
        return unroll_lstm(terms, conts, states, blobs, TorchRecurrentOps)


class RNN(CaffeRecurrent):
    """BVLC's RNN (rnn.py): h_t = tanh(W_hh cont_t h_{t-1} + W_xh x_t + b_h), o_t = tanh(W_ho h_t + b_o)."""

    state_count = 1

    def unroll(self, terms, conts, states, blobs):
        return unroll_rnn(terms, conts, states, blobs, TorchRecurrentOps)
