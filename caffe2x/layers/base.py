"""The core stage of a layer type: typed parameters, Caffe's shape rule,
the weight blobs it expects and its FLOP count.

Handlers raise ShapeError with a plain message; the graph builder adds the
layer's name and type to it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ShapeError
from ..ir.graph import Shape
from ..registry import Registry

# Largest element count of a single blob (2**31 - 1, Caffe's own int limit):
# a prototxt declaring more is refused before anything is allocated.
MAX_BLOB_ELEMENTS = 2**31 - 1


def _no_weights(params: Any, bottoms: list[Shape]) -> list[Shape]:
    return []


def elementwise_flops(params: Any, bottoms: list[Shape], tops: list[Shape]) -> int:
    """One operation per output element: the default for cheap layers."""
    return sum(count(t) for t in tops)


def no_flops(params: Any, bottoms: list[Shape], tops: list[Shape]) -> int:
    return 0


@dataclass(frozen=True)
class BatchStatistics:
    """Which weight blobs of a BatchNorm-like layer hold the per-channel statistics of its
    input (LayerDef.statistics). Synthetic weights (caffe2x.weights: synth-weights and
    --random-weights) draw them in range and then measure them on a forward pass, so the
    layer normalizes as a trained one does; any layer type, a plugin's included, gets this
    by naming its blobs here. Indices are positions in the layer's weight blobs; an index
    past the blobs a layer has is ignored.

    mean, variance: the blobs holding the channel mean and variance (stored as Caffe's
        BatchNorm stores them: multiplied by the `factor` blob's first value, if any); None
        for a layer that keeps none (SegNet's BN normalizes with the input's own statistics)
    factor: BVLC BatchNorm's third blob, the moving-average scale factor (None: no such blob)
    scale, shift: a per-channel multiplier and offset of the same layer (a fork's BN), drawn
        near 1 and near 0
    """

    mean: int | None  # None: a layer with scale and shift only (SegNet's BN): drawn, nothing measured
    variance: int | None
    factor: int | None = None
    scale: int | None = None
    shift: int | None = None


@dataclass(frozen=True)
class LayerDef:
    """What caffe2x knows about a layer type before any target is chosen.

    parse:   LayerParameter -> typed params (a frozen dataclass)
    infer:   (params, bottom shapes) -> top shapes, by Caffe's rules
    weights: (params, bottom shapes) -> expected blob shapes, in Caffe's order
    flops:   (params, bottom shapes, top shapes) -> floating-point operations
    bottoms/tops: allowed counts, (min, max); max None means unbounded
    data_dependent: dims of every top whose size only the data decides (DetectionOutput's
        row count, dim 2): `infer` gives a placeholder there, a kernel or target may return
        any size, and verify compares such a blob row by row after checking the counts agree
    score_column: for such rows sorted by a score (YOLO's detection rows: column 2), that
        column; verify then lets rows whose reference scores agree within the tolerance come in
        either order (a fork's std::sort leaves equal scores in any order, and a score one ulp
        away on a target may swap two rows); None: the row order is compared as it is
    statistics: for a BatchNorm-like layer, which blobs are its input's channel mean and
        variance (BatchStatistics), so that synthetic weights measure them; or a function
        params -> BatchStatistics | None, for a type whose blobs depend on its parameters
        (a BN whose fork variant decides its blobs)
    check_bottoms: (params, bottom shapes, sources) -> None, a rule on where the bottoms
        come from, one BottomSource per bottom, None for a net input (SegNet's Upsample reads its mask from
        a MAX Pooling's second top); it raises ShapeError, which caffe2x names with the
        layer like the shape rule's
    fit_blobs: (params, the caffemodel's blob count) -> params taking that many blobs, or None;
        for a type whose forks store different blobs under one name when the prototxt does
        not say which fork (BN: PSPNet's 4, SegNet's 2); the shape rule must not depend on it
    fixed_batch: the first axis of its bottoms is not a batch that may vary (a recurrent
        layer's T, which Caffe fixes): a net holding one converts with its own first dims
        (no dynamic batch in ONNX or torch.export), see fixes_batch
    variants: named semantics the user chooses explicitly (--layer-variant TYPE=NAME) where two forks
        share a type name and its parameters, so that the prototxt cannot tell them apart
        (Proposal: "pva"): NAME -> a function (default params) -> that variant's params, which
        carry the choice to the reference and the emitters; the default is the type's own semantics
    equal_score_orders: for a row layer whose fork takes equal scores in the order its own sort
        leaves them (pva's partial quicksort), params -> the same params with equal scores in
        other orders (by anchor, as the targets' sorts do); verify's row-flip rule
        (caffe2x/flips.py) also accepts target rows the kernel gives in one of those orders,
        since which of several equal-score boxes comes first is the sort's, not the layer's
    data_bottoms: bottoms whose VALUES the layer needs in range when a net input holds them
        (DataBottom: ROIPooling's boxes, a Proposal's im_info): checked before `run` and `verify`
        run anything, drawn in range by random_inputs, and (rows) their first dimension kept
        dynamic on its own
    """

    parse: Callable[[Any], Any]
    infer: Callable[[Any, list[Shape]], list[Shape]]
    weights: Callable[[Any, list[Shape]], list[Shape]] = _no_weights
    flops: Callable[[Any, list[Shape], list[Shape]], int] = elementwise_flops
    bottoms: tuple[int, int | None] = (1, 1)
    tops: tuple[int, int | None] = (1, 1)
    data_dependent: tuple[int, ...] = ()
    score_column: int | None = None
    statistics: BatchStatistics | Callable[[Any], BatchStatistics | None] | None = None
    check_bottoms: Callable[[Any, list[Shape], list[BottomSource | None]], None] | None = None
    fit_blobs: Callable[[Any, int], Any] | None = None
    fixed_batch: bool = False
    equal_score_orders: Callable[[Any], tuple[Any, ...]] | None = None
    data_bottoms: tuple[DataBottom, ...] = ()
    variants: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class DataBottomContext:
    """What a DataBottom's check and draw know of the net: the layer's bottom shapes, the image
    (H, W) the net takes (the spatial size of the 4-D net input its first bottom is computed
    from; None when that bottom is itself a net input) and the layer's name."""

    bottom_shapes: list[Shape]
    image: tuple[int, int] | None
    layer: str


@dataclass(frozen=True)
class DataBottom:
    """A bottom whose values are data the layer reads as such (ROIPooling's (R, 5) boxes, a
    Proposal's im_info), not activations: when a net input holds it, caffe2x checks the values a
    user gives before running anything (`run`, `verify`) and draws valid ones for random inputs
    (the one mechanism for input values: random_inputs has no other rule).

    index: the bottom's position
    check: (params, array, DataBottomContext) -> None; raises InputValueError saying what is wrong;
        None where the layer reads any value (LSTM's cont, a Proposal's im_info: the shape rule
        has checked the shape, and the fork reads any number)
    draw: (params, shape, DataBottomContext, numpy Generator) -> float32 array of that shape
    rows: its first dimension counts rows the data decides (ROIs), not the batch: converted
        models keep it dynamic on its own (ONNX gives it a named dim of its own)
    """

    index: int
    check: Callable[[Any, Any, DataBottomContext], None] | None
    draw: Callable[[Any, Shape, DataBottomContext, Any], Any]
    rows: bool = False


@dataclass(frozen=True)
class BottomSource:
    """Where a bottom comes from (LayerDef.check_bottoms): the node that wrote it, which of
    its outputs it is, and the shapes of that node's own bottoms."""

    node: Any
    index: int
    input_shapes: list[Shape]


def shapes_agree(expected: Shape, actual: Shape, data_dependent: tuple[int, ...] = ()) -> bool:
    """Whether `actual` is `expected` but for the data-dependent dims (LayerDef.data_dependent)."""
    return len(expected) == len(actual) and all(
        e == a or axis in data_dependent for axis, (e, a) in enumerate(zip(expected, actual)))


LAYERS: Registry[LayerDef] = Registry("layer definitions")


def row_nodes(graph) -> list:
    """The nodes of an ir Graph whose tops hold data-dependent rows (LayerDef.data_dependent:
    Proposal, DetectionOutput, the YOLO outputs)."""
    return [node for node in graph.nodes if node.type in LAYERS and LAYERS.get(node.type).data_dependent]


def row_values(graph) -> list[str]:
    """The tops of every row node and their bottoms, net inputs left out: what verify's row
    flips (caffe2x/flips.py) read from a target, so a target that shows only its outputs
    (TFLite) shows these too when verified."""
    values = [value for node in row_nodes(graph) for value in [*node.inputs, *node.outputs]]
    return [value for value in dict.fromkeys(values) if value not in graph.inputs]


def fixes_batch(node_types) -> bool:
    """Whether a layer of these types fixes its bottoms' first axis (LayerDef.fixed_batch), so
    that a converted net keeps its own first dims instead of a dynamic batch."""
    return any(t in LAYERS and LAYERS.get(t).fixed_batch for t in node_types)


def count(shape: Shape) -> int:
    return math.prod(shape)


def check(condition: bool, message: str) -> None:
    if not condition:
        raise ShapeError(message)


def canonical_axis(axis: int, ndim: int) -> int:
    """Caffe's Blob::CanonicalAxisIndex: negative axes count from the end."""
    check(-ndim <= axis < ndim, f"axis {axis} is out of range for a {ndim}-D blob")
    return axis + ndim if axis < 0 else axis


def no_params(layer) -> None:
    return None


def same_shape(params: Any, bottoms: list[Shape]) -> list[Shape]:
    return [bottoms[0]]


def pair(values, name: str, default: int, h: int | None = None, w: int | None = None) -> tuple[int, int]:
    """Caffe's spatial parameter rule: explicit _h/_w, else 0, 1 or 2 repeated values."""
    if h is not None or w is not None:
        check(h is not None and w is not None, f"{name}_h and {name}_w must be given together")
        return int(h), int(w)
    values = [int(v) for v in values]
    if not values:
        return default, default
    if len(values) == 1:
        return values[0], values[0]
    check(len(values) == 2, f"{name} has {len(values)} values; only 2-D spatial layers are supported")
    return values[0], values[1]


def optional_field(message, name: str):
    return getattr(message, name) if message.HasField(name) else None


def fork_params(block: str, build: Callable[[Any], Any] | None = None) -> Callable[[Any], Any]:
    """A LayerDef.parse for a plugin layer whose parameters are a fork's block (`norm_param`).

    The block must be declared (caffe2x.register_param, or caffe2x.load_proto /
    --caffe-proto with the fork's schema) before the net is read. The parse function
    reads it as a typed ParamValue (defaults when the layer has no block) and returns
    `build(value)`, or the ParamValue itself without `build`:

        LayerDef(fork_params("norm_param", lambda p: NormParams(p.across_spatial, p.eps)), infer)
    """
    def parse(layer):
        from ..io.params import fork_param

        value = fork_param(layer, block)
        return value if build is None else build(value)

    parse.fork_block = block  # what `caffe2x layers` lists as the parameters honoured
    parse.fork_build = build
    return parse
