"""The nn.Module classes a generated model.py may need, for Caffe layers PyTorch
has no module for. The generator copies the source of those a net uses into
model.py, with the plain-Python Caffe rules of caffe2x.layers they use, so
model.py imports nothing but torch: keep these classes free of any other import.
"""

import torch
import torch.nn.functional as F
from torch import nn

from ...layers.eltwise import apply_eltwise
from ...layers.normalization import LRN_WITHIN_CHANNEL_SHIFT, apply_mvn, lrn_half_window, mvn_first_axis
from ...layers.pooling import LOWEST_FLOAT32, NO_MASK, ave_pool_window_sizes, mask_index, pool_tail_pad
from ...layers.reduction import apply_reduction


class Scale(nn.Module):
    """Caffe Scale: x * weight (+ bias), the operand spanning `shape` from its axis."""

    def __init__(self, shape, trailing, bias):
        super().__init__()
        self.view = tuple(shape) + (1,) * trailing
        self.weight = nn.Parameter(torch.ones(shape))
        self.bias = nn.Parameter(torch.zeros(shape)) if bias else None

    def forward(self, x):
        y = x * self.weight.view(self.view)
        return y if self.bias is None else y + self.bias.view(self.view)


class ScaleBy(nn.Module):
    """Caffe Scale with two bottoms: x * s (+ bias), s aligned with x from its axis."""

    def __init__(self, trailing, bias_shape=None):
        super().__init__()
        self.trailing = trailing
        self.bias = nn.Parameter(torch.zeros(bias_shape)) if bias_shape is not None else None

    def forward(self, x, s):
        view = tuple(s.shape) + (1,) * self.trailing
        y = x * s.reshape(view)
        return y if self.bias is None else y + self.bias.reshape(view)


class Bias(nn.Module):
    """Caffe Bias: x + bias, the operand spanning `shape` from its axis."""

    def __init__(self, shape, trailing):
        super().__init__()
        self.view = tuple(shape) + (1,) * trailing
        self.bias = nn.Parameter(torch.zeros(shape))

    def forward(self, x):
        return x + self.bias.view(self.view)


class BiasBy(nn.Module):
    """Caffe Bias with two bottoms: x + b, b aligned with x from its axis."""

    def __init__(self, trailing):
        super().__init__()
        self.trailing = trailing

    def forward(self, x, b):
        return x + b.reshape(tuple(b.shape) + (1,) * self.trailing)


class Eltwise(nn.Module):
    """Caffe Eltwise: SUM (with coefficients), PROD or MAX of its inputs."""

    def __init__(self, operation, coeffs=None):
        super().__init__()
        self.operation = operation
        self.coeffs = coeffs

    def forward(self, *xs):
        return apply_eltwise(self.operation, xs, self.coeffs, torch.maximum)


