"""What a Caffe model expects done to an image before its input layer, as data.

Caffe's own pipelines differ in where they put it: a data layer's transform_param
(DataTransformer: crop, then (x - mean) * scale), or pycaffe's Transformer (transpose
HWC -> CHW, channel swap RGB -> BGR, x * raw_scale, - mean, * input_scale). Both are the
one order kept here, applied by `apply_preprocessing` (NumPy; the converted models'
metadata records the same spec, and caffe2x.preprocess applies it):

    image as held (layout, channel order) -> C,H,W in the net's channel order (BGR for the
    BVLC nets) -> * raw_scale -> - mean (per channel, or a mean image center-cropped to the
    input, as Caffe's TEST-phase crop takes it) -> * scale (per channel; --std S is 1/S)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import PreprocessingError


@dataclass(frozen=True)
class Preprocessing:
    mean: tuple[float, ...] = ()  # per channel (or one for all), in the net's channel order
    mean_image: np.ndarray | None = field(default=None, compare=False)  # (C, H, W), already cropped
    scale: tuple[float, ...] = (1.0,)  # per channel (or one for all), after the mean
    raw_scale: float = 1.0  # multiplies the image first: 255 for images held in [0, 1]
    channel_order: str = "bgr"  # the image's channel order as the user holds it ("rgb": reversed first)
    input_layout: str = "nchw"  # the image's layout as the user holds it
    source: str = "defaults"  # where it was read from, for reports

    @property
    def is_identity(self) -> bool:
        return (not self.mean and self.mean_image is None and all(s == 1.0 for s in self.scale)
                and self.raw_scale == 1.0 and self.channel_order == "bgr" and self.input_layout == "nchw")

    def to_dict(self) -> dict:
        """JSON-ready: what a converted model's metadata records."""
        data = {"order": ["layout", "channel_order", "raw_scale", "mean", "scale"],
                "input_layout": self.input_layout, "channel_order": self.channel_order,
                "raw_scale": self.raw_scale, "mean": list(self.mean), "scale": list(self.scale),
                "source": self.source}
        if self.mean_image is not None:
            data["mean_image"] = self.mean_image.tolist()
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Preprocessing:
        image = data.get("mean_image")
        return cls(tuple(data.get("mean", ())), None if image is None else np.asarray(image, np.float32),
                   tuple(data.get("scale", (1.0,))), float(data.get("raw_scale", 1.0)),
                   data.get("channel_order", "bgr"), data.get("input_layout", "nchw"), data.get("source", ""))


@dataclass(frozen=True)
class Step:
    """One float32 operation of the preprocessing, on an N-batch:

    "transpose": x.transpose(order) (NHWC -> NCHW); "channels": x[:, order] (RGB -> BGR);
    "multiply" / "add": x * operand, x + operand, the operand broadcast from axis 1 ((1,) for
    all channels, (C,) per channel, (C, H, W) a mean image). The mean is added negated: x + (-m)
    is x - m in IEEE arithmetic, and it is what Caffe's Bias layer computes."""

    kind: str
    name: str  # what it does, also the name of its layer when embedded
    order: tuple[int, ...] = ()
    operand: np.ndarray | None = field(default=None, compare=False)


def preprocessing_steps(spec: Preprocessing, channels: int) -> list[Step]:
    """The spec as the operations that apply it, identities left out: the one home of the
    arithmetic. apply_preprocessing runs them in NumPy; passes.preprocess embeds each as a
    Caffe layer (Permute, Slice + Concat, Power, Bias, Scale) into the converted model."""
    steps = []
    if spec.input_layout == "nhwc":
        steps.append(Step("transpose", "layout", order=(0, 3, 1, 2)))
    if spec.channel_order == "rgb" and channels > 1:
        steps.append(Step("channels", "channel_order", order=tuple(range(channels - 1, -1, -1))))
    if spec.raw_scale != 1.0:
        steps.append(Step("multiply", "raw_scale", operand=np.array([spec.raw_scale], np.float32)))
    if spec.mean_image is not None:
        if spec.mean_image.shape[0] != channels:
            raise PreprocessingError(f"the mean image has {spec.mean_image.shape[0]} channels, the input {channels}")
        steps.append(Step("add", "mean", operand=-np.asarray(spec.mean_image, np.float32)))
    elif spec.mean and any(v != 0 for v in spec.mean):
        steps.append(Step("add", "mean", operand=-_per_channel(spec.mean, channels, "mean").reshape(-1)))
    if any(s != 1.0 for s in spec.scale):
        operand = _per_channel(spec.scale, channels, "scale").reshape(-1)
        steps.append(Step("multiply", "scale", operand=operand[:1] if len(set(operand.tolist())) == 1 else operand))
    return steps


