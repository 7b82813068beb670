"""Unpooling (DeconvNet's fork, HyeonwooNoh/caffe d9e8494a2832d67b25dee37194c7bcb9d52d0e42,
src/caffe/layers/unpooling_layer.cpp): the layer DeconvNet's public nets use, in their V1 form
`layers { type: UNPOOLING bottom: "fc6-deconv" bottom: "pool5_mask" unpooling_param { unpool: MAX
kernel_size: 2 stride: 2 unpool_size: 14 } }`; here `layer { type: "Unpooling" ... }`.

The top is N x C x unpool_size x unpool_size (or unpool_h x unpool_w, one of the two required),
each plane filled by the fork's loop over the input (ph, pw) in row-major order:
- MAX with a second bottom, the argmax mask of a MAX Pooling: top[mask[i]] = bottom[i] on a zero
  top, the later i winning (maxunpool.py, shared with SegNet's Upsample);
- MAX with one bottom: each value to the first cell of its window,
  top[min(ph * stride_h, H' - 1)][min(pw * stride_w, W' - 1)], the later winning where the clamp
  makes two meet;
- AVE: value / pool_size added to every cell of its window, the window [ph * stride_h,
  + kernel_h) cut at the top's size before pool_size is taken; TILE: the value added to every
  cell of its window. The fork adds into the top without clearing it (no caffe_set in these
  two cases), so in a fork net every forward pass after the first adds the previous output
  again; the first pass, on a fresh (zeroed) top, is what is computed here.
The fork's CHECKs are ShapeErrors: kernel_size or kernel_h and kernel_w (one of them, positive),
pad or pad_h and pad_w, stride or stride_h and stride_w, unpool_size or unpool_h and unpool_w, and
pad 0 ("currently, only zero padding is allowed"); a mask bottom only with MAX (its
MaxBottomBlobs). Refused too: a mask of another shape than the data (the fork reads past it) or
that is not a MAX Pooling's second top.

The fork's own LayerParameter declares `optional UnpoolingParameter unpooling_param = 44`
(segmentation.proto declares it there, with the fork's message).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...api import fork_param, register_layer
from ...extend import KerasLayer, LayerDef, TorchLayer, check
from . import maxunpool


@dataclass(frozen=True)
class UnpoolingParams:
    method: str  # "MAX", "AVE" or "TILE"
    masked: bool  # a second bottom, the argmax mask (MAX only)
    kernel: tuple[int, int]
    stride: tuple[int, int]
    size: tuple[int, int]


def _pair(value, name: str, default: int | None) -> tuple[int, int]:
    """unpooling_layer.cpp, LayerSetUp: `name` or `name`_h and `name`_w, not both."""
    single = name if name != "kernel" else "kernel_size"
    has_hw = value.has(f"{name}_h") and value.has(f"{name}_w")
    check(not (value.has(single) and (value.has(f"{name}_h") or value.has(f"{name}_w"))) and
          (value.has(f"{name}_h") == value.has(f"{name}_w")),
          f"give {single}, or {name}_h and {name}_w (not both)")
    if has_hw:
        return int(getattr(value, f"{name}_h")), int(getattr(value, f"{name}_w"))
    check(default is not None or value.has(single), f"unpooling_param needs {single} (or {name}_h and {name}_w)")
    number = int(getattr(value, single)) if value.has(single) else default
    return number, number


def parse(layer) -> UnpoolingParams:
    value = fork_param(layer, "unpooling_param")
    method = value.unpool
    masked = len(layer.bottom) > 1
    check(not masked or method == "MAX", f"{method} unpooling takes one bottom (a mask is MAX's)")
    kernel = _pair(value, "kernel", None)
    check(min(kernel) > 0, f"the kernel must be positive, got {kernel[0]} x {kernel[1]}")
    check(_pair(value, "pad", 0) == (0, 0), "the fork's Unpooling only allows pad 0")
    stride = _pair(value, "stride", 1)
    return UnpoolingParams(method, masked, kernel, stride, _size(value))


def _size(value) -> tuple[int, int]:
    """unpool_size, or unpool_h and unpool_w: one of the two is required (the fork's CHECK)."""
    pair = value.has("unpool_h") and value.has("unpool_w")
    check(value.has("unpool_size") != pair and value.has("unpool_h") == value.has("unpool_w"),
          "unpooling_param needs unpool_size, or unpool_h and unpool_w (one of the two)")
    size = (int(value.unpool_h), int(value.unpool_w)) if pair else (int(value.unpool_size),) * 2
    check(min(size) > 0, f"the unpooled size must be positive, got {size[0]} x {size[1]}")
    return size


def infer(params: UnpoolingParams, bottoms):
    data = bottoms[0]
    check(len(data) == 4, f"Unpooling needs a 4-D N,C,H,W blob, got {list(data)}")
    if params.masked:
        maxunpool.check_mask_shape(data, bottoms[1])
    return [(data[0], data[1], *params.size)]


def check_mask(params: UnpoolingParams, bottoms, sources) -> None:
    if params.masked:
        maxunpool.check_mask_source(sources, params.size)


def first_cell_sources(in_hw, stride, size) -> list[int]:
    """MAX without a mask: for each top cell of a plane, the input position written there last
    (the fork's row-major loop), or H * W (a zero) where none is. Plain Python: the runtime
    classes copied into model.py use it."""
    sources = [in_hw[0] * in_hw[1]] * (size[0] * size[1])
    for ph in range(in_hw[0]):
        for pw in range(in_hw[1]):
            row = max(0, min(ph * stride[0], size[0] - 1))
            col = max(0, min(pw * stride[1], size[1] - 1))
            sources[row * size[1] + col] = ph * in_hw[1] + pw
    return sources


def window_sources(in_hw, kernel, stride, size, average: bool) -> tuple[list[list[int]], list[list[float]]]:
    """AVE and TILE: for each top cell of a plane, the input positions adding into it, in the
    fork's loop order, as `reach` rows (row r: the r-th contributor of every cell, H * W, a
    zero, where a cell has fewer), with their divisors (AVE: the window's size, cut at the top;
    TILE: 1). Plain Python: the runtime classes copied into model.py use it."""
    cells = size[0] * size[1]
    found: list[list[tuple[int, float]]] = [[] for _ in range(cells)]
    for ph in range(in_hw[0]):
        for pw in range(in_hw[1]):
            top, left = ph * stride[0], pw * stride[1]
            bottom, right = min(top + kernel[0], size[0]), min(left + kernel[1], size[1])
            divisor = float((bottom - top) * (right - left)) if average else 1.0
            for row in range(top, bottom):
                for col in range(left, right):
                    found[row * size[1] + col].append((ph * in_hw[1] + pw, divisor))
    reach = max(1, max(len(f) for f in found))
    zero = in_hw[0] * in_hw[1]
    sources = [[f[r][0] if r < len(f) else zero for f in found] for r in range(reach)]
    divisors = [[f[r][1] if r < len(f) else 1.0 for f in found] for r in range(reach)]
    return sources, divisors


def gather_planes(data: np.ndarray, sources: np.ndarray, size) -> np.ndarray:
    n, c, h, w = data.shape
    planes = np.concatenate([data.reshape(n, c, h * w), np.zeros((n, c, 1), data.dtype)], axis=2)
    return planes[:, :, sources].reshape(n, c, *size)


def reference(node, inputs):
    p: UnpoolingParams = node.params
    data = inputs[0].astype(np.float64)
    if p.masked:
        return [maxunpool.unpool(data, inputs[1], p.size, node.name)]
    if p.method == "MAX":
        return [gather_planes(data, np.array(first_cell_sources(data.shape[2:], p.stride, p.size)), p.size)]
    sources, divisors = window_sources(data.shape[2:], p.kernel, p.stride, p.size, p.method == "AVE")
    top = np.zeros(data.shape[:2] + tuple(p.size))
    for row, divisor in zip(sources, divisors):  # the fork's order of additions
        top += gather_planes(data, np.array(row), p.size) / np.array(divisor).reshape(p.size)
    return [top]


def onnx(node, inputs, outputs, b):
    p: UnpoolingParams = node.params
    if p.masked:
        return maxunpool.onnx(node, inputs, outputs, b, p.size)
    _, c, h, w = b.shape(node.inputs[0])
    flat = b.op("Reshape", [inputs[0], b.ints(node.name, "flat", [0, c, h * w])], node.name)
    padded = b.op("Pad", [flat, b.ints(node.name, "pads", [0, 0, 0, 0, 0, 1])], node.name)
    if p.method == "MAX":
        sources = b.ints(node.name, "sources", first_cell_sources((h, w), p.stride, p.size))
        top = b.op("Gather", [padded, sources], node.name, axis=2)
    else:
        top = None
        for row, divisor in zip(*window_sources((h, w), p.kernel, p.stride, p.size, p.method == "AVE")):
            part = b.op("Div", [b.op("Gather", [padded, b.ints(node.name, "sources", row)], node.name, axis=2),
                                b.const(node.name, "divisor", divisor)], node.name)
            top = part if top is None else b.op("Add", [top, part], node.name)
    return [b.op("Reshape", [top, b.ints(node.name, "shape", [0, c, *p.size])], node.name, output=outputs[0])]


def pytorch(node, ctx):
    p: UnpoolingParams = node.params
    if p.masked:
        return maxunpool.pytorch(node, ctx)
    in_hw = tuple(ctx.shape(node.inputs[0])[2:])
    if p.method != "MAX":
        return TorchLayer(f"WindowUnpool({in_hw}, {p.kernel}, {p.stride}, {p.size}, {p.method == 'AVE'})",
                          helpers=("caffe2x.families.segmentation.unpooling_torch:WindowUnpool",))
    return TorchLayer(f"FirstCellUnpool({in_hw}, {p.stride}, {p.size})",
                      helpers=("caffe2x.families.segmentation.unpooling_torch:FirstCellUnpool",))


def tensorflow(node, args, ctx):
    p: UnpoolingParams = node.params
    if p.masked:
        return maxunpool.tensorflow(node, args, ctx)
    in_hw = tuple(ctx.shape(node.inputs[0])[2:])
    if p.method != "MAX":
        return KerasLayer(f"WindowUnpool({in_hw}, {p.kernel}, {p.stride}, {p.size}, {p.method == 'AVE'}, "
                          f"name={ctx.name(node)})({args[0]})",
                          custom=("caffe2x.families.segmentation.unpooling_keras:WindowUnpool",), layouts=["nhwc"])
    return KerasLayer(f"FirstCellUnpool({in_hw}, {p.stride}, {p.size}, name={ctx.name(node)})({args[0]})",
                      custom=("caffe2x.families.segmentation.unpooling_keras:FirstCellUnpool",), layouts=["nhwc"])


register_layer("Unpooling", LayerDef(parse, infer, bottoms=(1, 2), check_bottoms=check_mask), reference,
               onnx=onnx, pytorch=pytorch, tensorflow=tensorflow)
