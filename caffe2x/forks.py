"""Which layer types are BVLC Caffe's own, and which fork a foreign type most
likely comes from. Data only: the one table every message about forks uses."""

from __future__ import annotations

# Every type BVLC Caffe (master) registers in its layer factory. A `*_param` block
# unknown to BVLC's schema is an error on these, and kept for a plugin on others.
BVLC_LAYER_TYPES = frozenset({
    "AbsVal", "Accuracy", "ArgMax", "BNLL", "BatchNorm", "BatchReindex", "Bias", "Clip", "Concat",
    "ContrastiveLoss", "Convolution", "Crop", "Data", "Deconvolution", "Dropout", "DummyData", "ELU",
    "Eltwise", "Embed", "EuclideanLoss", "Exp", "Filter", "Flatten", "HDF5Data", "HDF5Output",
    "HingeLoss", "Im2col", "ImageData", "InfogainLoss", "InnerProduct", "Input", "LRN", "LSTM",
    "LSTMUnit", "Log", "MVN", "MemoryData", "MultinomialLogisticLoss", "PReLU", "Parameter",
    "Pooling", "Power", "Python", "RNN", "Recurrent", "Reduction", "ReLU", "Reshape", "SPP", "Scale",
    "Sigmoid", "SigmoidCrossEntropyLoss", "Silence", "Slice", "Softmax", "SoftmaxWithLoss", "Split",
    "Swish", "TanH", "Threshold", "Tile", "WindowData",
})

_SSD = "SSD fork (weiliu89/caffe)"
_SEGMENTATION = "DeepLab/PSPNet fork"
_UPSAMPLE = "SegNet/YOLO fork"
_FASTER_RCNN = "Faster R-CNN fork (py-faster-rcnn)"
_MOBILE = "a mobile-net fork (ShuffleNet/MobileNet Caffe)"

# Foreign layer type -> the fork it most likely comes from (shown in UnsupportedLayerError).
LIKELY_FORK = {
    "Normalize": _SSD, "PriorBox": _SSD, "DetectionOutput": _SSD, "Permute": _SSD,
    "MultiBoxLoss": _SSD, "AnnotatedData": _SSD, "DetectionEvaluate": _SSD, "VideoData": _SSD,
    "Interp": _SEGMENTATION,
    "Upsample": _UPSAMPLE,
    "ROIPooling": _FASTER_RCNN, "Proposal": _FASTER_RCNN,
    "Python:rpn.proposal_layer.ProposalLayer": _FASTER_RCNN,
    "ShuffleChannel": _MOBILE, "ReLU6": _MOBILE, "ConvolutionDepthwise": _MOBILE,
    "DepthwiseConvolution": _MOBILE,
}


def likely_fork(layer_type: str) -> str | None:
    return LIKELY_FORK.get(layer_type)


# V1 (`layers { type: ENUM }`) type values that forks added to V1LayerParameter.LayerType,
# as their text prototxts write them -> the layer type they name. DeepLab v1
# (bitbucket deeplab/deeplab-public, mirrored on GitHub) and DeconvNet wrote their nets in V1 form.
FORK_V1_TYPE_NAMES = {
    "IMAGE_SEG_DATA": "ImageSegData",  # DeepLab: image + label map data layer
    "INTERP": "Interp",  # DeepLab: bilinear resize
    "MAT_WRITE": "MatWrite",  # DeepLab: writes blobs to .mat files (test-time output only)
    "MAT_READ": "MatRead",  # DeepLab: reads blobs from .mat files
    "SEG_ACCURACY": "SegAccuracy",  # DeepLab: pixel accuracy against the label map
    "DENSE_CRF": "DenseCRF",  # DeepLab: CRF post-processing
    "ADAPTIVE_BIAS_CHANNEL": "AdaptiveBiasChannel",  # DeepLab weak supervision (training)
    "UNPOOLING": "Unpooling",  # DeconvNet (HyeonwooNoh/caffe@d9e8494): max-unpooling, V1 enum 42
}
