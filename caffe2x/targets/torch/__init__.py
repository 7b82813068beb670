"""The PyTorch target: readable model.py, state dict, torch.export program."""

from . import activation, affine, conv, eltwise, normalization, pooling, reduction, runner, tensor  # noqa: F401
from .base import TORCH_EMITTERS, TorchLayer
from .codegen import TorchModel, generate
from .export import instantiate, write_folder

__all__ = ["TORCH_EMITTERS", "TorchLayer", "TorchModel", "generate", "instantiate", "write_folder"]
