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
    block = fork_blocks(layer).get("dense_image_data_param")
    values = {f.name: f.value for f in block.value.fields} if block is not None else {}

    def number(name: str, default: int = 0) -> int:
        return int(values.get(name, default))

    crop = layer.transform_param.crop_size
    sizes = [(crop, crop), (number("crop_height"), number("crop_width")), (number("new_height"), number("new_width"))]
    size = next((s for s in sizes if s[0] and s[1]), None)
    batch = number("batch_size")
    channels = 3 if str(values.get("is_color", "true")).lower() in ("true", "1", "t") else 1
    if not (size and batch):
        return [None, None]
    return [(batch, channels, *size), (batch, 1, *size)]


def _annotated_data(layer) -> list[Shape | None]:
    """The SSD fork's annotated_data_layer.cpp: batch from data_param, height and width from
    transform_param.resize_param (the image is resized to it before any crop)."""
    batch = layer.data_param.batch_size
    block = fork_blocks(layer).get("transform_param")
    resize = block.value.first("resize_param") if block is not None else None
    fields = {f.name: f.value for f in resize.value.fields} if resize is not None else {}
    height, width = int(fields.get("height", 0)), int(fields.get("width", 0))
    gray = block is not None and str(_scalar(block, "force_gray")).lower() in ("true", "1")
    crop = _scalar(block, "crop_size") if block is not None else None
    if crop:
        height = width = int(crop)
    if not (batch and height and width):
        return [None, None]
    return [(batch, 1 if gray else 3, height, width), None]  # the label's row count depends on the data


def _scalar(block, name: str):
    found = block.value.first(name)
    return found.value if found is not None else None


SHAPE_RULES = {
    "ImageData": _image_data,
    "ImageSegData": _image_seg_data,
    "DenseImageData": _dense_image_data,
    "AnnotatedData": _annotated_data,
}