def apply_step(step: Step, x: np.ndarray) -> np.ndarray:
    if step.kind == "transpose":
        return x.transpose(step.order)
    if step.kind == "channels":
        return x[:, list(step.order)]
    operand = step.operand.reshape((1, *step.operand.shape) + (1,) * (x.ndim - 1 - step.operand.ndim))
    return x * operand if step.kind == "multiply" else x + operand


def describe(spec: Preprocessing, mean_image_shape=None) -> list[str]:
    """The preprocessing in words, one step per line, in the order preprocessing_steps applies
    them (for the docstrings of converted models). mean_image_shape: the mean image's shape where
    the record keeps only that (an embedded preprocessing holds the image in the model)."""
    lines = []
    mean_image_shape = spec.mean_image.shape if spec.mean_image is not None else mean_image_shape
    if spec.input_layout == "nhwc":
        lines.append("images held N x H x W x C are transposed to Caffe's N x C x H x W")
    if spec.channel_order == "rgb":
        lines.append("RGB channels are reversed to Caffe's BGR")
    if spec.raw_scale != 1.0:
        lines.append(f"multiplied by raw_scale {spec.raw_scale:g}")
    if mean_image_shape is not None:
        lines.append(f"the {' x '.join(map(str, mean_image_shape))} mean image is subtracted")
    elif spec.mean:
        lines.append(f"the mean {', '.join(f'{m:g}' for m in spec.mean)} is subtracted per channel")
    if any(s != 1.0 for s in spec.scale):
        lines.append(f"multiplied by scale {', '.join(f'{s:g}' for s in spec.scale)}")
    return lines


