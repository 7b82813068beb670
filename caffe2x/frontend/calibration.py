"""Calibration inputs for int8 quantization (--calibration DIR_OR_NPZ): the samples whose
activations set the int8 scales, as the net takes them (NCHW float32, Caffe's order).

An .npz holds one array per net input, keyed NAME or input:NAME, samples along the first
axis (any count; each sample is fed alone, batch 1). A folder holds images (Pillow) that go
through the recorded preprocessing (graph.metadata["preprocessing"]), as the model's users
would feed them; a net with one 4-D input only.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import InputShapeError, MissingExtraError, PreprocessingError
from ..ir.graph import Graph

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".tif", ".tiff", ".webp")
MAX_SAMPLES = 256  # more adds conversion time, not accuracy


def read_calibration(path: str | os.PathLike, graph: Graph) -> list[dict[str, np.ndarray]]:
    """[{input top: (1, C, H, W) array}, ...], one dict per sample. A typed error names the file
    and what is wrong (no such file, an input missing, a shape that is not the input's)."""
    source = Path(path)
    if source.is_dir():
        return _from_images(source, graph)
    if not source.is_file():
        raise InputShapeError(f"--calibration {path}: no such file or folder (give an .npz of net inputs or a "
                              "folder of images).")
    return _from_npz(source, graph)


def _from_npz(path: Path, graph: Graph) -> list[dict[str, np.ndarray]]:
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key.removeprefix("input:"): data[key] for key in data.files}
    except (OSError, ValueError) as exc:
        raise InputShapeError(f"--calibration {path}: cannot read the .npz: {exc}") from None
    tops = [graph.values[v].top for v in graph.inputs]
    missing = [top for top in tops if top not in arrays]
    if missing:
        raise InputShapeError(f"--calibration {path} has no array for the net input(s) "
                              f"{', '.join(repr(t) for t in missing)}; its keys are "
                              f"{', '.join(repr(k) for k in arrays) or 'none'} (key each input NAME or input:NAME).")
    counts = set()
    for top, value in zip(tops, graph.inputs):
        want, got = graph.values[value].shape[1:], arrays[top].shape[1:]
        if len(got) != len(want) or _fixed_mismatch(graph, value, got):
            raise InputShapeError(f"--calibration {path}: input '{top}' is {list(arrays[top].shape)}; the net "
                                  f"takes samples of shape [n, {', '.join(map(str, want))}].")
        counts.add(arrays[top].shape[0])
    if len(counts) != 1 or 0 in counts:
        raise InputShapeError(f"--calibration {path}: every input needs the same, non-zero number of samples "
                              f"(first axis), not {sorted(counts)}.")
    count = min(counts.pop(), MAX_SAMPLES)
    return [{top: np.ascontiguousarray(arrays[top][i:i + 1], np.float32) for top in tops} for i in range(count)]


def _fixed_mismatch(graph: Graph, value: str, got) -> bool:
    """A sample dim that differs from the net's where that dim is not dynamic."""
    dynamic = set(getattr(graph, "dynamic", {}).get(value, ()))
    return any(g != w for axis, (g, w) in enumerate(zip(got, graph.values[value].shape[1:]), 1)
               if axis not in dynamic)


def _from_images(folder: Path, graph: Graph) -> list[dict[str, np.ndarray]]:
    from .preprocess import Preprocessing, apply_preprocessing

    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[:MAX_SAMPLES]
    if not files:
        raise InputShapeError(f"--calibration {folder}: the folder holds no image ({', '.join(IMAGE_SUFFIXES)}).")
    shapes = [graph.values[v].shape for v in graph.inputs]
    if len(shapes) != 1 or len(shapes[0]) != 4:
        raise InputShapeError(f"--calibration {folder}: a folder of images calibrates a net with one N,C,H,W input; "
                              "this net's inputs are " + ", ".join(str(list(s)) for s in shapes)
                              + ": give an .npz with one array per input.")
    spec = Preprocessing.from_dict(graph.metadata.get("preprocessing", {}))
    _, channels, height, width = shapes[0]
    top = graph.values[graph.inputs[0]].top
    return [{top: apply_preprocessing(spec, _image(path, channels, height, width, spec))} for path in files]


def _image(path: Path, channels: int, height: int, width: int, spec) -> np.ndarray:
    """One image resized to the input, held as the recorded preprocessing says users hold it."""
    try:
        from PIL import Image
    except ImportError:
        raise MissingExtraError("--calibration with a folder of images needs Pillow: pip install Pillow "
                                "(or give an .npz of net inputs).") from None
    try:
        with Image.open(path) as image:
            image = image.convert("L" if channels == 1 else "RGB").resize((width, height), Image.BILINEAR)
            array = np.asarray(image, np.float32)
    except OSError as exc:
        raise PreprocessingError(f"--calibration: cannot read the image {path}: {exc}") from None
    array = array[:, :, None] if array.ndim == 2 else array  # H, W, C as Pillow holds it, RGB
    if channels == 3 and spec.channel_order == "bgr":
        array = array[:, :, ::-1]
    if spec.raw_scale != 1.0:  # the user holds images in [0, 1]: raw_scale brings them back
        array = array / 255.0
    if spec.input_layout == "nchw":
        array = array.transpose(2, 0, 1)
    return np.ascontiguousarray(array[None], np.float32)
