"""Built-in layer families (Caffe forks' types, and BVLC master's newer Clip and Swish), each
in one folder and registered through the public extension API (caffe2x.api.register_layer),
exactly as a user's plugin is.
`import caffe2x` imports this package, so the layers are there without --plugin."""

from . import bvlc, detection, intel, mobile, segmentation, ssd, yolo  # noqa: F401
