"""Pooling with Caffe's exact windows, never a SAME/VALID or ceil_mode guess.

The output size is Caffe's; the ONNX op runs in floor mode with explicit,
possibly asymmetric, padding that yields exactly that size. AVE pooling whose
last window runs past the padded input (ceil rounding) is divided by the full
kernel size and corrected by a constant factor (kernel area / Caffe's divisor).
"""

from __future__ import annotations

import numpy as np

from ...layers.pooling import (
    LOWEST_FLOAT32,
    NO_MASK,
    PoolParams,
    ave_pool_window_sizes,
    mask_index,
    max_mask_windows,
    pool_tail_pad,
)
from .builder import OnnxInt
from .registry import ONNX_EMITTERS


@ONNX_EMITTERS.register("Pooling")
def pooling(node, inputs, out, b):
    p: PoolParams = node.params
    x = inputs[0]
    if p.mask:
        return _max_with_mask(node, x, out, b)
    if p.global_pooling:
        op = "GlobalMaxPool" if p.method == "MAX" else "GlobalAveragePool"
        return [b.op(op, [x], node.name, output=out[0])]
    if p.method not in ("MAX", "AVE"):
        raise b.unsupported(node, f"{p.method} pooling")
    if node.inputs[0] in b.varying:
        return [_pool_at_run_time(node, x, out[0], b)]
    in_hw = b.shape(node.inputs[0])[2:]
    out_hw = b.shape(node.outputs[0])[2:]
    axes = [(in_hw[a], out_hw[a], p.kernel[a], p.stride[a], p.pad[a]) for a in (0, 1)]
    tail = [max(0, pool_tail_pad(*axis)) for axis in axes]
    head = list(p.pad)
    if any(t >= k for t, k in zip(tail, p.kernel)):
        # A window that lies wholly in the padding (stride > kernel): ONNX
        # refuses such pads, so pad explicitly, as Caffe's empty window does.
        fill = LOWEST_FLOAT32 if p.method == "MAX" else 0.0
        pads = b.ints(node.name, "pads", [0, 0, head[0], head[1], 0, 0, tail[0], tail[1]])
        x = b.op("Pad", [x, pads, b.const(node.name, "fill", np.float32(fill))], node.name, mode="constant")
        head, tail = [0, 0], [0, 0]
    attrs = {"kernel_shape": list(p.kernel), "strides": list(p.stride), "pads": head + tail}
    if p.method == "MAX":
        return [b.op("MaxPool", [x], node.name, output=out[0], **attrs)]
    divisor = np.outer(*(np.array(ave_pool_window_sizes(*axis), np.float64) for axis in axes))
    area = p.kernel[0] * p.kernel[1]
    if np.all(divisor == area):
        return [b.op("AveragePool", [x], node.name, output=out[0], count_include_pad=1, **attrs)]
    pooled = b.op("AveragePool", [x], node.name, count_include_pad=1, **attrs)
    factor = b.const(node.name, "divisor_fix", (area / divisor)[None, None])
    return [b.op("Mul", [pooled, factor], node.name, output=out[0])]


def _max_with_mask(node, x, out, b):
    """MAX pooling and Caffe's argmax mask: the input padded with LOWEST_FLOAT32 (which never
    wins, as Caffe clips its windows to the input), MaxPool's Indices (flat over N*C*Hp*Wp of
    the padded input, the first of equal maxima as Caffe's strict `>`) turned into Caffe's
    h * W + w in the unpadded plane, and -1 where no cell beat LOWEST_FLOAT32."""
    p: PoolParams = node.params
    name = node.name
    h, w = b.shape(node.inputs[0])[2:]
    kernel, stride, pads = max_mask_windows(p, (h, w))
    if any(sum(axis) for axis in pads):
        flat_pads = b.ints(name, "pads", [0, 0, pads[0][0], pads[1][0], 0, 0, pads[0][1], pads[1][1]])
        x = b.op("Pad", [x, flat_pads, b.const(name, "fill", np.float32(LOWEST_FLOAT32))], name, mode="constant")
    pooled, flat = b.op("MaxPool", [x], name, outputs=[out[0], b.fresh(f"{name}/indices")],
                        kernel_shape=list(kernel), strides=list(stride))
    padded_w = w + sum(pads[1])
    in_plane = b.op("Mod", [flat, b.ints(name, "plane", [(h + sum(pads[0])) * padded_w])], name)
    row = b.op("Div", [in_plane, b.ints(name, "padded_w", [padded_w])], name)
    col = b.op("Mod", [in_plane, b.ints(name, "padded_w", [padded_w])], name)
    index = mask_index(OnnxInt(b, name, row), OnnxInt(b, name, col), pads, w).name
    index = b.op("Cast", [index], name, to=1)  # FLOAT
    found = b.op("Greater", [pooled, b.const(name, "lowest", np.float32(LOWEST_FLOAT32))], name)
    mask = b.op("Where", [found, index, b.const(name, "no_mask", np.float32(NO_MASK))], name, output=out[1])
    return [pooled, mask]


