"""BVLC Caffe's LSTM layer: a long short-term memory over T steps of N streams, with the
sequence-continuation input `cont` resetting the state where a stream starts a new sequence.

Source: BVLC/caffe master, commit 9b891540183ddc834a02b2bd81b31afae71b2153,
src/caffe/layers/lstm_layer.cpp (the unrolled net) and lstm_unit_layer.cpp (the cell); what
LSTM and RNN share (bottoms, tops, expose_hidden, x_static) is in recurrent.py. Per step t:

    gates_t = W_hc (cont_t * h_{t-1}) + W_xc x_t + b_c [+ W_xc_static x_static]
    i, f, o, g = gates_t split in four (this order), num_output rows each
    i, o = sigmoid(i), sigmoid(o);  f = cont_t * sigmoid(f);  g = tanh(g)
    c_t = f * c_{t-1} + i * g;  h_t = o * tanh(c_t)

The top is h_1..h_T; the blobs W_xc (4H x D), b_c (4H), [W_xc_static (4H x D_static)], W_hc (4H x H).
Caffe's LSTMUnit writes f = 0 where cont is 0 and cont * sigmoid(f') elsewhere, the same
number. Its tanh is 2 * sigmoid(2x) - 1, equal to tanh within float32 rounding.
"""

from __future__ import annotations

from . import recurrent


def lstm_unit(c_prev, gates, cont, ops):
    """lstm_unit_layer.cpp's Forward_cpu for one step: gates in Caffe's order i, f, o, g."""
    i, f, o, g = ops.gates(gates, 4)
    i, f, o, g = ops.sigmoid(i), cont * ops.sigmoid(f), ops.sigmoid(o), ops.tanh(g)
    c = f * c_prev + i * g
    return c, o * ops.tanh(c)


def unroll_lstm(terms, conts, states, blobs, ops):
    """lstm_layer.cpp's unrolled net: terms are the steps' W_xc x_t + b_c (+ static), conts the
    steps' cont (1 x N x 1), states (h_0, c_0), blobs (W_hc,). -> ([h_1..h_T], [h_T, c_T])."""
    h, c = states
    (w_hc,) = blobs
    outputs = []
    for term, cont in zip(terms, conts):
        c, h = lstm_unit(c, ops.linear(cont * h, w_hc) + term, cont, ops)
        outputs.append(h)
    return outputs, [h, c]


KIND = recurrent.RecurrentKind("LSTM", gates=4, states=("h", "c"),
                               recurrent_blobs=lambda hidden: [(4 * hidden, hidden)])

recurrent.register(KIND, unroll_lstm)
