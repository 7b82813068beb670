"""BVLC Caffe's Embed layer: a lookup table. top[..., :] = W[int(bottom[...]), :] (+ b).

Source: BVLC/caffe master, commit 9b891540183ddc834a02b2bd81b31afae71b2153,
src/caffe/layers/embed_layer.cpp: Reshape makes the top the bottom's shape plus
num_output; Forward_cpu reads each bottom value as `static_cast<int>(bottom_data[n])`
(truncation toward zero) and copies that row of the (input_dim, num_output) weight, then
adds the bias (bias_term, default true). An index outside [0, input_dim) is only a
DCHECK in Caffe (a read out of the table in a release build): caffe2x's reference
refuses it; each target's gather does too. A net input Embed reads is data
(LayerDef.data_bottoms): given values are checked before anything runs, random ones are
drawn as indices into the table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...api import register_layer
from ...extend import DataBottom, InputValueError, KerasLayer, LayerDef, ShapeError, TorchLayer, check


@dataclass(frozen=True)
class EmbedParams:
    input_dim: int
    num_output: int
    bias_term: bool


def parse(layer) -> EmbedParams:
    p = layer.embed_param
    check(p.num_output > 0, "embed_param num_output must be positive")
    check(p.input_dim > 0, "embed_param input_dim must be positive")
    return EmbedParams(int(p.input_dim), int(p.num_output), bool(p.bias_term))


def infer(params: EmbedParams, bottoms):
    return [(*bottoms[0], params.num_output)]


def weight_shapes(params: EmbedParams, bottoms):
    return [(params.input_dim, params.num_output)] + ([(params.num_output,)] if params.bias_term else [])


def flops(params: EmbedParams, bottoms, tops):
    return int(np.prod(tops[0], dtype=np.int64)) if params.bias_term else 0


def lookup(table, indices, bias, gather):
    """embed_layer.cpp's Forward_cpu, for any array type: the rows `indices` (already
    truncated to integers) of the table, plus the bias when there is one."""
    rows = gather(table, indices)
    return rows if bias is None else rows + bias


def truncated_indices(values) -> np.ndarray:
    """The rows embed_layer.cpp reads: static_cast<int> of each value (truncation toward zero)."""
    return np.trunc(np.asarray(values, np.float64)).astype(np.int64)


def outside_table(params: EmbedParams, indices: np.ndarray) -> str | None:
    """Why these (truncated) indices cannot be looked up, None when every one is a row of the table."""
    if indices.size and (indices.min() < 0 or indices.max() >= params.input_dim):
        return f"indices must lie in [0, {params.input_dim}); the input holds {int(indices.min())} to " \
               f"{int(indices.max())}"
    return None


def check_indices(params: EmbedParams, values, where) -> None:
    """A net input Embed reads, as given (--inputs): refused before anything runs."""
    problem = outside_table(params, truncated_indices(values))
    if problem:
        raise InputValueError(f"Embed '{where.layer}': {problem}")


def draw_indices(params: EmbedParams, shape, where, rng) -> np.ndarray:
    """Random inputs (run, verify, a converted folder's example inputs): rows of the table, as
    integer-valued floats; standard-normal values truncate to -1 and fall outside it."""
    return rng.integers(0, params.input_dim, shape).astype(np.float32)


def reference(node, inputs):
    p: EmbedParams = node.params
    indices = truncated_indices(inputs[0])
    problem = outside_table(p, indices)
    if problem:
        raise ShapeError(f"Embed '{node.name}': {problem}")
    bias = node.weights[1].astype(np.float64) if p.bias_term else None
    return [lookup(node.weights[0].astype(np.float64), indices, bias, lambda table, i: table[i])]


def onnx(node, inputs, outputs, b):
    indices = b.op("Cast", [inputs[0]], node.name, to=7)  # float -> int64 truncates, as static_cast<int>
    table = b.const(node.name, "weight", np.asarray(node.weights[0], np.float32))
    if not node.params.bias_term:
        return [b.op("Gather", [table, indices], node.name, output=outputs[0], axis=0)]
    rows = b.op("Gather", [table, indices], node.name, axis=0)
    bias = b.const(node.name, "bias", np.asarray(node.weights[1], np.float32))
    return [b.op("Add", [rows, bias], node.name, output=outputs[0])]


def pytorch(node, ctx):
    p: EmbedParams = node.params
    state = {"weight": np.asarray(node.weights[0], np.float32)}
    if p.bias_term:
        state["bias"] = np.asarray(node.weights[1], np.float32)
    return TorchLayer(f"Embed({p.input_dim}, {p.num_output}, {p.bias_term})", state=state,
                      helpers=("caffe2x.families.bvlc.embed_torch:Embed",))


def tensorflow(node, args, ctx):
    p: EmbedParams = node.params
    weights = [np.asarray(w, np.float32) for w in node.weights]
    return KerasLayer(f"Embed({p.input_dim}, {p.num_output}, {p.bias_term}, name={ctx.name(node)})({args[0]})",
                      weights={ctx.raw_name(node): weights}, custom=("caffe2x.families.bvlc.embed_keras:Embed",),
                      layouts=["caffe"])


register_layer("Embed", LayerDef(parse, infer, weights=weight_shapes, flops=flops,
                                 data_bottoms=(DataBottom(0, check_indices, draw_indices),)), reference,
               onnx=onnx, pytorch=pytorch, tensorflow=tensorflow)
