"""Pooling with Caffe's output size: built-in VALID pooling where the windows
tile the input exactly, else CaffePooling2D (explicit pads, AVE divisor)."""

from __future__ import annotations

from .base import KERAS_EMITTERS, NHWC, KerasLayer, pair


@KERAS_EMITTERS.register("Pooling")
def pooling(node, args, ctx):
    p = node.params
    if p.method not in ("MAX", "AVE"):
        raise ctx.unsupported(node, f"{p.method} pooling")
    kind = "Max" if p.method == "MAX" else "Average"
    if p.global_pooling:
        return KerasLayer(f"layers.Global{kind}Pooling2D(keepdims=True, name={ctx.name(node)})({args[0]})",
                          layouts=[NHWC])
    in_hw = ctx.shape(node.inputs[0])[2:]
    out_hw = ctx.shape(node.outputs[0])[2:]
    tails = [(o - 1) * s + k - i - pad for o, s, k, i, pad in zip(out_hw, p.stride, p.kernel, in_hw, p.pad)]
    if p.pad == (0, 0) and tails == [0, 0]:
        return KerasLayer(f"layers.{kind}Pooling2D({pair(p.kernel)}, {pair(p.stride)}, "
                          f"name={ctx.name(node)})({args[0]})", layouts=[NHWC])
    pads = [(p.pad[a], max(0, tails[a])) for a in (0, 1)]
    return KerasLayer(f"CaffePooling2D({p.method!r}, {p.kernel}, {p.stride}, {pads}, {tuple(in_hw)}, "
                      f"{tuple(out_hw)}, name={ctx.name(node)})({args[0]})",
                      custom=("CaffePooling2D",), layouts=[NHWC])
