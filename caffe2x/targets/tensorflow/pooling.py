"""Pooling with Caffe's output size: Keras' own VALID or SAME pooling where its windows
are Caffe's, else CaffePooling2D (explicit pads, AVE divisor)."""

from __future__ import annotations

from ...layers.pooling import max_mask_windows, pool_tail_pad
from .base import KERAS_EMITTERS, NHWC, KerasLayer, pair


@KERAS_EMITTERS.register("Pooling")
def pooling(node, args, ctx):
    p = node.params
    if p.method not in ("MAX", "AVE"):
        raise ctx.unsupported(node, f"{p.method} pooling")
    if p.mask:
        in_hw = tuple(ctx.shape(node.inputs[0])[2:])
        kernel, stride, pads = max_mask_windows(p, in_hw)
        return KerasLayer(f"CaffeMaxPoolMask({tuple(kernel)}, {tuple(stride)}, {pads}, {in_hw}, "
                          f"name={ctx.name(node)})({args[0]})", custom=("CaffeMaxPoolMask",), layouts=[NHWC, NHWC])
    kind = "Max" if p.method == "MAX" else "Average"
    if p.global_pooling:
        return KerasLayer(f"layers.Global{kind}Pooling2D(keepdims=True, name={ctx.name(node)})({args[0]})",
                          layouts=[NHWC])
    if node.inputs[0] in ctx.varying:  # dynamic height and width: the sizes at run time
        return KerasLayer(f"CaffeDynamicPooling2D({p.method!r}, {p.kernel}, {p.stride}, {p.pad}, {p.ceil_mode}, "
                          f"name={ctx.name(node)})({args[0]})", custom=("CaffeDynamicPooling2D",), layouts=[NHWC])
    in_hw = ctx.shape(node.inputs[0])[2:]
    out_hw = ctx.shape(node.outputs[0])[2:]
    # Rows/columns the last window reaches past the input, before any padding.
    overhang = [pool_tail_pad(i, o, k, s, 0) for i, o, k, s in zip(in_hw, out_hw, p.kernel, p.stride)]
    padding = _builtin_padding(p, in_hw, out_hw, overhang)
    if padding:
        return KerasLayer(f"layers.{kind}Pooling2D({pair(p.kernel)}, {pair(p.stride)}, {padding!r}, "
                          f"name={ctx.name(node)})({args[0]})", layouts=[NHWC])
    pads = [(p.pad[a], max(0, pool_tail_pad(in_hw[a], out_hw[a], p.kernel[a], p.stride[a], p.pad[a])))
            for a in (0, 1)]
    return KerasLayer(f"CaffePooling2D({p.method!r}, {p.kernel}, {p.stride}, {pads}, {tuple(in_hw)}, "
                      f"{tuple(out_hw)}, name={ctx.name(node)})({args[0]})",
                      custom=("CaffePooling2D",), layouts=[NHWC])


def _builtin_padding(p, in_hw, out_hw, overhang) -> str | None:
    """'valid' or 'same' where Keras' own pooling has exactly Caffe's windows (and, for AVE,
    divisors), which saves the explicit pad's copy; None otherwise.

    VALID: no padding and every window inside the input. SAME pads total = overhang,
    total // 2 before: Caffe's windows when that is Caffe's pad and the output is
    ceil(in / stride). SAME leaves padded cells out of MAX and of AVE's divisor; Caffe
    counts its `pad` cells in the divisor, so AVE qualifies only without `pad`.
    """
    if p.pad == (0, 0) and all(o <= 0 for o in overhang):
        return "valid"
    same_windows = all(out == -(-size // s) and total >= 0 and pad == total // 2
                       for out, size, s, total, pad in zip(out_hw, in_hw, p.stride, overhang, p.pad))
    if same_windows and (p.method == "MAX" or p.pad == (0, 0)):
        return "same"
    return None
