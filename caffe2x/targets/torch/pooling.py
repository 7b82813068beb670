"""Pooling: nn.MaxPool2d / nn.AvgPool2d share Caffe's rules exactly (ceil rounding
with the last-window rule, AVE divisor clipped to the padded input); CaffePool
covers the pads PyTorch refuses (over half the kernel)."""

from __future__ import annotations

from ...layers.pooling import max_mask_windows
from .base import TORCH_EMITTERS, TorchLayer, hw, kwargs


@TORCH_EMITTERS.register("Pooling")
def pooling(node, ctx):
    p = node.params
    if p.method not in ("MAX", "AVE"):
        raise ctx.unsupported(node, f"{p.method} pooling")
    if p.mask:
        in_hw = tuple(ctx.shape(node.inputs[0])[2:])
        kernel, stride, pads = max_mask_windows(p, in_hw)
        return TorchLayer(f"CaffeMaxPoolMask({tuple(kernel)}, {tuple(stride)}, {pads}, {in_hw[1]})",
                          helpers=("CaffeMaxPoolMask",))
    if p.global_pooling:
        return TorchLayer("nn.AdaptiveMaxPool2d(1)" if p.method == "MAX" else "nn.AdaptiveAvgPool2d(1)")
    if 2 * p.pad[0] <= p.kernel[0] and 2 * p.pad[1] <= p.kernel[1]:
        cls = "MaxPool2d" if p.method == "MAX" else "AvgPool2d"
        options = kwargs(padding=hw(p.pad) if p.pad != (0, 0) else None,
                         ceil_mode="True" if p.ceil_mode else None)
        return TorchLayer(f"nn.{cls}({hw(p.kernel)}, {hw(p.stride)}{', ' + options if options else ''})")
    in_hw = tuple(ctx.shape(node.inputs[0])[2:])
    out_hw = tuple(ctx.shape(node.outputs[0])[2:])
    return TorchLayer(f"CaffePool({p.method!r}, {p.kernel}, {p.stride}, {p.pad}, {in_hw}, {out_hw})",
                      helpers=("CaffePool",))
