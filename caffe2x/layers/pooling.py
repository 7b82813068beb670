"""Pooling: MAX and AVE, ceil or floor rounding, global, rectangular."""

from __future__ import annotations

from dataclasses import dataclass

from .base import LAYERS, LayerDef, check, count, optional_field


@dataclass(frozen=True)
class PoolParams:
    method: str  # "MAX", "AVE" or "STOCHASTIC"
    kernel: tuple[int, int] | None  # None for global pooling: the input's H, W
    stride: tuple[int, int]
    pad: tuple[int, int]
    global_pooling: bool
    ceil_mode: bool

    def window(self, bottom) -> tuple[int, int]:
        return (bottom[2], bottom[3]) if self.global_pooling else self.kernel


def _hw(p, name: str, default: int) -> tuple[int, int]:
    h, w = optional_field(p, f"{name}_h"), optional_field(p, f"{name}_w")
    if h is not None or w is not None:
        check(h is not None and w is not None, f"{name}_h and {name}_w must be given together")
        return int(h), int(w)
    value = optional_field(p, name if name != "kernel" else "kernel_size")
    return (default, default) if value is None else (int(value), int(value))


def parse_pool(layer) -> PoolParams:
    p = layer.pooling_param
    method = type(p).PoolMethod.Name(p.pool)
    stride, pad = _hw(p, "stride", 1), _hw(p, "pad", 0)
    ceil_mode = type(p).RoundMode.Name(p.round_mode) == "CEIL"
    if p.HasField("ceil_mode"):  # the forks' spelling of round_mode
        ceil_mode = p.ceil_mode
    if p.global_pooling:
        check(pad == (0, 0) and stride == (1, 1), "global pooling needs pad 0 and stride 1")
        return PoolParams(method, None, stride, pad, True, ceil_mode)
    kernel = _hw(p, "kernel", 0)
    check(min(kernel) > 0, "kernel_size (or kernel_h and kernel_w) must be given and positive")
    check(min(stride) > 0, "stride must be positive")
    check(pad[0] < kernel[0] and pad[1] < kernel[1], f"pad {pad} must be smaller than kernel {kernel}")
    return PoolParams(method, kernel, stride, pad, False, ceil_mode)


def pooled_size(size: int, kernel: int, stride: int, pad: int, ceil_mode: bool) -> int:
    """Caffe's rule, including 'the last window must start inside the padded input'."""
    span = size + 2 * pad - kernel
    check(span >= 0, f"pooling window {kernel} is larger than the padded input {size + 2 * pad}")
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if pad and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def infer_pool(params: PoolParams, bottoms):
    bottom = bottoms[0]
    check(len(bottom) == 4, f"expects a 4-D N,C,H,W input, got shape {list(bottom)}")
    if params.global_pooling:
        return [(bottom[0], bottom[1], 1, 1)]
    out = [pooled_size(bottom[2 + a], params.kernel[a], params.stride[a], params.pad[a], params.ceil_mode)
           for a in (0, 1)]
    return [(bottom[0], bottom[1], *out)]


def pool_flops(params: PoolParams, bottoms, tops):
    return count(tops[0]) * count(params.window(bottoms[0]))


LAYERS.register("Pooling", LayerDef(parse_pool, infer_pool, flops=pool_flops))


# Caffe's rules that the reference and every target share: plain Python (no numpy),
# because a generated model.py gets a copy of what its classes use.

# pooling_layer.cpp, Forward_cpu MAX: a window starts at -FLT_MAX, so one lying wholly
# in the padding yields exactly that, and padding filled with it never wins.
LOWEST_FLOAT32 = -3.4028234663852886e38


def pool_tail_pad(size: int, out: int, kernel: int, stride: int, pad: int) -> int:
    """Cells the last window reaches past the input's end, the `pad` before it counted:
    the padding after the input that makes `out` windows (ceil rounding can make it
    more than `pad`, or less). Negative when the last window ends inside the input.

    pooling_layer.cpp, Forward_cpu: window `o` covers [o * stride - pad, + kernel).
    """
    return (out - 1) * stride + kernel - size - pad


def ave_pool_window_sizes(size: int, out: int, kernel: int, stride: int, pad: int) -> list[int]:
    """AVE pooling's divisor along one axis, per output position: the window clipped to
    the padded input, so padded cells count but a ceil-mode overhang past the padding
    does not.

    pooling_layer.cpp, Forward_cpu AVE: hend = min(hstart + kernel_h, height_ + pad_h_);
    pool_size = (hend - hstart) * (wend - wstart), taken before hstart is clipped to 0.
    """
    return [min(o * stride - pad + kernel, size + pad) - (o * stride - pad) for o in range(out)]
