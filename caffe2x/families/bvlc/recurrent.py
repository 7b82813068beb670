"""What BVLC's LSTM and RNN layers share (RecurrentLayer): bottoms, shapes, blobs, the
unrolled loop, the NumPy backend the reference runs it with, the emitters and the
registration (register: lstm.py and rnn.py give only their cell's loop and blobs).

Source: BVLC/caffe master, commit 9b891540183ddc834a02b2bd81b31afae71b2153,
src/caffe/layers/recurrent_layer.cpp (+ include/caffe/layers/recurrent_layer.hpp):

- bottoms: x (T, N, ...), cont (T, N) (exactly 2 axes, same T and N), then x_static (N, ...)
  when there is one more bottom than required, then with `expose_hidden` the initial states
  (RNN: h_0; LSTM: h_0, c_0), each (1, N, num_output). Without `expose_hidden` Caffe starts
  each forward pass from the previous pass's last states (zero on a fresh net); a converted
  model is stateless and starts from zeros, as Caffe's first pass does.
- tops: the output sequence (T, N, num_output), then with `expose_hidden` the last states
  (RNN: h_T; LSTM: h_T, c_T), each (1, N, num_output).
- the layer is unrolled over T into InnerProducts (axis 2: x flattened from its third axis;
  x_static from its second), a Scale of the previous hidden state by cont_t (axis 0), Eltwise
  sums and the cell; its blobs are the unrolled net's own parameters in layer order:
  W_x, b_x, [W_x_static], then the recurrent ones (lstm.py, rnn.py).
T is fixed, as Caffe fixes it ("input number of timesteps changed"): every target unrolls it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ...api import register_layer
from ...extend import DataBottom, KerasLayer, LayerDef, TorchLayer, check, count


@dataclass(frozen=True)
class RecurrentParams:
    num_output: int
    expose_hidden: bool
    static_input: bool  # a bottom x_static after cont (Caffe: one bottom more than required)


@dataclass(frozen=True)
class RecurrentKind:
    """What differs between LSTM and RNN: the gate rows per output (LSTM 4: i, f, o, g), the
    state blobs (exposed as bottoms and tops in this order) and the recurrent blobs' shapes."""

    type: str
    gates: int
    states: tuple[str, ...]
    recurrent_blobs: Callable[[int], list[tuple[int, ...]]]  # num_output -> the blobs after W_x, b_x, [W_x_static]


def parse_for(kind: RecurrentKind):
    """The parse step of `kind`: recurrent_param, and the bottom count Caffe's
    MinBottomBlobs/MaxBottomBlobs allow (x_static present when one more is given)."""

    def parse(layer) -> RecurrentParams:
        p = layer.recurrent_param
        check(p.num_output > 0, "recurrent_param num_output must be positive")
        expose = bool(p.expose_hidden)
        required = 2 + (len(kind.states) if expose else 0)
        bottoms = len(layer.bottom)
        check(bottoms >= 2, f"{kind.type} needs the sequence-continuation bottom cont (T x N) after x: "
                            f"bottoms x, cont[, x_static]{_state_list(kind, expose, 'bottoms')}; it has {bottoms}")
        check(required <= bottoms <= required + 1,
              f"{kind.type} takes {required} or {required + 1} bottoms (x, cont[, x_static]"
              f"{_state_list(kind, expose, 'bottoms')}), not {bottoms}")
        tops = 1 + (len(kind.states) if expose else 0)
        check(len(layer.top) == tops, f"{kind.type} has {tops} top{'s' if tops > 1 else ''} "
                                      f"(the output sequence{_state_list(kind, expose, 'tops')}), not {len(layer.top)}")
        return RecurrentParams(int(p.num_output), expose, bottoms == required + 1)

    return parse


def _state_list(kind: RecurrentKind, expose: bool, where: str) -> str:
    if not expose:
        return ""
    suffix = "_0" if where == "bottoms" else "_T"
    return ", then " + ", ".join(s + suffix for s in kind.states) + " (expose_hidden)"


