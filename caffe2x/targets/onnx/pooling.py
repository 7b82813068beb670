"""Pooling with Caffe's exact windows, never a SAME/VALID or ceil_mode guess.

The output size is Caffe's; the ONNX op runs in floor mode with explicit,
possibly asymmetric, padding that yields exactly that size. AVE pooling whose
last window runs past the padded input (ceil rounding) is divided by the full
kernel size and corrected by a constant factor (kernel area / Caffe's divisor).
"""

from __future__ import annotations

import numpy as np

from ...layers.pooling import LOWEST_FLOAT32, PoolParams, ave_pool_window_sizes, pool_tail_pad
from .registry import ONNX_EMITTERS


@ONNX_EMITTERS.register("Pooling")
def pooling(node, inputs, out, b):
    p: PoolParams = node.params
    x = inputs[0]
    if p.global_pooling:
        op = "GlobalMaxPool" if p.method == "MAX" else "GlobalAveragePool"
        return [b.op(op, [x], node.name, output=out[0])]
    if p.method not in ("MAX", "AVE"):
        raise b.unsupported(node, f"{p.method} pooling")
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
