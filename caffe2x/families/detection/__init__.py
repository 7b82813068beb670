"""The two-stage detectors' layers: ROIPooling (Fast/Faster R-CNN, rbgirshick/caffe-fast-rcnn)
and PSROIPooling (R-FCN, daijifeng001/caffe-rfcn); the Proposal layer joins them here.
One module per layer: parameters, shape rule, the fork's arithmetic, reference kernel and an
emitter per target.

The forks' parameter blocks are declared by .proto files (the forks' own messages and field
numbers), loaded here so that `import caffe2x` reads these nets typed."""

from pathlib import Path

from ...api import load_proto

load_proto(str(Path(__file__).with_name("proposal.proto")))

from . import proposal  # noqa: E402, F401  (each registers its layer)
