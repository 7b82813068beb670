"""The SSD fork's layers (weiliu89/caffe, branch ssd): Normalize, Permute, PriorBox,
DetectionOutput. One module per layer: parameters, shape rule, the fork's arithmetic,
reference kernel and an emitter per target.

The fork's parameter blocks (norm_param, permute_param, prior_box_param,
detection_output_param and the training ones) are declared by ssd.proto, the fork's own
message definitions, loaded here so that `import caffe2x` reads SSD nets typed."""

from pathlib import Path

from ...api import load_proto

SCHEMA = Path(__file__).with_name("ssd.proto")
load_proto(str(SCHEMA))

from . import detection_output, normalize, permute, prior_box  # noqa: E402, F401  (each registers its layer)
