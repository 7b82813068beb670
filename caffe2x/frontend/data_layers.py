"""The shapes data layers give their tops, computed from their parameters as each
layer's DataLayerSetUp does, where the parameters alone decide them. A data layer
becomes a net input; where its shape depends on the data (an image's own size, a
database's datum), it is None and the user gives it with --input-shape.

Channels: image layers decode colour images to 3 channels and grey ones to 1
(is_color / force_gray); the SSD fork's AnnotatedData decodes its JPEG datums the same way."""

from __future__ import annotations

from ..io.params import block_field, fork_blocks

Shape = tuple[int, ...]


def data_layer_shapes(layer) -> list[Shape | None]:
    rule = SHAPE_RULES.get(layer.type)
    return rule(layer) if rule is not None else []


def _crop(layer) -> tuple[int, int] | None:
    """transform_param's crop: crop_size, or DeepLab's crop_height/crop_width."""
    p = layer.transform_param
    if p.crop_size:
        return p.crop_size, p.crop_size
    height, width = (block_field(layer, "transform_param", name) for name in ("crop_height", "crop_width"))
    return (height, width) if height and width else None


def _image_data(layer) -> list[Shape | None]:
    """BVLC image_data_layer.cpp: (batch, channels, crop or new size); label (batch,)."""
    p = layer.image_data_param
    size = _crop(layer) or ((p.new_height, p.new_width) if p.new_height and p.new_width else None)
    data = (p.batch_size, 3 if p.is_color else 1, *size) if size and p.batch_size else None
    return [data, (p.batch_size,) if p.batch_size else None]


def _image_seg_data(layer) -> list[Shape | None]:
    """DeepLab's image_seg_data_layer.cpp: data (batch, channels, crop), label (batch, 1, crop),
    an optional third top data_dim (batch, 1, 1, 2): the image's own height and width."""
    p = layer.image_data_param
    size = _crop(layer)
    if not (size and p.batch_size):
        return [None, None, (p.batch_size, 1, 1, 2) if p.batch_size else None]
    return [(p.batch_size, 3 if p.is_color else 1, *size), (p.batch_size, 1, *size), (p.batch_size, 1, 1, 2)]


def _dense_image_data(layer) -> list[Shape | None]:
    """SegNet's dense_image_data_layer.cpp (alexgkendall/caffe-segnet@344c113): the crop
    (transform_param.crop_size, else crop_height/crop_width), else new_height/new_width;
    the label map has one channel."""
    values = _fork_block(layer, "dense_image_data_param")

    def number(name: str) -> int:
        return int(values.get(name, 0))

    crop = layer.transform_param.crop_size
    sizes = [(crop, crop), (number("crop_height"), number("crop_width")), (number("new_height"), number("new_width"))]
    size = next((s for s in sizes if s[0] and s[1]), None)
    batch = number("batch_size")
    channels = 3 if _text_bool(values.get("is_color"), default=True) else 1
    if not (size and batch):
        return [None, None]
    return [(batch, channels, *size), (batch, 1, *size)]


def _annotated_data(layer) -> list[Shape | None]:
    """The SSD fork's annotated_data_layer.cpp: batch from data_param, height and width from
    transform_param.resize_param (the image is resized to it before any crop)."""
    batch = layer.data_param.batch_size
    transform = _fork_block(layer, "transform_param")
    resize = transform.get("resize_param", {})
    height, width = int(resize.get("height", 0)), int(resize.get("width", 0))
    if transform.get("crop_size"):
        height = width = int(transform["crop_size"])
    if not (batch and height and width):
        return [None, None]
    gray = _text_bool(transform.get("force_gray"), default=False)
    return [(batch, 1 if gray else 3, height, width), None]  # the label's row count depends on the data


def _fork_block(layer, name: str) -> dict:
    """A block kept generically (a fork's own, or one BVLC's message refuses): field -> value as
    written, nested blocks as dicts; {} when the layer has none."""
    block = fork_blocks(layer).get(name)
    return block.value.to_dict() if block is not None else {}


def _text_bool(value, default: bool) -> bool:
    """A bool as protobuf's text format writes it (true/false, t/f, 1/0)."""
    return default if value is None else str(value).lower() in ("true", "t", "1")


SHAPE_RULES = {
    "ImageData": _image_data,
    "ImageSegData": _image_seg_data,
    "DenseImageData": _dense_image_data,
    "AnnotatedData": _annotated_data,
}
