"""What a PyTorch emitter returns, and source formatting helpers."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...registry import Registry
from ..common import float_literal, pair_literal


@dataclass
class TorchLayer:
    """One Caffe layer as a module attribute of the generated nn.Module.

    module: constructor source, e.g. "nn.Conv2d(3, 64, 7, stride=2, padding=3)"
    state:  its parameters and buffers by name (numpy), as its state_dict keys
    helpers: classes of runtime.py the source needs (model.py gets a copy of them)
    call:   how forward calls it; {self} is the attribute, {0}, {1}, ... the inputs,
            {args} all inputs comma-separated
    """

    module: str
    state: dict[str, np.ndarray] = field(default_factory=dict)
    helpers: tuple[str, ...] = ()
    call: str = "{self}({args})"


TORCH_EMITTERS: Registry = Registry("PyTorch")


num = float_literal
hw = pair_literal


def kwargs(**items) -> str:
    return ", ".join(f"{k}={v}" for k, v in items.items() if v is not None)
