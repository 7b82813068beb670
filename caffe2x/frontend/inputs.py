"""Shapes of the net inputs: Input layers, legacy inputs, and data layers of
train_val nets, with the user's --input-shape overrides."""

from __future__ import annotations

import re

from ..errors import InputShapeError
from ..layers import DATA_TYPES
from .data_layers import data_layer_shapes

Shape = tuple[int, ...]


DYNAMIC_DIM = "?"


def parse_input_shape(text: str) -> tuple[str, Shape]:
    """'data=1,3,224,224' -> ('data', (1, 3, 224, 224)); 'data=1,3,?,?' -> ('data', (1, 3, None,
    None)): a dynamic height and width, Caffe's shapes taken at the declared (nominal) size."""
    name, sep, dims = text.rpartition("=")
    parts = [p.strip() for p in re.split(r"[,x]", dims.strip())]  # 1,3,224,224 or 1x3x224x224
    ok = all(p.isdigit() or p == DYNAMIC_DIM for p in parts)
    shape = tuple(None if p == DYNAMIC_DIM else int(p) for p in parts) if ok else ()
    if not sep or not name or not shape or min((d for d in shape if d is not None), default=1) <= 0:
        raise InputShapeError(
            f"--input-shape '{text}' is not NAME=D0,D1,... with positive integer dims, or ? for a dynamic "
            "height and width (for example data=1,3,224,224 or data=1,3,?,?)."
        )
    if any(d is None for d in shape[:2]) or (None in shape and len(shape) != 4):
        raise InputShapeError(
            f"--input-shape '{text}': only the height and width (the last two dims of an N,C,H,W input) may be "
            "'?'; the batch is dynamic already (--batch) and the channels are fixed by the weights."
        )
    return name, shape


def open_axes(overrides: dict) -> dict[str, tuple[int, ...]]:
    """Input name -> the axes given as '?' in its --input-shape."""
    return {name: tuple(axis for axis, d in enumerate(shape) if d is None)
            for name, shape in overrides.items() if any(d is None for d in shape)}


def _nominal(top: str, override, declared) -> Shape:
    """An --input-shape with '?' dims takes the declared dims there: the nominal size."""
    if override is None or None not in override:
        return override if override is not None else declared
    if declared is None or len(declared) != len(override):
        raise InputShapeError(
            f"input '{top}' declares no {len(override)}-D shape to take the nominal height and width of '?' "
            f"from: give the size with --input-shape {top}=N,C,H,W and add --dynamic-hw."
        )
    return tuple(d if d is not None else n for d, n in zip(override, declared))


def declared_shapes(layer) -> list[Shape | None]:
    """The shape each top of an input or data layer declares, None where it declares none."""
    n = len(layer.top)
    if layer.type == "Input":
        shapes = [tuple(int(d) for d in s.dim) for s in layer.input_param.shape]
    elif layer.type == "DummyData":
        shapes = _dummy_shapes(layer.dummy_data_param)
    elif layer.type == "MemoryData":
        p = layer.memory_data_param
        shapes = [(p.batch_size, p.channels, p.height, p.width)]
        shapes = [shapes[0], (p.batch_size,)][:n] if n == 2 else shapes
    else:
        shapes = data_layer_shapes(layer)
    if len(shapes) == 1 and n > 1 and layer.type != "MemoryData":
        shapes = shapes * n
    shapes = [s if s else None for s in shapes]  # bad dims are reported by the shape checks
    return (shapes + [None] * n)[:n]


def _dummy_shapes(p) -> list[Shape]:
    if p.shape:
        return [tuple(int(d) for d in s.dim) for s in p.shape]
    legacy = zip(p.num, p.channels, p.height, p.width)
    return [tuple(int(d) for d in dims) for dims in legacy]


def is_input_layer(layer) -> bool:
    """Input and data layers; also a Python layer without bottoms, which is how FCN's and
    py-faster-rcnn's nets feed data (its tops become net inputs; shapes from --input-shape)."""
    return layer.type == "Input" or layer.type in DATA_TYPES or (layer.type == "Python" and not layer.bottom)


def check_input_names(names, input_tops: list[str], source: str = "--input-shape") -> None:
    """Refuse names that are no net input; `source` says where they came from
    (--input-shape, or the file given to --inputs)."""
    unknown = sorted(set(names) - set(input_tops))
    if unknown:
        raise InputShapeError(
            f"{source} names {', '.join(repr(n) for n in unknown)}, which "
            f"{'is not a net input' if len(unknown) == 1 else 'are not net inputs'}; "
            f"the inputs are: {', '.join(repr(t) for t in input_tops) or 'none'}."
        )


def resolve_input_shapes(
    input_layers: list, used_tops: set[str], overrides: dict[str, Shape]
) -> dict[str, Shape]:
    """Shape of every used input top; one error lists every input still lacking one."""
    check_input_names(overrides, [top for layer in input_layers for top in layer.top])
    shapes: dict[str, Shape] = {}
    lacking = []
    for layer in input_layers:
        for top, declared in zip(layer.top, declared_shapes(layer)):
            if layer.type != "Input" and top not in used_tops and top not in overrides:
                continue
            shape = _nominal(top, overrides.get(top), declared)
            if shape is None:
                lacking.append(f"'{top}' (from {layer.type} layer '{layer.name}')")
            else:
                shapes[top] = tuple(shape)
    if lacking:
        raise InputShapeError(
            f"no shape for input {', '.join(lacking)}: give it with --input-shape NAME=N,C,H,W "
            "(library: input_shapes={'NAME': (N, C, H, W)})."
        )
    return shapes