def held_shape(spec: Preprocessing, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The shape of the image as the user holds it, for a net input of Caffe's N, C, H, W `shape`."""
    n, c, h, w = shape
    return (n, h, w, c) if spec.input_layout == "nhwc" else (n, c, h, w)


def apply_preprocessing(spec: Preprocessing, image: np.ndarray) -> np.ndarray:
    """A batch of images as the user holds them (N, H, W, C or N, C, H, W) -> the net's input
    (N, C, H, W float32), in the order of the module docstring."""
    x = np.asarray(image, dtype=np.float32)
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4:
        raise PreprocessingError(f"an image batch is 4-D ({spec.input_layout.upper()}), got shape {list(x.shape)}")
    channels = x.shape[3 if spec.input_layout == "nhwc" else 1]
    for step in preprocessing_steps(spec, channels):
        x = apply_step(step, x)
    return np.ascontiguousarray(x, dtype=np.float32)


def _per_channel(values, channels: int, what: str) -> np.ndarray:
    if len(values) not in (1, channels):
        raise PreprocessingError(f"{len(values)} {what} values for an input of {channels} channels (give 1 or "
                                 f"{channels})")
    return np.broadcast_to(np.asarray(values, np.float32), (channels,)).reshape(1, -1, 1, 1)


def crop_mean_image(mean: np.ndarray, height: int, width: int, per_channel: bool, source: str) -> tuple:
    """(mean values, mean image): the image center-cropped to the input, as Caffe's TEST-phase
    crop reads it (offset (H - h) / 2, (W - w) / 2), or its per-channel averages."""
    if per_channel:
        return tuple(float(v) for v in mean.reshape(mean.shape[0], -1).mean(axis=1)), None
    if mean.shape[1] < height or mean.shape[2] < width:
        raise PreprocessingError(f"{source}: the mean image is {mean.shape[1]}x{mean.shape[2]}, smaller than the "
                                 f"{height}x{width} input; pass --mean-per-channel to use its channel averages.")
    top, left = (mean.shape[1] - height) // 2, (mean.shape[2] - width) // 2
    return (), np.ascontiguousarray(mean[:, top:top + height, left:left + width], dtype=np.float32)


def from_transform_param(layer) -> Preprocessing | None:
    """A data layer's transform_param as a spec (None when it transforms nothing). mean_file
    is returned by name in `source`: the caller reads it (it needs the input size)."""
    p = layer.transform_param
    if not (p.mean_value or p.mean_file or p.HasField("scale")):
        return None
    return Preprocessing(mean=tuple(float(v) for v in p.mean_value), scale=(float(p.scale),),
                         source=f"transform_param of layer '{layer.name}'")


def check_values(spec: Preprocessing) -> Preprocessing:
    if not all(math.isfinite(v) and v != 0 for v in spec.scale):
        raise PreprocessingError(f"scale values must be finite and non-zero, got {list(spec.scale)}")
    if spec.channel_order not in ("bgr", "rgb") or spec.input_layout not in ("nchw", "nhwc"):
        raise PreprocessingError("channel order is bgr or rgb, input layout nchw or nhwc")
    return spec


@dataclass(frozen=True)
class PreprocessingOptions:
    """What the user gave (CLI or library); None: not given, the data layer's or the default."""

    mean_file: str | None = None
    mean_values: tuple[float, ...] | None = None
    scale: float | None = None
    std: tuple[float, ...] | None = None
    raw_scale: float | None = None
    channel_order: str | None = None
    input_layout: str | None = None
    mean_per_channel: bool = False

    @property
    def given(self) -> bool:
        return any(v is not None for v in (self.mean_file, self.mean_values, self.scale, self.std, self.raw_scale,
                                           self.channel_order, self.input_layout))


def build_preprocessing(layers: list, input_shape, options: PreprocessingOptions, base_dir: str = ".") \
        -> Preprocessing | None:
    """The spec for a net: its first data layer's transform_param, overridden by `options`.
    A mean file (given, or named by transform_param) is read and fitted to the input's size.
    None when neither says anything."""
    import os

    from ..io.mean import read_mean_binaryproto

    if options.mean_file and options.mean_values:
        raise PreprocessingError("give --mean FILE or --mean-values, not both")
    if options.scale is not None and options.std:
        raise PreprocessingError("give --scale or --std, not both (--std S multiplies by 1/S)")
    data_layer, base = next(((layer, spec) for layer in layers if (spec := from_transform_param(layer)) is not None),
                            (None, None))
    if base is None and not options.given:
        return None
    spec = base or Preprocessing(source="command line")
    mean, mean_image = spec.mean, None
    mean_file = options.mean_file or (data_layer.transform_param.mean_file if data_layer is not None else "")
    if options.mean_values is not None:
        mean, mean_file = tuple(options.mean_values), ""
    if mean_file:
        found = next((p for p in (mean_file, os.path.join(base_dir, mean_file)) if os.path.isfile(p)), None)
        if found is None:
            raise PreprocessingError(f"the mean file {mean_file!r} ({'--mean' if options.mean_file else spec.source}) "
                                     "is not found; give it with --mean FILE, or --mean-values B,G,R")
        _, _, height, width = input_shape
        mean, mean_image = crop_mean_image(read_mean_binaryproto(found), height, width, options.mean_per_channel,
                                           found)
        if len(mean) not in (0, input_shape[1]) or (mean_image is not None and len(mean_image) != input_shape[1]):
            raise PreprocessingError(f"{found}: the mean has {len(mean) or len(mean_image)} channels, the net's "
                                     f"input {input_shape[1]}.")
    scale = spec.scale
    if options.scale is not None:
        scale = (float(options.scale),)
    if options.std:
        scale = tuple(1.0 / s if s else 0.0 for s in options.std)
    source = spec.source + (", command line" if options.given and base is not None else "")
    _per_channel(mean or (0.0,), input_shape[1], "mean")  # 1 or C values, else a typed error
    _per_channel(scale, input_shape[1], "scale")
    return check_values(Preprocessing(
        mean=mean, mean_image=mean_image, scale=scale,
        raw_scale=spec.raw_scale if options.raw_scale is None else float(options.raw_scale),
        channel_order=options.channel_order or spec.channel_order,
        input_layout=options.input_layout or spec.input_layout, source=source))


def snippet(spec: Preprocessing, channels: int) -> str:
    """Standalone NumPy code applying the recorded spec (convert --preprocess record writes it into
    the model's metadata): the steps of preprocessing_steps, one line each, the same float32
    operations; the mean image, too large to inline, is read from the recorded spec."""
    lines = ["import numpy as np", "", "", "def preprocess(images, spec):",
             f'    """images as held ({spec.input_layout.upper()}, {spec.channel_order.upper()}) -> the net\'s '
             'N,C,H,W float32 input; spec: the recorded caffe2x preprocessing (JSON)."""',
             "    x = np.asarray(images, np.float32)",
             "    x = x[None] if x.ndim == 3 else x"]
    for step in preprocessing_steps(spec, channels):
        lines.append("    " + _snippet_line(step))
    lines.append("    return np.ascontiguousarray(x, np.float32)")
    return "\n".join(lines) + "\n"


def _snippet_line(step: Step) -> str:
    if step.kind == "transpose":
        return f"x = x.transpose{step.order}  # layout: NHWC -> NCHW"
    if step.kind == "channels":
        return f"x = x[:, {list(step.order)}]  # channel order: RGB -> BGR"
    if step.name == "mean" and step.operand.ndim == 3:
        return 'x = x - np.asarray(spec["mean_image"], np.float32)[None]  # mean image'
    values = (-step.operand if step.kind == "add" else step.operand).tolist()
    operator = "-" if step.kind == "add" else "*"
    return f"x = x {operator} np.asarray({values!r}, np.float32).reshape(1, -1, 1, 1)  # {step.name.replace('_', ' ')}"
