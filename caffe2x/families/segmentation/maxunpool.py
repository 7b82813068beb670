"""Max-unpooling by a MAX Pooling's argmax mask, shared by SegNet's Upsample and DeconvNet's
Unpooling (both forks: top[mask[i]] = bottom[i] per plane, in row-major order of i, on a zero
top, so the later of two values naming one position wins).

Here: the mask bottom's rule (a MAX Pooling's second top, whose input plane fits in the top's),
the reference, and the emitters of every target (maxunpool_onnx.py, maxunpool_torch.py,
maxunpool_keras.py), each exact: the value that a later one overwrites never lands.
"""

from __future__ import annotations

import numpy as np

from ...extend import KerasLayer, ShapeError, TorchLayer, check


def check_mask_source(sources, top_hw) -> None:
    """The mask (bottom 2) must be a MAX Pooling's second top, whose input plane fits in the
    top's (else the forks write past the plane: SegNet aborts, DeconvNet's writes out of bounds)."""
    source = sources[1]
    if source is None or source.node.type == "Input":
        what = "a net input"
    else:
        what = f"top {source.index + 1} of layer '{source.node.name}' ({_describe(source.node)})"
    pooling = source is not None and source.node.type == "Pooling" and source.index == 1
    check(pooling and source.node.params.method == "MAX",
          f"its mask (bottom 2) must be the second top of a MAX Pooling (the argmax mask); it is {what}")
    pooled_from = source.input_shapes[0][2:]
    check(pooled_from[0] * pooled_from[1] <= top_hw[0] * top_hw[1],
          f"the mask indexes the {pooled_from[0]} x {pooled_from[1]} input of pooling '{source.node.name}', "
          f"more cells than the {top_hw[0]} x {top_hw[1]} top (the fork writes past it): make the top "
          f"{pooled_from[0]} x {pooled_from[1]}")


def _describe(node) -> str:
    method = getattr(node.params, "method", None)
    return f"{method} {node.type}" if node.type == "Pooling" and method else node.type


def check_mask_shape(data, mask) -> None:
    check(len(mask) == 4 and tuple(mask) == tuple(data),
          f"the mask (bottom 2) must have the data's shape {list(data)}, got {list(mask)}")


def unpool(data: np.ndarray, mask: np.ndarray, out_hw, layer: str) -> np.ndarray:
    """top[mask[i]] = data[i] per plane, the later i winning a shared position: each top
    position takes the value of the largest i that names it."""
    n, c, h, w = data.shape
    plane = out_hw[0] * out_hw[1]
    index = mask.reshape(n * c, h * w).astype(np.int64)  # static_cast<int> of the float mask
    if np.any(index >= plane):
        raise ShapeError(f"layer '{layer}': a mask index ({int(index.max())}) is past the {out_hw[0]} x "
                         f"{out_hw[1]} top (SegNet's fork aborts: 'upsample top index out of range')")
    rows, cols = np.nonzero(index >= 0)
    winner = np.full((n * c, plane), -1, np.int64)
    np.maximum.at(winner, (rows, index[rows, cols]), cols)
    values = np.take_along_axis(data.reshape(n * c, h * w), np.maximum(winner, 0), axis=1)
    return np.where(winner >= 0, values, 0.0).reshape(n, c, *out_hw)


def mask_pooling(graph, node):
    """The MAX Pooling node whose mask the layer reads (bottom 2)."""
    return next(n for n in graph.nodes if node.inputs[1] in n.outputs)


def window_reach(pooling) -> tuple[int, int]:
    """How many outputs apart (per axis) two of the pooling's windows may still overlap, and so
    share their argmax: ceil(kernel / stride) - 1; 0 and 0 when no two windows overlap."""
    p = pooling.params
    if p.global_pooling:
        return 0, 0
    return tuple(max(0, -(-k // s) - 1) for k, s in zip(p.kernel, p.stride))


def onnx(node, inputs, outputs, b, out_hw):
    from .maxunpool_onnx import emit_unpool

    return emit_unpool(node, inputs, outputs, b, out_hw, window_reach(mask_pooling(b.graph, node)))


def pytorch(node, ctx):
    out_hw = tuple(ctx.shape(node.outputs[0])[2:])
    return TorchLayer(f"Unpool({out_hw})", helpers=("caffe2x.families.segmentation.maxunpool_torch:Unpool",))


def tensorflow(node, args, ctx):
    out_hw = tuple(ctx.shape(node.outputs[0])[2:])
    return KerasLayer(f"Unpool({out_hw}, name={ctx.name(node)})([{args[0]}, {args[1]}])",
                      custom=("caffe2x.families.segmentation.maxunpool_keras:Unpool",), layouts=["nhwc"])