def infer_for(kind: RecurrentKind):
    def infer(params: RecurrentParams, bottoms):
        x, cont = bottoms[0], bottoms[1]
        check(len(x) >= 3, f"bottom x must have at least 3 axes (T, N, ...), not {len(x)}")
        check(len(cont) == 2 and tuple(cont) == tuple(x[:2]),
              f"bottom cont must be T x N = {x[0]} x {x[1]} (x's first two axes), not {' x '.join(map(str, cont))}")
        if params.static_input:
            static = bottoms[2]
            check(len(static) >= 2 and static[0] == x[1],
                  f"bottom x_static must be N x ... with N = {x[1]}, not {' x '.join(map(str, static))}")
        state = (1, x[1], params.num_output)
        for name, shape in zip(kind.states, bottoms[2 + params.static_input:]):
            check(tuple(shape) == state, f"bottom {name}_0 must be 1 x {x[1]} x {params.num_output} "
                                         f"(one step of the state), not {' x '.join(map(str, shape))}")
        exposed = [state] * len(kind.states) if params.expose_hidden else []
        return [(x[0], x[1], params.num_output), *exposed]

    return infer


def weights_for(kind: RecurrentKind):
    def weight_shapes(params: RecurrentParams, bottoms):
        rows = kind.gates * params.num_output
        shapes = [(rows, count(bottoms[0][2:])), (rows,)]
        if params.static_input:
            shapes.append((rows, count(bottoms[2][1:])))
        return shapes + kind.recurrent_blobs(params.num_output)

    return weight_shapes


def flops_for(kind: RecurrentKind):
    def flops(params: RecurrentParams, bottoms, tops):
        """A multiply-add is 2: every weight matrix once per step and stream (W_x_static once per
        stream), a few operations per output element for the sums, gates and cell."""
        steps, streams = bottoms[0][:2]
        shapes = weights_for(kind)(params, bottoms)
        static = 2 * count(shapes[2]) * streams if params.static_input else 0
        per_step = [s for i, s in enumerate(shapes) if len(s) == 2 and not (params.static_input and i == 2)]
        return 2 * steps * streams * sum(count(s) for s in per_step) + static + 10 * kind.gates * count(tops[0])

    return flops


def draw_continuation(params: RecurrentParams, shape, where, rng) -> np.ndarray:
    """A random cont (run and verify without --inputs) as Caffe's nets feed it: 0 at the first
    step (every stream starts a sequence), then 1; standard-normal values would scale the state."""
    flags = np.ones(shape, np.float32)
    flags[0] = 0.0
    return flags


# cont is data (LayerDef.data_bottoms): drawn as flags for random inputs, never rows; any given
# value is read as Caffe reads it (0 starts a sequence, 1 goes on, others scale the state), the shape
# rule has checked T x N.
CONTINUATION = DataBottom(1, None, draw_continuation)


def split_blobs(params: RecurrentParams, blobs: list):
    """(W_x, b_x, W_x_static or None, the recurrent blobs) from a node's blobs in Caffe's order."""
    static = blobs[2] if params.static_input else None
    return blobs[0], blobs[1], static, list(blobs[2 + params.static_input:])


def sequence_terms(x, x_static, w_x, b_x, w_static, ops):
    """W_x x + b_x (+ W_x_static x_static) for all steps at once: x (T, N, D) as Caffe's
    x_transform InnerProduct reads it; x_static (N, D_static), the same for every step."""
    terms = ops.linear(x, w_x) + b_x
    return terms if x_static is None else terms + ops.linear(x_static, w_static)


class NumpyOps:
    """The operations the unrolled loop uses (lstm.unroll_lstm, rnn.unroll_rnn), in NumPy and
    float64, for the reference; the targets' runtime classes pass their framework's."""

    @staticmethod
    def linear(a, w):
        return a @ w.T

    @staticmethod
    def sigmoid(x):
        return 1.0 / (1.0 + np.exp(-x))

    tanh = staticmethod(np.tanh)

    @staticmethod
    def gates(x, parts):
        return np.split(x, parts, axis=-1)


