"""Pooling: MAX and AVE, ceil or floor rounding, global, rectangular; MAX's optional second
top, the argmax mask that SegNet's Upsample reads."""

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
    # MAX with two tops: the second is the argmax mask (pooling_layer.cpp, use_top_mask).
    mask: bool = False

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
    mask = len(layer.top) > 1
    # pooling_layer.hpp: MaxTopBlobs() is 2 for MAX, else 1.
    check(not mask or method == "MAX", f"{method} pooling has one top; only MAX pooling has a second "
                                       "(its argmax mask)")
    stride, pad = _hw(p, "stride", 1), _hw(p, "pad", 0)
    ceil_mode = type(p).RoundMode.Name(p.round_mode) == "CEIL"
    if p.HasField("ceil_mode"):  # the forks' spelling of round_mode
        ceil_mode = p.ceil_mode
    if p.global_pooling:
        check(pad == (0, 0) and stride == (1, 1), "global pooling needs pad 0 and stride 1")
        return PoolParams(method, None, stride, pad, True, ceil_mode, mask)
    kernel = _hw(p, "kernel", 0)
    check(min(kernel) > 0, "kernel_size (or kernel_h and kernel_w) must be given and positive")
    check(min(stride) > 0, "stride must be positive")
    check(pad[0] < kernel[0] and pad[1] < kernel[1], f"pad {pad} must be smaller than kernel {kernel}")
    return PoolParams(method, kernel, stride, pad, False, ceil_mode, mask)


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
        top = (bottom[0], bottom[1], 1, 1)
    else:
        out = [pooled_size(bottom[2 + a], params.kernel[a], params.stride[a], params.pad[a], params.ceil_mode)
               for a in (0, 1)]
        top = (bottom[0], bottom[1], *out)
    return [top, top] if params.mask else [top]


def pool_flops(params: PoolParams, bottoms, tops):
    return count(tops[0]) * count(params.window(bottoms[0]))


LAYERS.register("Pooling", LayerDef(parse_pool, infer_pool, flops=pool_flops, tops=(1, 2)))


# Caffe's rules that the reference and every target share: plain Python (no numpy),
# because a generated model.py gets a copy of what its classes use.

# pooling_layer.cpp, Forward_cpu MAX: a window starts at -FLT_MAX, so one lying wholly
# in the padding yields exactly that, and padding filled with it never wins.
LOWEST_FLOAT32 = -3.4028234663852886e38
# pooling_layer.cpp: the mask of a window where no cell beat LOWEST_FLOAT32.
NO_MASK = -1.0


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


def max_mask_windows(params: PoolParams, in_hw) -> tuple[tuple[int, int], tuple[int, int], list[tuple[int, int]]]:
    """(kernel, stride, [(pad before, pad after)] per axis) of the explicitly padded input whose
    VALID windows are Caffe's MAX windows (global pooling: one window over the whole plane).
    Padded cells hold LOWEST_FLOAT32 and so never win: Caffe clips its windows to the input."""
    if params.global_pooling:
        return tuple(in_hw), (1, 1), [(0, 0), (0, 0)]
    out = [pooled_size(in_hw[a], params.kernel[a], params.stride[a], params.pad[a], params.ceil_mode) for a in (0, 1)]
    pads = [(params.pad[a], max(0, pool_tail_pad(in_hw[a], out[a], params.kernel[a], params.stride[a],
                                                  params.pad[a]))) for a in (0, 1)]
    return params.kernel, params.stride, pads


def mask_index(row, col, pads, width: int):
    """The argmax mask's value for the padded-input cell (row, col): Caffe's index h * W + w in
    the unpadded input plane (pooling_layer.cpp, Forward_cpu MAX: top_mask = index)."""
    return (row - pads[0][0]) * width + (col - pads[1][0])
