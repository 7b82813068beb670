"""BVLC Caffe (master) layer types that came after the classic ones: Clip, Swish, Embed, Parameter, LSTM, RNN. Their
parameter blocks (clip_param = 148, swish_param = 147) are in BVLC's own schema
(caffe2x/schema), so they read like every other BVLC type; the layers are registered here
through the public extension API, one module per layer, as the fork families are."""

from . import clip, embed, lstm, parameter, rnn, swish  # noqa: F401  (each registers its layer)
