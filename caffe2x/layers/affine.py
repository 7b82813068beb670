"""InnerProduct, Scale and Bias."""

from __future__ import annotations

from dataclasses import dataclass

from .base import LAYERS, LayerDef, canonical_axis, check, count


@dataclass(frozen=True)
class InnerProductParams:
    num_output: int
    bias_term: bool
    axis: int
    transpose: bool


@dataclass(frozen=True)
class ScaleParams:
    """Scale and Bias: the operand spans bottom axes [axis, axis + num_axes).

    With two bottoms the second bottom is the operand (num_axes is ignored);
    `bias_term` only exists for Scale.
    """

    axis: int
    num_axes: int
    bias_term: bool
    two_bottoms: bool


def parse_inner_product(layer) -> InnerProductParams:
    p = layer.inner_product_param
    check(p.num_output > 0, "num_output must be positive")
    return InnerProductParams(p.num_output, p.bias_term, p.axis, p.transpose)


def infer_inner_product(params: InnerProductParams, bottoms):
    bottom = bottoms[0]
    axis = canonical_axis(params.axis, len(bottom))
    return [(*bottom[:axis], params.num_output)]


def inner_product_weights(params: InnerProductParams, bottoms):
    bottom = bottoms[0]
    k = count(bottom[canonical_axis(params.axis, len(bottom)):])
    weight = (k, params.num_output) if params.transpose else (params.num_output, k)
    return [weight] + [(params.num_output,)] * params.bias_term


def inner_product_flops(params: InnerProductParams, bottoms, tops):
    bottom = bottoms[0]
    axis = canonical_axis(params.axis, len(bottom))
    macs = count(bottom[:axis]) * count(bottom[axis:]) * params.num_output
    return 2 * macs + params.bias_term * count(tops[0])


def parse_scale(layer) -> ScaleParams:
    p = layer.scale_param
    check(p.num_axes >= -1, f"num_axes {p.num_axes} must be -1 or more")
    return ScaleParams(p.axis, p.num_axes, p.bias_term, len(layer.bottom) == 2)


def parse_bias(layer) -> ScaleParams:
    p = layer.bias_param
    check(p.num_axes >= -1, f"num_axes {p.num_axes} must be -1 or more")
    return ScaleParams(p.axis, p.num_axes, False, len(layer.bottom) == 2)


def operand_span(params: ScaleParams, bottoms) -> tuple[int, tuple[int, ...]]:
    """Caffe's rule for where the scale/bias operand sits: (first axis, operand shape)."""
    bottom = bottoms[0]
    if params.two_bottoms:
        operand = tuple(bottoms[1])
        # An empty operand (scalar) may sit at axis == ndim.
        axis = params.axis + len(bottom) if params.axis < 0 else params.axis
        check(0 <= axis <= len(bottom), f"axis {params.axis} is out of range for {list(bottom)}")
        check(tuple(bottom[axis: axis + len(operand)]) == operand,
              f"second bottom {list(operand)} does not match {list(bottom)} at axis {params.axis}")
        return axis, operand
    axis = params.axis + len(bottom) if params.axis < 0 else params.axis
    check(0 <= axis <= len(bottom), f"axis {params.axis} is out of range for {list(bottom)}")
    end = len(bottom) if params.num_axes == -1 else axis + params.num_axes
    check(end <= len(bottom), f"axis {params.axis} + num_axes {params.num_axes} exceed {list(bottom)}")
    return axis, tuple(bottom[axis:end])


def infer_scale(params: ScaleParams, bottoms):
    operand_span(params, bottoms)
    return [bottoms[0]]


def scale_weights(params: ScaleParams, bottoms):
    _, operand = operand_span(params, bottoms)
    weights = [] if params.two_bottoms else [operand]
    return weights + [operand] * params.bias_term


def bias_weights(params: ScaleParams, bottoms):
    _, operand = operand_span(params, bottoms)
    return [] if params.two_bottoms else [operand]


LAYERS.register("InnerProduct", LayerDef(parse_inner_product, infer_inner_product,
                                         inner_product_weights, inner_product_flops))
LAYERS.register("Scale", LayerDef(parse_scale, infer_scale, scale_weights, bottoms=(1, 2)))
LAYERS.register("Bias", LayerDef(parse_bias, infer_scale, bias_weights, bottoms=(1, 2)))
