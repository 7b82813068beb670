"""caffe2x: migrate Caffe models to ONNX, PyTorch and TensorFlow, proven layer by layer."""

from .api import convert, graph_from_net, load_net, load_plugins, register_layer, verify
from .errors import (
    Caffe2xError,
    GraphError,
    InputShapeError,
    MissingExtraError,
    PrototxtError,
    RegistryError,
    ShapeError,
    UnsupportedLayerError,
    WeightsError,
)
from .ir.graph import Graph, Node, Value
from .layers import LAYERS, MAX_BLOB_ELEMENTS, LayerDef
from .reference import REFERENCE

__version__ = "0.1.0"

__all__ = [
    "Caffe2xError", "Graph", "GraphError", "InputShapeError", "LAYERS", "LayerDef",
    "MAX_BLOB_ELEMENTS", "MissingExtraError", "Node", "PrototxtError", "REFERENCE", "RegistryError", "ShapeError",
    "UnsupportedLayerError", "Value", "WeightsError", "convert", "graph_from_net", "load_net",
    "load_plugins", "register_layer", "verify", "__version__",
]
