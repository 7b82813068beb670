"""caffe2x: migrate Caffe models to ONNX, PyTorch and TensorFlow, proven layer by layer."""

from .api import (
    apply_preprocessing,
    attach_labels,
    attach_preprocessing,
    convert,
    embed_preprocessing,
    fork_param,
    graph_from_net,
    load_net,
    load_plugins,
    load_proto,
    record_preprocessing_snippet,
    register_field,
    register_layer,
    register_param,
    register_python_layer,
    tflite_metadata,
    verify,
)
from .errors import (
    Caffe2xError,
    GraphError,
    InputShapeError,
    MissingExtraError,
    PrototxtError,
    RegistryError,
    SchemaError,
    ShapeError,
    UnsupportedLayerError,
    WeightsError,
)
from .io.params import Enum, Field, ParamMessage, ParamValue
from .ir.graph import Graph, Node, Value
from .layers import LAYERS, MAX_BLOB_ELEMENTS, LayerDef
from .reference import REFERENCE
from .version import __version__

__all__ = [
    "apply_preprocessing", "attach_labels", "attach_preprocessing", "embed_preprocessing",
    "record_preprocessing_snippet",
    "Caffe2xError", "Enum", "Field", "Graph", "GraphError", "InputShapeError", "LAYERS", "LayerDef",
    "MAX_BLOB_ELEMENTS", "MissingExtraError", "Node", "ParamMessage", "ParamValue", "PrototxtError", "REFERENCE",
    "RegistryError", "SchemaError", "ShapeError", "UnsupportedLayerError", "Value", "WeightsError", "convert",
    "fork_param", "graph_from_net", "load_net", "load_plugins", "load_proto", "register_field", "register_layer",
    "register_param", "register_python_layer", "tflite_metadata", "verify", "__version__",
]

# Last: the built-in fork layer families register themselves through the public API above.
from . import families  # noqa: E402, F401
