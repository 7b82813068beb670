"""The public extension API: everything a plugin needs to teach caffe2x a layer type.

A layer type is registered once, with caffe2x.register_layer, through the same
path the built-in layers use:

    LayerDef      its parameters (parse), Caffe's shape rule (infer), weight shapes, FLOPs
    reference     the NumPy kernel (node, [arrays]) -> [arrays] that verify compares with
    onnx          (node, input names, output names, OnnxBuilder) -> output tensor names
    pytorch       (node, TorchContext) -> TorchLayer (module source, state, runtime classes)
    tensorflow    (node, input expressions, KerasContext) -> KerasLayer (tensorflow and tflite);
                  a layer without bottoms is called on KerasContext.anchor (the model's first input)

A BatchNorm-like layer (a fork's BN) says which of its weight blobs are its input's
channel mean and variance with LayerDef(..., statistics=BatchStatistics(mean=2,
variance=3, scale=0, shift=1)): synthetic weights (synth-weights, --random-weights)
then draw them in range and measure them on a forward pass, so a deep net of that
layer stays in range as a trained one does (BVLC BatchNorm: BatchStatistics(mean=0,
variance=1, factor=2), the statistics stored multiplied by the factor blob's value).
Where the parameters decide the blobs (a BN whose fork variant keeps 4 blobs or 2),
statistics is a function params -> BatchStatistics, with mean=None and variance=None
for a variant that keeps no statistics (its scale and shift are still drawn near 1, 0).

A fork's parameter block (`my_op_param { ... }`) is declared with ParamMessage,
Field and Enum and caffe2x.register_param (or read from the fork's .proto with
caffe2x.load_proto); `fork_params("my_op_param", build)` is then the LayerDef's parse.

Runtime classes a generated model.py needs (an nn.Module, a Keras layer) are real
code in a module of the plugin that imports only its framework; emitters name them
"module:Class" in TorchLayer.helpers / KerasLayer.custom, and caffe2x copies their
source into model.py. Nothing here imports a framework: registering is free.
See examples/plugins/ and the README section "Adding a layer".
"""

from __future__ import annotations

from .errors import InputValueError, ShapeError
from .io.params import Enum, Field, ParamMessage, ParamValue
from .ir.graph import Node, Shape
from .layers.base import (
    BatchStatistics,
    BottomSource,
    DataBottom,
    DataBottomContext,
    LayerDef,
    canonical_axis,
    check,
    count,
    fork_params,
    no_params,
    pair,
    same_shape,
)
from .layers.python import python_param_mapping, python_param_str
from .targets.common import float_literal, pair_literal
from .targets.emitters import EMITTER_FAMILIES, mark_unsupported
from .targets.onnx.builder import OnnxBuilder, OnnxInt
from .targets.tensorflow.base import KerasLayer
from .targets.tensorflow.codegen import KerasContext
from .targets.torch.base import TorchLayer
from .targets.torch.codegen import TorchContext

__all__ = [
    "BatchStatistics", "BottomSource", "DataBottom", "DataBottomContext", "EMITTER_FAMILIES", "Enum", "Field",
    "InputValueError", "KerasContext",
    "KerasLayer", "LayerDef", "Node",
    "OnnxBuilder", "OnnxInt", "ParamMessage", "ParamValue", "Shape", "ShapeError", "TorchContext", "TorchLayer",
    "canonical_axis",
    "check", "count", "float_literal", "fork_params", "mark_unsupported", "no_params", "pair", "pair_literal",
    "python_param_mapping", "python_param_str", "same_shape",
]
