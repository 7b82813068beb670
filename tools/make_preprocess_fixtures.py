"""Make fixtures/preprocess/: the files the README's preprocessing walk-through uses.

- mean.binaryproto: a 3 x 256 x 256 mean image made as BVLC's tools/compute_image_mean.cpp
  makes ilsvrc_2012_mean.binaryproto: the per-pixel average of the training images (here 16
  seeded synthetic BGR images of 256 x 256, pixel values 0-255, near ImageNet's channel means
  104, 117, 123), written as one BlobProto with num 1, channels, height, width and float data.
- synset_words.txt: the first ten lines of BVLC's data/ilsvrc12/synset_words.txt (the thin
  AlexNet golden net has ten classes).
- image.png: a 160 x 120 RGB picture drawn here (seeded gradients and shapes; no third-party
  content), which verify --image resizes to the net's 227 x 227.
- digit.png: a 28 x 28 grey "1" drawn here, white on black as MNIST's digits, for LeNet;
  digits.txt: LeNet's class names, one a line ("zero" for class 0, ...).

Run: python tools/make_preprocess_fixtures.py  (needs Pillow: the `image` extra)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from caffe2x.schema import BlobProto

OUT = Path(__file__).resolve().parent.parent / "fixtures" / "preprocess"
SYNSETS = """n01440764 tench, Tinca tinca
n01443537 goldfish, Carassius auratus
n01484850 great white shark, white shark, man-eater, man-eating shark, Carcharodon carcharias
n01491361 tiger shark, Galeocerdo cuvieri
n01494475 hammerhead, hammerhead shark
n01496331 electric ray, crampfish, numbfish, torpedo
n01498041 stingray
n01514668 cock
n01514859 hen
n01518878 ostrich, Struthio camelus
"""


def mean_blob(rng) -> BlobProto:
    """compute_image_mean: sum every training image's pixels, divide by their count."""
    images = [np.clip(rng.normal((104, 117, 123), 40, (256, 256, 3)), 0, 255).round() for _ in range(16)]
    mean = np.mean([image.transpose(2, 0, 1) for image in images], axis=0)  # C, H, W, BGR as Caffe holds it
    blob = BlobProto(num=1, channels=3, height=256, width=256)
    blob.data.extend(mean.astype(np.float32).ravel().tolist())
    return blob


def picture(rng) -> np.ndarray:
    y, x = np.mgrid[0:120, 0:160]
    image = np.stack([x * 255 / 159, y * 255 / 119, 255 - x * 255 / 159], axis=-1)
    for _ in range(6):  # a few discs of random colours
        cy, cx, r = rng.integers(10, 110), rng.integers(10, 150), rng.integers(8, 30)
        image[(y - cy) ** 2 + (x - cx) ** 2 < r * r] = rng.integers(0, 256, 3)
    return image.astype(np.uint8)


def digit() -> np.ndarray:
    image = np.zeros((28, 28), np.uint8)
    image[5:23, 12:16] = 255  # the stroke of a "1"
    image[5:8, 10:12] = 200  # its flag
    return image


def main() -> None:
    rng = np.random.default_rng(16)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "mean.binaryproto").write_bytes(mean_blob(rng).SerializeToString())
    (OUT / "synset_words.txt").write_text(SYNSETS)
    Image.fromarray(picture(rng)).save(OUT / "image.png")
    Image.fromarray(digit()).save(OUT / "digit.png")
    (OUT / "digits.txt").write_text("zero\none\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\n")


if __name__ == "__main__":
    main()
