"""Element-wise activations."""

from __future__ import annotations

import numpy as np

from ...layers.activation import ln_base
from .base import TORCH_EMITTERS, TorchLayer, num


@TORCH_EMITTERS.register("ReLU")
def relu(node, ctx):
    slope = node.params.negative_slope
    # In place when Caffe's layer is (and nothing reads its input later): no new
    # activation-sized tensor per ReLU, which matters at large batches.
    inplace = "inplace=True" if ctx.may_overwrite_input(node) else ""
    if slope == 0:
        return TorchLayer(f"nn.ReLU({inplace})")
    return TorchLayer(f"nn.LeakyReLU({num(slope)}{', ' + inplace if inplace else ''})")


@TORCH_EMITTERS.register("PReLU")
def prelu(node, ctx):
    slope = np.asarray(node.weights[0]).reshape(-1)
    return TorchLayer(f"nn.PReLU({slope.size})", {"weight": slope})


@TORCH_EMITTERS.register("ELU")
def elu(node, ctx):
    return TorchLayer(f"nn.ELU({num(node.params.alpha)})")


@TORCH_EMITTERS.register("Power")
def power(node, ctx):
    p = node.params
    return TorchLayer(f"Power({num(p.power)}, {num(p.scale)}, {num(p.shift)})", helpers=("Power",))


@TORCH_EMITTERS.register("Exp")
def exp(node, ctx):
    p = node.params
    return TorchLayer(f"Exp({ln_base(p.base)!r}, {num(p.scale)}, {num(p.shift)})", helpers=("Exp",))


@TORCH_EMITTERS.register("Log")
def log(node, ctx):
    p = node.params
    return TorchLayer(f"Log({ln_base(p.base)!r}, {num(p.scale)}, {num(p.shift)})", helpers=("Log",))


@TORCH_EMITTERS.register("Threshold")
def threshold(node, ctx):
    return TorchLayer(f"Threshold({num(node.params.threshold)})", helpers=("Threshold",))


@TORCH_EMITTERS.register("Dropout")
def dropout(node, ctx):
    return TorchLayer(f"nn.Dropout({num(node.params.ratio)})")


_FIXED = {"Sigmoid": "nn.Sigmoid()", "TanH": "nn.Tanh()", "BNLL": "nn.Softplus()"}
for _type, _source in _FIXED.items():
    TORCH_EMITTERS.register(_type, lambda node, ctx, _source=_source: TorchLayer(_source))
TORCH_EMITTERS.register("AbsVal", lambda node, ctx: TorchLayer("AbsVal()", helpers=("AbsVal",)))
