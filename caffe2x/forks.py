"""Which layer types are BVLC Caffe's own, and which fork a foreign type most
likely comes from. Data only: the one table every message about forks, `inspect`'s
unsupported-layer report and `caffe2x layers` use."""

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

# Where a layer type comes from, as `caffe2x layers` and every error about an unsupported type
# name it. BVLC's own types are BVLC_LAYER_TYPES; every other type caffe2x knows (built in, or
# only recognised to say which fork it is from) has one entry in FORK_ORIGINS. The label names
# the fork and the public source caffe2x follows (repository, and commit where one is pinned).
BVLC = "BVLC master"

_SSD = "SSD fork (weiliu89/caffe@4817bf8)"
_INTERP = "PSPNet/DeepLab fork (hszhao/PSPNet; DeepLab v2's Interp)"
_BN = "PSPNet/SegNet forks (hszhao/PSPNet, alexgkendall/caffe-segnet)"
_SEGNET = "SegNet fork (alexgkendall/caffe-segnet)"
_UPSAMPLE = "SegNet fork (alexgkendall/caffe-segnet); YOLO v3 ports (nearest `scale` form)"
_UNPOOLING = "unpooling forks (DeconvNet/SegNet style: MAX pooling's mask)"
_DEEPLAB = "DeepLab fork (deeplab-public v1/v2)"
_ROI_POOLING = "Fast/Faster R-CNN fork (rbgirshick/caffe-fast-rcnn@0dcd397, pinned by py-faster-rcnn)"
_RFCN = "R-FCN fork (daijifeng001/caffe-rfcn@543f8f6)"
_PROPOSAL = ("Faster R-CNN's C++ Proposal (OpenCV's proposal_param; py-faster-rcnn@781a917 semantics; "
             "`--layer-variant Proposal=pva`: pva-faster-rcnn's, openvinotoolkit/training_toolbox_caffe@46feb72)")
_PY_PROPOSAL = "py-faster-rcnn (rbgirshick/py-faster-rcnn@781a917, lib/rpn/proposal_layer.py)"
_SHUFFLENET = "ShuffleNet fork (farmingyard/ShuffleNet)"
_CONV_DEPTHWISE = "MobileNet fork (farmingyard/caffe-mobilenet)"
_DEPTHWISE = "DepthwiseConvolution fork (yonghenglh6/DepthwiseConvolution)"
_SENET = "SENet fork (hujie-frank/SENet)"
_RELU6 = "MobileNet v2 ports (e.g. eric612/MobileNet-YOLO)"
_MISH = "YOLO v4 Caffe ports (Mish)"
_YOLO = "MobileNet-YOLO fork (eric612/MobileNet-YOLO@69b4441)"
_REGION = "caffe-yolov2 ports (lwplw/caffe_yolov2@f179674)"
_INTEL = ("Intel's Caffe (openvinotoolkit/training_toolbox_caffe@5e543a4); source-derived, "
          "no fork build")
_FLOWNET2 = "FlowNet2 fork (lmb-freiburg/flownet2@b92e198; read by OpenVINO, OpenCV); source-derived, GPU-only"

# Non-BVLC layer type -> the fork it comes from.
FORK_ORIGINS = {
    # detection
    "Normalize": _SSD, "PriorBox": _SSD, "DetectionOutput": _SSD, "Permute": _SSD,
    "MultiBoxLoss": _SSD, "AnnotatedData": _SSD, "DetectionEvaluate": _SSD, "VideoData": _SSD,
    "ROIPooling": _ROI_POOLING, "Proposal": _PROPOSAL,
    "PSROIPooling": _RFCN + "; semantics from its CUDA kernel, the fork's only PSROIPooling code",
    "BoxAnnotatorOHEM": _RFCN,
    # segmentation
    "Interp": _INTERP, "BN": _BN, "Upsample": _UPSAMPLE, "Unpooling": _UNPOOLING, "MaxUnpool": _UNPOOLING,
    "DenseImageData": _SEGNET,
    "ImageSegData": _DEEPLAB, "MatWrite": _DEEPLAB, "SegAccuracy": _DEEPLAB,
    # mobile backbones
    "ShuffleChannel": _SHUFFLENET, "ConvolutionDepthwise": _CONV_DEPTHWISE, "DepthwiseConvolution": _DEPTHWISE,
    "Axpy": _SENET, "ReLU6": _RELU6, "Mish": _MISH,
    # YOLO ports
    "Reorg": _YOLO, "YoloDetectionOutput": _YOLO, "Yolov3DetectionOutput": _YOLO, "RegionLoss": _YOLO,
    "Yolov3": _YOLO, "GaussianYolov3": _YOLO, "Region": _REGION,
    # Intel's Caffe models (OpenVINO's Caffe front end and OpenCV read both)
    "PriorBoxClustered": _INTEL, "Resample": _FLOWNET2,
    "Python:rpn.proposal_layer.ProposalLayer": _PY_PROPOSAL,
}


def origin(layer_type: str) -> str | None:
    """BVLC for BVLC's own types, the fork for a known fork type, None for any other."""
    return BVLC if layer_type in BVLC_LAYER_TYPES else FORK_ORIGINS.get(layer_type)


def likely_fork(layer_type: str) -> str | None:
    """The fork a type BVLC lacks most likely comes from (shown in UnsupportedLayerError)."""
    return FORK_ORIGINS.get(layer_type)


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
