"""The IR: a typed, NCHW, SSA graph in Caffe's own terms.

Every value is produced once. In-place Caffe layers (ReLU on conv1 -> conv1)
produce fresh values; the last definition of a top keeps the top's name and
earlier ones are called "<top>@<layer>". Each node keeps its Caffe layer name,
its prototxt bottoms/tops, typed parameters and its weights (read-only numpy
arrays, often views over the memory-mapped caffemodel).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

Shape = tuple[int, ...]


@dataclass
class Value:
    name: str
    shape: Shape
    top: str  # the Caffe top name as written
    producer: str | None  # Caffe layer name; None for net inputs
    dtype: str = "float32"
    # None: a Caffe blob (N, C, H, W when 4-D). "nhwc" or "nchw": a net input that takes an image
    # as the user holds it (embedded preprocessing); targets feed it as it is, never transposed.
    image_layout: str | None = None


@dataclass
class Node:
    name: str
    type: str
    params: Any
    inputs: list[str]
    outputs: list[str]
    bottoms: list[str]
    tops: list[str]
    weights: list[np.ndarray] = field(default_factory=list)
    weight_shapes: list[Shape] = field(default_factory=list)
    # After a pass folds layers into this node: the Caffe layers it absorbed,
    # in order. Its outputs are then the last absorbed layer's tops.
    fused: list[str] = field(default_factory=list)

    @property
    def key_layer(self) -> str:
        """The Caffe layer whose tops this node's outputs hold."""
        return self.fused[-1] if self.fused else self.name

    @property
    def num_params(self) -> int:
        return int(sum(int(np.prod(s, dtype=np.int64)) for s in self.weight_shapes))


@dataclass
class CaffeLayer:
    """One layer of the net as the prototxt wrote it (Split and Silence too),
    with Caffe's top shapes: what `caffe2x inspect` lists."""

    name: str
    type: str
    bottoms: list[str]
    tops: list[str]
    shapes: list[Shape]
    params: int = 0
    flops: int = 0


@dataclass
class Graph:
    name: str
    inputs: list[str]
    outputs: list[str]
    nodes: list[Node]
    values: dict[str, Value]
    # (layer, top) -> value for layers removed while building (Split): lets a
    # verifier find every blob Caffe reports, even for layers the IR dropped.
    aliases: dict[tuple[str, str], str] = field(default_factory=dict)
    has_weights: bool = False
    # Caffe top name of each output, parallel to `outputs` (an output can be
    # a Split alias, whose top name differs from its value's name).
    output_tops: list[str] = field(default_factory=list)
    caffe_layers: list[CaffeLayer] = field(default_factory=list)
    # What travels with the model but is not a layer, written into every converted
    # model's metadata: "preprocessing" (frontend.preprocess.Preprocessing.to_dict())
    # and "labels" (class index -> name).
    metadata: dict = field(default_factory=dict)
    # Input value -> the axes a converted model leaves open (--input-shape data=1,3,?,? or
    # --dynamic-hw: 2 and 3); shapes stay Caffe's at the nominal size (passes/dynamic.py).
    dynamic: dict[str, tuple[int, ...]] = field(default_factory=dict)

    @property
    def flops(self) -> int:
        return sum(layer.flops for layer in self.caffe_layers)

    def node(self, name: str) -> Node:
        """The first node of that Caffe layer name (Caffe allows several layers with one name)."""
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def shape(self, value: str) -> Shape:
        return self.values[value].shape

    def blob_keys(self) -> dict[str, str]:
        """Golden-format keys ("LAYER:TOP", "input:NAME") -> value name."""
        keys = {f"input:{self.values[name].top}": name for name in self.inputs}
        for node in self.nodes:
            if node.type == "Input":  # already keyed "input:NAME", as Caffe's tools do
                continue
            for top, value in zip(node.tops, node.outputs):
                keys[f"{node.key_layer}:{top}"] = value
        for (layer, top), value in self.aliases.items():
            keys[f"{layer}:{top}"] = value
        return keys

    @property
    def total_params(self) -> int:
        return sum(node.num_params for node in self.nodes)
