"""LRN -> nn.LocalResponseNorm (Caffe's formula, k included); BatchNorm ->
nn.BatchNorm*d from Caffe's statistics (its Scale merged as gamma/beta); MVN."""

from __future__ import annotations

import numpy as np

from ...layers.normalization import batch_norm_statistics
from .base import TORCH_EMITTERS, TorchLayer, num


@TORCH_EMITTERS.register("LRN")
def lrn(node, ctx):
    p = node.params
    if p.across_channels:
        return TorchLayer(f"nn.LocalResponseNorm({p.local_size}, {num(p.alpha)}, {num(p.beta)}, {num(p.k)})")
    return TorchLayer(f"LRNWithinChannel({p.local_size}, {num(p.alpha)}, {num(p.beta)})",
                      helpers=("LRNWithinChannel",))


_BN_CLASS = {2: "BatchNorm1d", 3: "BatchNorm1d", 4: "BatchNorm2d", 5: "BatchNorm3d"}


@TORCH_EMITTERS.register("BatchNorm")
def batch_norm(node, ctx):
    p = node.params
    rank = len(ctx.shape(node.inputs[0]))
    if rank not in _BN_CLASS:
        raise ctx.unsupported(node, f"BatchNorm of a {rank}-D blob")
    mean, var = batch_norm_statistics(node.weights)
    options = [f"eps={num(p.eps)}", f"momentum={num(p.momentum)}"]
    if not p.affine:
        options.append("affine=False")
    state = {}
    if p.use_global_stats:
        state = {"running_mean": mean, "running_var": var,
                 "num_batches_tracked": np.array(0, np.int64)}
    else:
        options.append("track_running_stats=False")  # Caffe then normalizes by batch statistics
    if p.affine:
        state.update(weight=node.weights[3], bias=node.weights[4])
    return TorchLayer(f"nn.{_BN_CLASS[rank]}({mean.size}, {', '.join(options)})", state)


@TORCH_EMITTERS.register("MVN")
def mvn(node, ctx):
    p = node.params
    return TorchLayer(f"MVN({p.normalize_variance}, {p.across_channels}, {num(p.eps)})", helpers=("MVN",))
