"""The two-stage detectors' layers: ROIPooling (Fast/Faster R-CNN, rbgirshick/caffe-fast-rcnn),
PSROIPooling (R-FCN, daijifeng001/caffe-rfcn) and the region proposal layer (Proposal, and
py-faster-rcnn's Python ProposalLayer). One module per layer: parameters, shape rule, the
fork's arithmetic, reference kernel and an emitter per target; roi_bins.py holds the ROI rules
both pooling layers and the input checks use, roi_layer.py the registration and emitters the two
pooling layers share.

The forks' parameter blocks are declared by .proto files (the forks' own messages and field
numbers), loaded here so that `import caffe2x` reads these nets typed."""

from pathlib import Path

from ...api import load_proto

load_proto(str(Path(__file__).with_name("detection.proto")))
load_proto(str(Path(__file__).with_name("proposal.proto")))

from . import proposal, psroi_pooling, roi_pooling  # noqa: E402, F401  (each registers its layer)
