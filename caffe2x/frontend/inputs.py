"""Shapes of the net inputs: Input layers, legacy inputs, and data layers of
train_val nets, with the user's --input-shape overrides."""

from __future__ import annotations

import re

from ..errors import InputShapeError
from ..layers import DATA_TYPES
from .data_layers import data_layer_shapes

Shape = tuple[int, ...]


def parse_input_shape(text: str) -> tuple[str, Shape]:
    """'data=1,3,224,224' -> ('data', (1, 3, 224, 224))."""
    name, sep, dims = text.rpartition("=")
    parts = re.split(r"[,x]", dims.strip())  # 1,3,224,224 or 1x3x224x224
    shape = tuple(int(p) for p in parts) if all(p.strip().isdigit() for p in parts) else ()
    if not sep or not name or not shape or min(shape) <= 0:
        raise InputShapeError(
            f"--input-shape '{text}' is not NAME=D0,D1,... with positive integer dims "
            "(for example data=1,3,224,224)."
        )
    return name, shape


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
            shape = overrides.get(top, declared)
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
