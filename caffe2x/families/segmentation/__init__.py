"""The segmentation forks' layers: Interp (DeepLab v2, PSPNet), BN (PSPNet's and SegNet's),
Upsample (SegNet's max-unpooling by a MAX Pooling's mask, and the YOLO ports' nearest form),
Unpooling (DeconvNet's fork).
One module per layer: parameters, shape rule, the fork's arithmetic, reference kernel and an
emitter per target; MAX Pooling's mask top itself is built in (caffe2x/layers/pooling.py).

The forks' parameter blocks are declared by segmentation.proto (the forks' own messages; how
one declaration reads forks that disagree is said there), loaded here so that `import caffe2x`
reads these nets typed."""

from pathlib import Path

from ...api import load_proto

SCHEMA = Path(__file__).with_name("segmentation.proto")
load_proto(str(SCHEMA))

from . import bn, interp, unpooling, upsample  # noqa: E402, F401  (each registers its layer)
