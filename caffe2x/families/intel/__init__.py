"""Layers of Intel's Caffe models that OpenVINO's Caffe front end and OpenCV DNN read:
PriorBoxClustered (Intel's Caffe, openvinotoolkit/training_toolbox_caffe) and Resample (FlowNet2's
Caffe, lmb-freiburg/flownet2, which OpenVINO's front end reads "for FlowNet2"). Neither fork is
built here (FlowNet2's Resample has no CPU forward at all): both are derived from the named
source files, as each module's docstring says. One module per layer: parameters, shape rule,
the fork's arithmetic, reference kernel and an emitter per target.

Their parameter blocks (prior_box_param with width/height, resample_param) are declared by
intel.proto, loaded here."""

from pathlib import Path

from ...api import load_proto

SCHEMA = Path(__file__).with_name("intel.proto")
load_proto(str(SCHEMA))

from . import prior_box_clustered, resample  # noqa: E402, F401  (each registers its layer)
