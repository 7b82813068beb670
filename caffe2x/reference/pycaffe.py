"""Reference blobs from the real Caffe (pycaffe), when it is importable.

Layers are run one at a time (forward(start=L, end=L)) so that each layer's
tops are captured before an in-place successor overwrites them: the same
"LAYER:TOP" blobs as the golden files.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..errors import Caffe2xError


def available() -> bool:
    try:
        import caffe  # noqa: F401
    except ImportError:
        return False
    return True


def caffe_blobs(prototxt: str, weights: str, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    try:
        import caffe
    except ImportError:
        raise Caffe2xError("--reference caffe needs pycaffe (import caffe failed); use builtin.") from None
    caffe.set_mode_cpu()
    net = caffe.Net(str(prototxt), str(weights), caffe.TEST)
    for name, array in inputs.items():
        net.blobs[name].reshape(*array.shape)
        net.blobs[name].data[...] = array
    net.reshape()
    blobs = {f"input:{name}": np.array(array, np.float32) for name, array in inputs.items()}
    blob_names = list(net.blobs)  # blob id -> name, as pycaffe's own top_names builds it
    for index, layer in enumerate(net._layer_names):
        net._forward(index, index)
        # By layer index: net.top_names is a dict by layer name, which keeps only the last of
        # the layers sharing a name (Caffe allows that: HED has five "crop"s).
        for top in (blob_names[i] for i in net._top_ids(index)):
            blobs[f"{layer}:{top}"] = np.array(net.blobs[top].data, np.float32)
    return blobs
