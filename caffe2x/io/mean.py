"""Read a Caffe mean file (`mean.binaryproto`: one serialized BlobProto, as
compute_image_mean writes it, e.g. ilsvrc_2012_mean.binaryproto)."""

from __future__ import annotations

import os

import numpy as np

from ..errors import PreprocessingError


def read_mean_binaryproto(path: str | os.PathLike) -> np.ndarray:
    """The mean image as a float32 (C, H, W) array (a leading num of 1 is dropped)."""
    from google.protobuf.message import DecodeError

    from ..schema import BlobProto

    try:
        raw = open(path, "rb").read()  # noqa: SIM115  (read whole, closed at once)
    except OSError as exc:
        raise PreprocessingError(f"--mean {path}: cannot read it: {exc.strerror}.") from None
    blob = BlobProto()
    try:
        blob.ParseFromString(raw)
    except DecodeError:
        raise PreprocessingError(f"--mean {path}: is not a Caffe mean file (a serialized BlobProto).") from None
    shape = tuple(blob.shape.dim) if blob.HasField("shape") else (blob.num, blob.channels, blob.height, blob.width)
    values = np.asarray(blob.data if len(blob.data) else blob.double_data, dtype=np.float32)
    if not shape or int(np.prod(shape)) != values.size or values.size == 0:
        raise PreprocessingError(f"--mean {path}: holds {values.size} values for the shape {list(shape)}.")
    array = values.reshape(shape)
    while array.ndim > 3 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 3:
        raise PreprocessingError(f"--mean {path}: a mean image is C x H x W, this one is {list(array.shape)}.")
    return array
