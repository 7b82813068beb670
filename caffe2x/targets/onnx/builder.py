"""State shared by the ONNX emitters while one graph is converted."""

from __future__ import annotations

import numpy as np

from ...errors import Caffe2xError
from ...ir.graph import Graph, Node
from ..common import inexpressible

DYNAMIC_BATCH = "N"


def _unique(base: str, used: set[str]) -> str:
    name, index = base, 1
    while name in used:
        index += 1
        name = f"{base}_{index}"
    used.add(name)
    return name


class OnnxBuilder:
    """Collects ONNX nodes and initializers. Emitters call `op` and `const`;
    names of helper tensors are derived from the Caffe layer name."""

    def __init__(self, graph: Graph, opset: int):
        from onnx import helper, numpy_helper

        self._helper, self._numpy_helper = helper, numpy_helper
        self.graph = graph
        self.opset = opset
        self.nodes: list = []
        # (name, array): kept as numpy and turned into TensorProtos (or streamed to
        # the file) only when the model is written, so weights are not copied early.
        self.tensors: list[tuple[str, np.ndarray]] = []
        self._names: set[str] = set(graph.values)  # tensor names
        self._node_names: set[str] = set()  # a namespace of its own in ONNX
        # Values whose height or width follow a dynamic input's (targets.dynamic.check_dynamic):
        # an emitter must derive their sizes at run time, never from shape().
        self.varying: set[str] = set()

    def shape(self, value: str) -> tuple[int, ...]:
        """The IR shape of a Caffe value (batch as built; emitted graphs keep it dynamic)."""
        return self.graph.values[value].shape

    def fresh(self, base: str) -> str:
        """A new tensor name: base, else base_2, base_3, ..."""
        return _unique(base, self._names)

    def _node_name(self, layer: str) -> str:
        """The first node of a layer gets the Caffe layer name itself, helpers layer_2, layer_3, ..."""
        return _unique(layer, self._node_names)

    def const(self, layer: str, what: str, array, dtype=np.float32) -> str:
        name = self.fresh(f"{layer}/{what}")
        self.tensors.append((name, np.ascontiguousarray(array, dtype=dtype)))
        return name

    def ints(self, layer: str, what: str, values) -> str:
        return self.const(layer, what, np.asarray(values, dtype=np.int64), dtype=np.int64)

    def op(self, op_type: str, inputs: list[str], layer: str, *, output: str | None = None,
           outputs: list[str] | None = None, **attrs) -> str | list[str]:
        """Add one node; returns its output name (or names when `outputs` is given)."""
        names = outputs if outputs is not None else [output or self.fresh(f"{layer}/{op_type}")]
        self.nodes.append(self._helper.make_node(op_type, inputs, names, name=self._node_name(layer), **attrs))
        return names if outputs is not None else names[0]

    def reduce(self, op_type: str, x: str, axes: list[int], layer: str, keepdims: bool,
               output: str | None = None) -> str:
        """Reduce* with `axes` as an input where the opset wants one (ReduceSum from 13, the rest from 18)."""
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.op(op_type, [x, self.ints(layer, "axes", axes)], layer, output=output,
                           keepdims=int(keepdims))
        return self.op(op_type, [x], layer, output=output, axes=axes, keepdims=int(keepdims))

    def unsupported(self, node: Node, why: str) -> Caffe2xError:
        return inexpressible(node, "ONNX", why)


class OnnxInt:
    """An int64 tensor of the graph `builder` builds, for a shape rule's integer arithmetic at run
    time (Caffe's sizes from the input's shape): +, -, * and // with another OnnxInt or a Python
    int, each one node. ONNX's integer Div truncates: // is floor division for operands >= 0
    only, which is what Caffe's size rules divide."""

    def __init__(self, builder: OnnxBuilder, layer: str, name: str):
        self.builder, self.layer, self.name = builder, layer, name

    def _op(self, op_type: str, other) -> OnnxInt:
        operand = other.name if isinstance(other, OnnxInt) else self.builder.ints(self.layer, "c", [other])
        return OnnxInt(self.builder, self.layer, self.builder.op(op_type, [self.name, operand], self.layer))

    def __add__(self, other): return self._op("Add", other)
    def __sub__(self, other): return self._op("Sub", other)
    def __mul__(self, other): return self._op("Mul", other)
    def __floordiv__(self, other): return self._op("Div", other)