def reference_for(kind: RecurrentKind, unroll):
    """The reference kernel: unroll(step terms, cont steps, states, recurrent blobs, ops) ->
    (output steps, last states), each step 1 x N x ..., in float64, stored as float32."""

    def reference(node, inputs):
        p: RecurrentParams = node.params
        x, cont = (a.astype(np.float64) for a in inputs[:2])
        steps, streams = x.shape[:2]
        static = inputs[2].astype(np.float64).reshape(streams, -1) if p.static_input else None
        w_x, b_x, w_static, recurrent = split_blobs(p, [w.astype(np.float64) for w in node.weights])
        terms = sequence_terms(x.reshape(steps, streams, -1), static, w_x, b_x, w_static, NumpyOps)
        conts = cont.reshape(steps, streams, 1)
        states = ([s.astype(np.float64) for s in inputs[2 + p.static_input:]] if p.expose_hidden
                  else [np.zeros((1, streams, p.num_output)) for _ in kind.states])
        outputs, last = unroll([terms[t:t + 1] for t in range(steps)], [conts[t:t + 1] for t in range(steps)],
                               states, recurrent, NumpyOps)
        tops = [np.concatenate(outputs)] + (list(last) if p.expose_hidden else [])
        return [t.astype(np.float32) for t in tops]

    return reference


class _OnnxTensor:
    """An ONNX tensor name the unrolled loop computes with: + and * add Add and Mul nodes
    (a NumPy operand becomes a constant), so the loop of lstm.py / rnn.py builds the graph."""

    def __init__(self, ops: OnnxOps, name: str):
        self.ops, self.name = ops, name

    def __add__(self, other):
        return self.ops.binary("Add", self, other)

    def __mul__(self, other):
        return self.ops.binary("Mul", self, other)

    __radd__, __rmul__ = __add__, __mul__


class OnnxOps:
    """The loop's operations as ONNX nodes of one Caffe layer (standard operators only)."""

    def __init__(self, node, builder):
        self.node, self.b = node, builder
        self._constants: dict[tuple[str, int], str] = {}  # one initializer per weight, however many steps read it

    def wrap(self, name: str) -> _OnnxTensor:
        return _OnnxTensor(self, name)

    def tensor(self, value) -> str:
        if isinstance(value, _OnnxTensor):
            return value.name
        return self.constant("const", value, lambda v: v)

    def constant(self, what: str, value, transform) -> str:
        key = (what, id(value))
        if key not in self._constants:
            self._constants[key] = self.b.const(self.node.name, what, np.asarray(transform(value), np.float32))
        return self._constants[key]

    def op(self, op_type: str, inputs, **attrs) -> _OnnxTensor:
        return self.wrap(self.b.op(op_type, [self.tensor(i) for i in inputs], self.node.name, **attrs))

    def binary(self, op_type: str, a, b) -> _OnnxTensor:
        return self.op(op_type, [a, b])

    def linear(self, a, w) -> _OnnxTensor:
        return self.wrap(self.b.op("MatMul", [self.tensor(a), self.constant("weight_t", w, np.transpose)],
                                   self.node.name))

    def sigmoid(self, x) -> _OnnxTensor:
        return self.op("Sigmoid", [x])

    def tanh(self, x) -> _OnnxTensor:
        return self.op("Tanh", [x])

    def reshape(self, x, shape) -> _OnnxTensor:
        return self.wrap(self.b.op("Reshape", [self.tensor(x), self.b.ints(self.node.name, "shape", shape)],
                                   self.node.name))

    def split(self, x, axis: int, sizes) -> list[_OnnxTensor]:
        names = [self.b.fresh(f"{self.node.name}/Split") for _ in sizes]
        self.b.op("Split", [self.tensor(x), self.b.ints(self.node.name, "split", list(sizes))], self.node.name,
                  outputs=names, axis=axis)
        return [self.wrap(n) for n in names]

    def gates(self, x, parts) -> list[_OnnxTensor]:
        return self.split(x, -1, [self.node.params.num_output] * parts)