def _pool_at_run_time(node, x, out, b):
    """Pooling of a map whose height and width are dynamic: Caffe's output size
    (layers.pooling.pooled_size), its tail pad (pool_tail_pad) and, for AVE, its divisor
    (ave_pool_window_sizes: the window clipped to the padded input) computed from the
    input's shape at run time; then the same explicit pad and VALID pooling as above."""
    p: PoolParams = node.params
    name = node.name
    ints = lambda what, values: b.ints(name, what, list(values))  # noqa: E731
    size = b.op("Gather", [b.op("Shape", [x], name), ints("hw_axes", (2, 3))], name)
    span = b.op("Add", [size, ints("span", (2 * p.pad[a] - p.kernel[a] for a in (0, 1)))], name)
    if p.ceil_mode:
        span = b.op("Add", [span, ints("round_up", (s - 1 for s in p.stride))], name)
    last = b.op("Div", [span, ints("stride", p.stride)], name)  # the last window's index: out - 1
    if any(p.pad):  # the last window must start inside the padded input, or it is dropped
        start = b.op("Mul", [last, ints("stride", p.stride)], name)
        outside = b.op("GreaterOrEqual", [start, b.op("Add", [size, ints("pad", p.pad)], name)], name)
        outside = b.op("Mul", [b.op("Cast", [outside], name, to=7), ints("padded", (int(q > 0) for q in p.pad))], name)
        last = b.op("Sub", [last, outside], name)
    reach = b.op("Add", [b.op("Mul", [last, ints("stride", p.stride)], name),
                         ints("kernel_less_pad", (p.kernel[a] - p.pad[a] for a in (0, 1)))], name)
    tail = b.op("Max", [b.op("Sub", [reach, size], name), ints("zero", (0, 0))], name)
    fill = LOWEST_FLOAT32 if p.method == "MAX" else 0.0
    pads = b.op("Concat", [ints("head", (0, 0, *p.pad, 0, 0)), tail], name, axis=0)
    padded = b.op("Pad", [x, pads, b.const(name, "fill", np.float32(fill))], name, mode="constant")
    attrs = {"kernel_shape": list(p.kernel), "strides": list(p.stride)}
    if p.method == "MAX":
        return b.op("MaxPool", [padded], name, output=out, **attrs)
    # The divisor: the share of each window inside the input and its `pad` (ones), not the overhang (zeros).
    counted = b.op("Add", [b.op("Add", [size, ints("pad", p.pad)], name),
                           b.op("Min", [tail, ints("pad", p.pad)], name)], name)
    ones = b.op("ConstantOfShape", [b.op("Concat", [ints("one_one", (1, 1)), counted], name, axis=0)], name,
                value=_float_tensor(1.0))
    overhang = b.op("Max", [b.op("Sub", [tail, ints("pad", p.pad)], name), ints("zero", (0, 0))], name)
    mask_pads = b.op("Concat", [ints("mask_head", (0,) * 6), overhang], name, axis=0)
    mask = b.op("Pad", [ones, mask_pads, b.const(name, "zero_fill", np.float32(0.0))], name, mode="constant")
    share = b.op("AveragePool", [mask], name, **attrs)
    return b.op("Div", [b.op("AveragePool", [padded], name, **attrs), share], name, output=out)


def _float_tensor(value: float):
    from onnx import numpy_helper

    return numpy_helper.from_array(np.array([value], np.float32))
