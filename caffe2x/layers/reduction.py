"""Softmax, ArgMax and Reduction: layers that work along an axis."""

from __future__ import annotations

from dataclasses import dataclass

from .base import LAYERS, LayerDef, canonical_axis, check, count


@dataclass(frozen=True)
class SoftmaxParams:
    axis: int


@dataclass(frozen=True)
class ArgMaxParams:
    top_k: int
    out_max_val: bool
    axis: int | None  # None: over everything but the first axis


@dataclass(frozen=True)
class ReductionParams:
    operation: str  # "SUM", "ASUM", "SUMSQ" or "MEAN"
    axis: int
    coeff: float


def infer_softmax(params: SoftmaxParams, bottoms):
    canonical_axis(params.axis, len(bottoms[0]))
    return [bottoms[0]]


def parse_argmax(layer) -> ArgMaxParams:
    p = layer.argmax_param
    check(p.top_k >= 1, "top_k must be at least 1")
    return ArgMaxParams(p.top_k, p.out_max_val, p.axis if p.HasField("axis") else None)


def infer_argmax(params: ArgMaxParams, bottoms):
    bottom = bottoms[0]
    if params.axis is not None:
        axis = canonical_axis(params.axis, len(bottom))
        check(params.top_k <= bottom[axis], f"top_k {params.top_k} exceeds axis size {bottom[axis]}")
        shape = list(bottom)
        shape[axis] = params.top_k
        return [tuple(shape)]
    check(params.top_k <= count(bottom[1:]), f"top_k {params.top_k} exceeds {count(bottom[1:])} values")
    # Caffe: at least 3 axes, (N, 1 or 2, top_k, 1, ...)
    shape = [1] * max(3, len(bottom))
    shape[0], shape[2] = bottom[0], params.top_k
    if params.out_max_val:
        shape[1] = 2
    return [tuple(shape)]


def argmax_flops(params: ArgMaxParams, bottoms, tops):
    return count(bottoms[0])


def parse_reduction(layer) -> ReductionParams:
    p = layer.reduction_param
    return ReductionParams(type(p).ReductionOp.Name(p.operation), p.axis, p.coeff)


def reduction_first_axis(axis: int, rank: int) -> int:
    """Reduction reduces every axis from this one on (reduction_layer.cpp, Reshape:
    axis_ = bottom[0]->CanonicalAxisIndex(axis)); a scalar input has none."""
    return canonical_axis(axis, rank) if rank else 0


def infer_reduction(params: ReductionParams, bottoms):
    bottom = bottoms[0]
    axis = reduction_first_axis(params.axis, len(bottom))
    return [tuple(bottom[:axis])]


def reduction_flops(params: ReductionParams, bottoms, tops):
    return 2 * count(bottoms[0])


def softmax_flops(params: SoftmaxParams, bottoms, tops):
    return 4 * count(tops[0])


LAYERS.register("Softmax", LayerDef(lambda layer: SoftmaxParams(layer.softmax_param.axis),
                                    infer_softmax, flops=softmax_flops))
LAYERS.register("ArgMax", LayerDef(parse_argmax, infer_argmax, flops=argmax_flops))
LAYERS.register("Reduction", LayerDef(parse_reduction, infer_reduction, flops=reduction_flops))


def apply_reduction(operation: str, x, coeff: float, total, average):
    """Caffe Reduction of `x` for any array type; total(t) and average(t) sum and
    average over the reduced axes (every axis from `axis` on).

    reduction_layer.cpp, Forward_cpu: per outer index, SUM sums, ASUM sums |x|,
    SUMSQ sums x^2, MEAN averages (its coeff_ divided by the count), times coeff.
    """
    if operation == "ASUM":
        x = abs(x)
    elif operation == "SUMSQ":
        x = x * x
    return (average(x) if operation == "MEAN" else total(x)) * coeff