class Concat(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.dim = dim

    def forward(self, *xs):
        return torch.cat(xs, self.dim)


class Slice(nn.Module):
    """Caffe Slice: split `dim` into pieces of the given sizes."""

    def __init__(self, dim, sizes):
        super().__init__()
        self.dim = dim
        self.sizes = sizes

    def forward(self, x):
        return tuple(torch.split(x, self.sizes, self.dim))


class Crop(nn.Module):
    """Caffe Crop: from axis `axis` on, take `sizes` elements starting at `offsets`; sizes None:
    as many as `like` has there (dynamic height and width)."""

    def __init__(self, axis, offsets, sizes):
        super().__init__()
        self.axis = axis
        self.offsets = offsets
        self.sizes = sizes

    def forward(self, x, like=None):
        sizes = self.sizes if self.sizes is not None else like.shape[self.axis:]
        for i, (offset, size) in enumerate(zip(self.offsets, sizes)):
            x = x.narrow(self.axis + i, offset, size)
        return x


class Reshape(nn.Module):
    """Caffe Reshape/Flatten with a dynamic batch: `shape` is the static target;
    its first entry becomes the batch (keep_batch) or -1 goes at `free`."""

    def __init__(self, shape, keep_batch, free=None):
        super().__init__()
        self.shape = list(shape)
        self.keep_batch = keep_batch
        self.free = free

    def forward(self, x):
        shape = list(self.shape)
        if self.keep_batch:
            shape[0] = x.shape[0]
        elif self.free is not None:
            shape[self.free] = -1
        return x.reshape(shape)


class Tile(nn.Module):
    def __init__(self, repeats):
        super().__init__()
        self.repeats = repeats

    def forward(self, x):
        return x.repeat(self.repeats)


class AbsVal(nn.Module):
    def forward(self, x):
        return torch.abs(x)


class Power(nn.Module):
    """Caffe Power: (shift + scale * x) ** power."""

    def __init__(self, power, scale, shift):
        super().__init__()
        self.power, self.scale, self.shift = power, scale, shift

    def forward(self, x):
        return torch.pow(self.shift + self.scale * x, self.power)


class Exp(nn.Module):
    """Caffe Exp: base ** (shift + scale * x), with ln_base = ln(base)."""

    def __init__(self, ln_base, scale, shift):
        super().__init__()
        self.ln_base, self.scale, self.shift = ln_base, scale, shift

    def forward(self, x):
        return torch.exp(self.ln_base * (self.shift + self.scale * x))


class Log(nn.Module):
    """Caffe Log: log_base(shift + scale * x), with ln_base = ln(base)."""

    def __init__(self, ln_base, scale, shift):
        super().__init__()
        self.ln_base, self.scale, self.shift = ln_base, scale, shift

    def forward(self, x):
        return torch.log(self.shift + self.scale * x) / self.ln_base


class Threshold(nn.Module):
    """Caffe Threshold: 1 where x > threshold, else 0."""

    def __init__(self, threshold):
        super().__init__()
        self.threshold = threshold

    def forward(self, x):
        return (x > self.threshold).to(x.dtype)


class LRNWithinChannel(nn.Module):
    """Caffe LRN WITHIN_CHANNEL: x * (1 + alpha * mean of x^2 over size x size) ** -beta."""

    def __init__(self, size, alpha, beta):
        super().__init__()
        self.size, self.alpha, self.beta = size, alpha, beta

    def forward(self, x):
        mean = F.avg_pool2d(x * x, self.size, 1, lrn_half_window(self.size), count_include_pad=True)
        return x * torch.pow(LRN_WITHIN_CHANNEL_SHIFT + self.alpha * mean, -self.beta)


class CaffePool(nn.Module):
    """Caffe pooling where PyTorch's own cannot express it (pad over half the
    kernel): explicit padding, then AVE divided by Caffe's window divisor."""

    def __init__(self, method, kernel, stride, pad, in_hw, out_hw):
        super().__init__()
        self.method, self.kernel, self.stride = method, kernel, stride
        axes = list(zip(in_hw, out_hw, kernel, stride, pad))
        tails = [max(0, pool_tail_pad(*axis)) for axis in axes]
        self.pads = (pad[1], tails[1], pad[0], tails[0])
        # On the CPU even under `with torch.device("meta")`: a non-persistent
        # buffer is not in the state dict, so loading could not fill it in.
        sizes = [torch.tensor(ave_pool_window_sizes(*axis), dtype=torch.float32, device="cpu") for axis in axes]
        self.register_buffer("divisor", torch.outer(sizes[0], sizes[1]), persistent=False)

    def forward(self, x):
        fill = LOWEST_FLOAT32 if self.method == "MAX" else 0.0
        x = F.pad(x, self.pads, value=fill)
        if self.method == "MAX":
            return F.max_pool2d(x, self.kernel, self.stride)
        summed = F.avg_pool2d(x, self.kernel, self.stride) * (self.kernel[0] * self.kernel[1])
        return summed / self.divisor


class CaffeMaxPoolMask(nn.Module):
    """MAX pooling and Caffe's argmax mask (h * W + w in the input plane, as float; -1 where
    no cell beat LOWEST_FLOAT32): max_pool2d's indices (the first of equal maxima) over the
    input padded with LOWEST_FLOAT32, moved from the padded plane to the input's."""

    def __init__(self, kernel, stride, pads, width):
        super().__init__()
        self.kernel, self.stride, self.pads, self.width = tuple(kernel), tuple(stride), pads, width

    def forward(self, x):
        (top, bottom), (left, right) = self.pads
        x = F.pad(x, (left, right, top, bottom), value=LOWEST_FLOAT32)
        pooled, flat = F.max_pool2d(x, self.kernel, self.stride, return_indices=True)
        index = mask_index(flat // x.shape[3], flat % x.shape[3], self.pads, self.width).to(x.dtype)
        return pooled, torch.where(pooled > LOWEST_FLOAT32, index, torch.full_like(index, NO_MASK))


class ArgMax(nn.Module):
    """Caffe ArgMax: top_k indices (as float) or values along `axis`; ties go to
    the larger index, as in Caffe. axis None: over each item, (N, 1 or 2, top_k)."""

    def __init__(self, top_k, out_max_val, axis, out_shape=None):
        super().__init__()
        self.top_k, self.out_max_val, self.axis, self.out_shape = top_k, out_max_val, axis, out_shape

    def forward(self, x):
        axis = 1 if self.axis is None else self.axis
        if self.axis is None:
            x = x.flatten(1)
        flipped = torch.flip(x, (axis,))
        values, order = torch.sort(flipped, dim=axis, descending=True, stable=True)
        values = values.narrow(axis, 0, self.top_k)
        indices = (x.shape[axis] - 1 - order.narrow(axis, 0, self.top_k)).to(x.dtype)
        if self.axis is not None:
            return values if self.out_max_val else indices
        y = torch.stack([indices, values], 1) if self.out_max_val else indices.unsqueeze(1)
        return y.reshape([x.shape[0]] + list(self.out_shape[1:]))


class Reduction(nn.Module):
    """Caffe Reduction over every axis from `axis` on: SUM, ASUM, SUMSQ or MEAN, times coeff."""

    def __init__(self, operation, axis, coeff):
        super().__init__()
        self.operation, self.axis, self.coeff = operation, axis, coeff

    def forward(self, x):
        dims = tuple(range(self.axis, x.dim()))
        return apply_reduction(self.operation, x, self.coeff, lambda t: t.sum(dims), lambda t: t.mean(dims))


class MVN(nn.Module):
    """Caffe MVN: subtract the mean (and divide by std + eps) per item and channel,
    or per item across channels."""

    def __init__(self, normalize_variance, across_channels, eps):
        super().__init__()
        self.normalize_variance, self.across_channels, self.eps = normalize_variance, across_channels, eps

    def forward(self, x):
        dims = tuple(range(mvn_first_axis(self.across_channels), x.dim()))
        return apply_mvn(x, self.normalize_variance, self.eps, lambda t: t.mean(dims, keepdim=True), torch.sqrt)
