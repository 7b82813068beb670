"""Pooling with Caffe's exact windows, never a SAME/VALID or ceil_mode guess.

The output size is Caffe's; the ONNX op runs in floor mode with explicit,
possibly asymmetric, padding that yields exactly that size. AVE pooling whose
last window runs past the padded input (ceil rounding) is divided by the full
kernel size and corrected by a constant factor (kernel area / Caffe's divisor).
"""

from __future__ import annotations

import numpy as np

from ...layers.pooling import PoolParams
from .registry import ONNX_EMITTERS

_LOWEST = float(-np.finfo(np.float32).max)


def _tail_pads(p: PoolParams, in_hw, out_hw) -> list[int]:
    return [(out_hw[a] - 1) * p.stride[a] + p.kernel[a] - in_hw[a] - p.pad[a] for a in (0, 1)]


def _divisor(size: int, out: int, kernel: int, stride: int, pad: int) -> np.ndarray:
    start = np.arange(out) * stride - pad
    return (np.minimum(start + kernel, size + pad) - start).astype(np.float64)


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
    tail = [max(0, t) for t in _tail_pads(p, in_hw, out_hw)]
    head = list(p.pad)
    if any(t >= k for t, k in zip(tail, p.kernel)):
        # A window that lies wholly in the padding (stride > kernel): ONNX
        # refuses such pads, so pad explicitly, as Caffe's empty window does.
        fill = _LOWEST if p.method == "MAX" else 0.0
        pads = b.ints(node.name, "pads", [0, 0, head[0], head[1], 0, 0, tail[0], tail[1]])
        x = b.op("Pad", [x, pads, b.const(node.name, "fill", np.float32(fill))], node.name, mode="constant")
        head, tail = [0, 0], [0, 0]
    attrs = {"kernel_shape": list(p.kernel), "strides": list(p.stride), "pads": head + tail}
    if p.method == "MAX":
        return [b.op("MaxPool", [x], node.name, output=out[0], **attrs)]
    divisor = np.outer(*(_divisor(in_hw[a], out_hw[a], p.kernel[a], p.stride[a], p.pad[a]) for a in (0, 1)))
    area = p.kernel[0] * p.kernel[1]
    if np.all(divisor == area):
        return [b.op("AveragePool", [x], node.name, output=out[0], count_include_pad=1, **attrs)]
    pooled = b.op("AveragePool", [x], node.name, count_include_pad=1, **attrs)
    factor = b.const(node.name, "divisor_fix", (area / divisor)[None, None])
    return [b.op("Mul", [pooled, factor], node.name, output=out[0])]
