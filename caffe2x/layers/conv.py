"""Convolution and Deconvolution (2-D spatial, grouped, dilated)."""

from __future__ import annotations

from dataclasses import dataclass

from .base import LAYERS, LayerDef, check, count, optional_field, pair


@dataclass(frozen=True)
class ConvParams:
    num_output: int
    kernel: tuple[int, int]
    stride: tuple[int, int]
    pad: tuple[int, int]
    dilation: tuple[int, int]
    group: int
    bias_term: bool

    def extent(self, axis: int) -> int:
        """Kernel footprint along spatial axis 0 (H) or 1 (W), dilation included."""
        return self.dilation[axis] * (self.kernel[axis] - 1) + 1


def deeplab_hole(layer) -> tuple[int, int]:
    """DeepLab v1's atrous convolution (`convolution_param { hole: 2 }`, or hole_h/hole_w):
    its im2col spreads the kernel taps `hole` apart, exactly BVLC's later `dilation`."""
    from ..io.params import block_field

    hole = block_field(layer, "convolution_param", "hole")
    return (block_field(layer, "convolution_param", "hole_h") if hole == 1 else hole,
            block_field(layer, "convolution_param", "hole_w") if hole == 1 else hole)


def parse_conv(layer) -> ConvParams:
    p = layer.convolution_param
    check(p.axis == 1, f"convolution axis {p.axis} is not supported (only 1, channels)")
    check(p.num_output > 0, "num_output must be positive")
    check(p.group > 0, "group must be positive")
    kernel = pair(p.kernel_size, "kernel", 0, optional_field(p, "kernel_h"), optional_field(p, "kernel_w"))
    check(min(kernel) > 0, "kernel size must be given and positive")
    stride = pair(p.stride, "stride", 1, optional_field(p, "stride_h"), optional_field(p, "stride_w"))
    check(min(stride) > 0, "stride must be positive")
    pad = pair(p.pad, "pad", 0, optional_field(p, "pad_h"), optional_field(p, "pad_w"))
    dilation = pair(p.dilation, "dilation", 1)
    hole = deeplab_hole(layer)
    if hole != (1, 1):
        check(not p.dilation, "convolution_param gives both DeepLab's hole and dilation; give one")
        dilation = hole
    check(min(dilation) > 0, "dilation must be positive")
    return ConvParams(p.num_output, kernel, stride, pad, dilation, p.group, p.bias_term)


def _check_input(params: ConvParams, bottom) -> None:
    check(len(bottom) == 4, f"expects a 4-D N,C,H,W input, got shape {list(bottom)}")
    check(bottom[1] % params.group == 0,
          f"group {params.group} does not divide the {bottom[1]} input channels")
    check(params.num_output % params.group == 0,
          f"group {params.group} does not divide num_output {params.num_output}")


def infer_conv(params: ConvParams, bottoms):
    bottom = bottoms[0]
    _check_input(params, bottom)
    spatial = []
    for axis in (0, 1):
        size = bottom[2 + axis] + 2 * params.pad[axis] - params.extent(axis)
        check(size >= 0, f"kernel extent {params.extent(axis)} exceeds the padded input "
                         f"{bottom[2 + axis] + 2 * params.pad[axis]}")
        spatial.append(size // params.stride[axis] + 1)
    return [(bottom[0], params.num_output, *spatial)]


def infer_deconv(params: ConvParams, bottoms):
    bottom = bottoms[0]
    _check_input(params, bottom)
    spatial = []
    for axis in (0, 1):
        size = params.stride[axis] * (bottom[2 + axis] - 1) + params.extent(axis) - 2 * params.pad[axis]
        check(size > 0, f"output size {size} is not positive")
        spatial.append(size)
    return [(bottom[0], params.num_output, *spatial)]


def conv_weights(params: ConvParams, bottoms):
    shapes = [(params.num_output, bottoms[0][1] // params.group, *params.kernel)]
    return shapes + [(params.num_output,)] * params.bias_term


def deconv_weights(params: ConvParams, bottoms):
    shapes = [(bottoms[0][1], params.num_output // params.group, *params.kernel)]
    return shapes + [(params.num_output,)] * params.bias_term


def conv_flops(params: ConvParams, bottoms, tops):
    macs = count(tops[0]) * (bottoms[0][1] // params.group) * count(params.kernel)
    return 2 * macs + params.bias_term * count(tops[0])


def deconv_flops(params: ConvParams, bottoms, tops):
    macs = count(bottoms[0]) * (params.num_output // params.group) * count(params.kernel)
    return 2 * macs + params.bias_term * count(tops[0])


LAYERS.register("Convolution", LayerDef(parse_conv, infer_conv, conv_weights, conv_flops))
LAYERS.register("Deconvolution", LayerDef(parse_conv, infer_deconv, deconv_weights, deconv_flops))
