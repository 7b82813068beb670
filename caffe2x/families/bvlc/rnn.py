"""BVLC Caffe's RNN layer: a simple (Elman) recurrent net over T steps of N streams, with the
sequence-continuation input `cont` resetting the state where a stream starts a new sequence.

Source: BVLC/caffe master, commit 9b891540183ddc834a02b2bd81b31afae71b2153,
src/caffe/layers/rnn_layer.cpp (the unrolled net); what LSTM and RNN share (bottoms, tops,
expose_hidden, x_static) is in recurrent.py. Per step t:

    h_t = tanh(W_hh (cont_t * h_{t-1}) + W_xh x_t + b_h [+ W_xh_static x_static])
    o_t = tanh(W_ho h_t + b_o)

The top is o_1..o_T (with expose_hidden also h_T); the blobs W_xh (H x D), b_h (H),
[W_xh_static (H x D_static)], W_hh (H x H), W_ho (H x H), b_o (H).
"""

from __future__ import annotations

from . import recurrent


def unroll_rnn(terms, conts, states, blobs, ops):
    """rnn_layer.cpp's unrolled net: terms are the steps' W_xh x_t + b_h (+ static), conts the
    steps' cont (1 x N x 1), states (h_0,), blobs (W_hh, W_ho, b_o). -> ([o_1..o_T], [h_T])."""
    (h,) = states
    w_hh, w_ho, b_o = blobs
    outputs = []
    for term, cont in zip(terms, conts):
        h = ops.tanh(ops.linear(cont * h, w_hh) + term)
        outputs.append(ops.tanh(ops.linear(h, w_ho) + b_o))
    return outputs, [h]


KIND = recurrent.RecurrentKind("RNN", gates=1, states=("h",),
                               recurrent_blobs=lambda hidden: [(hidden, hidden), (hidden, hidden), (hidden,)])

recurrent.register(KIND, unroll_rnn)