def onnx_for(kind: RecurrentKind, unroll):
    """The ONNX emitter: the loop unrolled over the fixed T (Split of the steps: another T is
    refused at run time, as Caffe refuses it), every step 1 x N x ..., the steps concatenated."""

    def emit(node, inputs, outputs, b):
        p: RecurrentParams = node.params
        ops = OnnxOps(node, b)
        steps, streams = b.shape(node.inputs[0])[:2]
        static = ops.reshape(ops.wrap(inputs[2]), [streams, -1]) if p.static_input else None
        w_x, b_x, w_static, recurrent = split_blobs(p, list(node.weights))
        x = ops.reshape(ops.wrap(inputs[0]), [0, streams, -1])
        terms = sequence_terms(x, static, w_x, np.asarray(b_x, np.float32), w_static, ops)
        conts = ops.reshape(ops.wrap(inputs[1]), [0, streams, 1])
        zeros = np.zeros((1, streams, p.num_output), np.float32)
        states = ([ops.wrap(i) for i in inputs[2 + p.static_input:]] if p.expose_hidden
                  else [ops.wrap(ops.tensor(zeros)) for _ in kind.states])
        split = [1] * steps
        out, last = unroll(ops.split(terms, 0, split), ops.split(conts, 0, split), states, recurrent, ops)
        sequence = b.op("Concat", [o.name for o in out], node.name, output=outputs[0], axis=0)
        return [sequence] + ([s.name for s in last] if p.expose_hidden else [])

    return emit


def constructor_args(node, shape) -> str:
    """The runtime classes' arguments (recurrent_torch.py, recurrent_keras.py): num_output,
    T, N, the blob shapes, x_static given, expose_hidden."""
    p: RecurrentParams = node.params
    steps, streams = shape(node.inputs[0])[:2]
    shapes = [tuple(int(d) for d in w.shape) for w in node.weights]
    return f"{p.num_output}, {steps}, {streams}, {shapes}, {p.static_input}, {p.expose_hidden}"


def blob_state(node) -> dict[str, np.ndarray]:
    """The PyTorch state: the blobs in Caffe's order as the parameters blob0, blob1, ..."""
    return {f"blob{i}": np.asarray(w, np.float32) for i, w in enumerate(node.weights)}


def keras_inputs(node, args, ctx) -> str:
    """The Keras inputs in Caffe's axis order: a 4-D x or x_static is NHWC inside Keras, each
    permuted back by a Keras layer of its own name (x and x_static may both be 4-D)."""
    return ", ".join(f"layers.Permute((3, 1, 2), name={ctx.name(node, f'bottom{index}_to_nchw')})({arg})"
                     if ctx.layout(value) == "nhwc" else ctx.to_caffe(node, arg, value)
                     for index, (arg, value) in enumerate(zip(args, node.inputs)))


def pytorch_for(kind: RecurrentKind):
    """The PyTorch emitter: recurrent_torch.py's class of the kind's name, the blobs its state."""

    def pytorch(node, ctx):
        return TorchLayer(f"{kind.type}({constructor_args(node, ctx.shape)})", state=blob_state(node),
                          helpers=(f"caffe2x.families.bvlc.recurrent_torch:{kind.type}",))

    return pytorch


def tensorflow_for(kind: RecurrentKind):
    """The Keras emitter: recurrent_keras.py's class of the kind's name on the Caffe-layout
    bottoms, the blobs its weights; the tops keep Caffe's layout."""

    def tensorflow(node, args, ctx):
        return KerasLayer(f"{kind.type}({constructor_args(node, ctx.shape)}, name={ctx.name(node)})"
                          f"([{keras_inputs(node, args, ctx)}])",
                          weights={ctx.raw_name(node): [np.asarray(w, np.float32) for w in node.weights]},
                          custom=(f"caffe2x.families.bvlc.recurrent_keras:{kind.type}",),
                          layouts=["caffe"] * len(node.outputs))

    return tensorflow


def register(kind: RecurrentKind, unroll) -> None:
    """Register the kind's layer type: recurrent_param, Caffe's shape rule and blobs, T fixed
    (fixed_batch), cont a data bottom, the reference and every emitter running `unroll`
    (lstm.unroll_lstm, rnn.unroll_rnn)."""
    definition = LayerDef(parse_for(kind), infer_for(kind), weights=weights_for(kind), flops=flops_for(kind),
                          bottoms=(1, None), tops=(1, None), fixed_batch=True, data_bottoms=(CONTINUATION,))
    register_layer(kind.type, definition, reference_for(kind, unroll), onnx=onnx_for(kind, unroll),
                   pytorch=pytorch_for(kind), tensorflow=tensorflow_for(kind))
