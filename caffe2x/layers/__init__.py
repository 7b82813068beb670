"""Built-in layer types. Importing this package registers them all in LAYERS.

Each family module also holds Caffe's numeric rules for its layers (the AVE pooling
divisor, BatchNorm's scale factor, Exp/Log's ln(base), ...): one function each,
citing the Caffe source it follows, used by the NumPy reference and by every
target. They live beside the parameters and shape rules they depend on, so one
file says everything caffe2x knows about a layer family. The ones a generated
model.py needs are plain Python, and model.py gets a copy of them.
"""

from . import activation, affine, conv, eltwise, normalization, pooling, reduction, spp, tensor  # noqa: F401
from .base import LAYERS, MAX_BLOB_ELEMENTS, LayerDef, shapes_agree

# Layer types of training nets that have no meaning at inference: dropped
# from the graph (with their tops) when a net is loaded.
TRAINING_ONLY_TYPES = frozenset({
    "Accuracy", "SoftmaxWithLoss", "EuclideanLoss", "HingeLoss", "InfogainLoss",
    "MultinomialLogisticLoss", "SigmoidCrossEntropyLoss", "ContrastiveLoss",
    "HDF5Output",
    "MultiBoxLoss", "DetectionEvaluate",  # the SSD fork's loss and its mAP evaluation (needs the labels)
    "SegAccuracy",  # DeepLab's pixel accuracy (needs the labels)
    "MatWrite",  # DeepLab's test nets write their scores to .mat files: a side effect, not a result
    "RegionLoss", "Yolov3", "GaussianYolov3",  # eric612/MobileNet-YOLO's YOLO v2 / v3 losses (need the labels)
})

# Data layers: each top becomes a net input whose shape the user gives
# (DummyData and MemoryData declare their own).
DATA_TYPES = frozenset({
    "Data", "ImageData", "HDF5Data", "MemoryData", "WindowData", "DummyData",
    "AnnotatedData", "VideoData",  # the SSD fork's
    "DenseImageData",  # SegNet's image + label map layer
    "ImageSegData",  # DeepLab's image + label map layer
})

__all__ = ["LAYERS", "MAX_BLOB_ELEMENTS", "LayerDef", "shapes_agree", "TRAINING_ONLY_TYPES", "DATA_TYPES"]
