"""Read an image file for `verify --image` as pycaffe's caffe.io reads and sizes it.

caffe.io.load_image gives H, W, C RGB floats in [0, 1]; caffe.io.resize_image(im, (h, w)) (what
Transformer.preprocess and Classifier.predict call) stretches the image's range to [0, 1],
resizes it with skimage.transform.resize(order=1, mode='constant'), and maps the range back.
Order 1 is bilinear interpolation with pixel centres aligned (output pixel y samples the input
at (y + 0.5) * H / h - 0.5), samples outside the image count as 0 (mode 'constant'), and no
anti-aliasing (the skimage of pycaffe's time had none). resize_bilinear does exactly that, in
float64, so no skimage is needed; Pillow (the `image` extra) only decodes the file.
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import MissingExtraError, PreprocessingError


def load_image(path: str | os.PathLike, color: bool = True) -> np.ndarray:
    """H, W, 3 float32 RGB in [0, 255] (H, W, 1 grey when not color), as caffe.io.load_image(path,
    color) makes any file (grey and palette images made RGB, colour ones grey)."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise MissingExtraError("--image needs Pillow: pip install 'caffe2x[image]'") from None
    try:
        with Image.open(path) as image:
            array = np.asarray(image.convert("RGB" if color else "L"), dtype=np.float32)
            return array if color else array[..., None]
    except FileNotFoundError:
        raise PreprocessingError(f"--image {path}: no such file.") from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise PreprocessingError(f"--image {path}: cannot be read as an image ({exc}).") from None


def resize_bilinear(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """caffe.io.resize_image(image, (height, width)) for an H, W, C image (see the module docstring)."""
    low, high = float(image.min()), float(image.max())
    if image.shape[:2] == (height, width):
        return image.astype(np.float32)
    if low == high:  # caffe.io fills a constant image with its value
        return np.full((height, width, image.shape[2]), low, np.float32)
    unit = (image.astype(np.float64) - low) / (high - low)
    resized = _along(_along(unit, height, 0), width, 1)
    return (resized * (high - low) + low).astype(np.float32)


def _along(array: np.ndarray, size: int, axis: int) -> np.ndarray:
    """Linear interpolation along one axis, centres aligned, zero outside (separable bilinear)."""
    length = array.shape[axis]
    position = (np.arange(size) + 0.5) * (length / size) - 0.5
    first = np.floor(position).astype(np.int64)
    weight = position - first
    padded = np.concatenate([np.zeros_like(np.take(array, [0], axis)), array,
                             np.zeros_like(np.take(array, [0], axis))], axis=axis)
    below = np.take(padded, np.clip(first + 1, 0, length + 1), axis=axis)
    above = np.take(padded, np.clip(first + 2, 0, length + 1), axis=axis)
    shape = [1] * array.ndim
    shape[axis] = size
    weight = weight.reshape(shape)
    return below * (1 - weight) + above * weight


def image_input(path: str | os.PathLike, spec, shape: tuple[int, ...]) -> np.ndarray:
    """The image file as the spec says the user holds it, sized for a net input of N, C, H, W `shape`:
    1 x H x W x C (or 1 x C x H x W), C 3 (RGB or BGR) or 1 (grey); 0-255, or [0, 1] as caffe.io.load_image gives it
    when a raw_scale is given (pycaffe's raw_scale 255 takes [0, 1] images)."""
    _, channels, height, width = shape
    if channels not in (1, 3):
        raise PreprocessingError(f"--image needs a 1- or 3-channel input; the net's first input is {list(shape)}.")
    image = resize_bilinear(load_image(path, channels == 3), height, width)
    if spec.raw_scale != 1.0:
        image = image / np.float32(255.0)
    if spec.channel_order == "bgr" and channels == 3:
        image = image[..., ::-1]
    image = image[None] if spec.input_layout == "nhwc" else image.transpose(2, 0, 1)[None]
    return np.array(image, np.float32, order="C")  # a fresh array: no negative strides (torch refuses them)
