"""Which layers a target keeps correct when height and width are dynamic, and the one check
every target runs before it converts a graph with open axes (graph.dynamic).

A layer is checked only where a blob it reads varies with the input size (found by Caffe's
own shape rules, caffe2x.passes.dynamic): an InnerProduct after a global pooling is fine. A
type is kept only where each target's emitter derives every size at run time; any other
layer is refused with its name and the reason, before any work.
"""

from __future__ import annotations

from ..errors import DynamicShapeError
from ..ir.graph import Graph, Node
from ..passes.dynamic import dynamic_inputs, other_sizes, varying_values

# Emitted by every target without reading a spatial size (elementwise, per channel, or a
# convolution whose padding is its own parameter).
SIZE_FREE = frozenset({
    "AbsVal", "BNLL", "BatchNorm", "Bias", "Clip", "Convolution", "Deconvolution", "Dropout", "ELU", "Eltwise",
    "Exp", "Log", "Power", "PReLU", "ReLU", "ReLU6", "Scale", "Sigmoid", "Swish", "TanH", "Threshold",
})

# Why the others are refused, where there is more to say than "its emitter bakes the size".
REASONS = {
    "InnerProduct": "its weight fixes the number of inputs (C x H x W): Caffe itself refuses another size",
    "Reshape": "its target shape is written in the prototxt and emitted as constants",
    "Flatten": "the converted models flatten the nominal C x H x W",
    "Upsample": "its output size is computed for the nominal size and emitted as constants",
    "Unpooling": "its output size is computed for the nominal size and emitted as constants",
    "PriorBox": "its priors are computed for the nominal feature map and image",
    "SPP": "its pyramid's kernels and pads are computed for the nominal size",
    "Slice": "its slice points are emitted as constants",
}


def _problem(node: Node, family: str) -> str | None:
    """Why `family`'s emitter cannot keep this layer correct at another size; None if it can."""
    if node.type in SIZE_FREE:
        return None
    p = node.params
    if node.type == "Pooling":
        return _pooling_problem(p, family)
    if node.type in ("Concat", "Softmax") and p.axis in (1, -3):
        return None
    if node.type == "LRN" and p.across_channels:
        return None
    if node.type in ("Crop", "Interp"):  # every target sizes them at run time (Crop: its second bottom's
        return None                      # size; Interp: the fork's size rule over the cropped input)
    return REASONS.get(node.type, f"its {family} emitter uses the nominal size (dynamic height and width are "
                                  f"not supported for {node.type})")


def _pooling_problem(p, family: str) -> str | None:
    if p.global_pooling:
        return None
    if p.mask:
        return "MAX pooling with a mask top: the mask indexes the nominal plane"
    if p.method not in ("MAX", "AVE"):
        return f"{p.method} pooling"
    if family == "pytorch" and (2 * p.pad[0] > p.kernel[0] or 2 * p.pad[1] > p.kernel[1]):
        return "pads over half the kernel: PyTorch refuses them, and caffe2x's own pooling bakes the sizes"
    return None


def check_dynamic(graph: Graph, target: str, family: str) -> set[str]:
    """The values whose shapes vary with the open input axes (empty for a static graph), after
    checking that `target` (emitter family `family`) keeps every layer reading them correct;
    one DynamicShapeError lists every layer it cannot."""
    if not dynamic_inputs(graph):
        return set()
    varying = varying_values(graph, other_sizes(graph))
    problems = [f"layer '{node.name}' ({node.type}): {why}" for node in graph.nodes
                if node.type != "Input" and set(node.inputs) & varying and (why := _problem(node, family))]
    if problems:
        inputs = ", ".join(f"'{graph.values[v].top}'" for v in dynamic_inputs(graph))
        raise DynamicShapeError(
            f"the {target} target cannot keep the height and width of {inputs} dynamic: {'; '.join(problems)}. "
            "Convert at a fixed size (no '?' in --input-shape, no --dynamic-hw), or cut the net before these "
            "layers with --outputs.")
    return varying
