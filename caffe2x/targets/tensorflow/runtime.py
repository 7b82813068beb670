"""The Keras layers a generated model.py may need, for Caffe layers Keras has no
layer for, each registered for serialization under "caffe2x" (so a saved
model.keras loads once model.py, or this module, is imported). The generator
copies the source of those a net uses into model.py, with the plain-Python
Caffe rules of caffe2x.layers they use, so model.py imports nothing but numpy,
tensorflow and keras: keep these classes free of any other import.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from ...layers.eltwise import apply_eltwise
from ...layers.normalization import LRN_WITHIN_CHANNEL_SHIFT, apply_mvn, lrn_half_window
from ...layers.pooling import LOWEST_FLOAT32, NO_MASK, ave_pool_window_sizes, mask_index
from ...layers.reduction import apply_reduction


@keras.saving.register_keras_serializable(package="caffe2x")
class CaffePooling2D(layers.Layer):
    """Caffe pooling, NHWC: explicit padding (MAX pads with the lowest float, so
    padding never wins), VALID pooling, and for AVE Caffe's divisor, which counts
    the pad but not the ceil-mode overhang past it."""

    def __init__(self, method, kernel, strides, pads, in_hw, out_hw, **kwargs):
        super().__init__(**kwargs)
        self.method, self.kernel, self.strides = method, tuple(kernel), tuple(strides)
        self.pads, self.in_hw, self.out_hw = [tuple(p) for p in pads], tuple(in_hw), tuple(out_hw)
        sizes = [np.array(ave_pool_window_sizes(size, out, k, s, pad), "float32")
                 for size, out, k, s, (pad, _) in zip(self.in_hw, self.out_hw, self.kernel, self.strides, self.pads)]
        area = float(self.kernel[0] * self.kernel[1])
        self.correction = (area / np.outer(sizes[0], sizes[1]))[None, :, :, None].astype("float32")

    def call(self, x):
        fill = LOWEST_FLOAT32 if self.method == "MAX" else 0.0
        x = tf.pad(x, [[0, 0], list(self.pads[0]), list(self.pads[1]), [0, 0]], constant_values=fill)
        if self.method == "MAX":
            return tf.nn.max_pool2d(x, self.kernel, self.strides, "VALID")
        return tf.nn.avg_pool2d(x, self.kernel, self.strides, "VALID") * self.correction

    def get_config(self):
        return {**super().get_config(), "method": self.method, "kernel": self.kernel, "strides": self.strides,
                "pads": self.pads, "in_hw": self.in_hw, "out_hw": self.out_hw}


@keras.saving.register_keras_serializable(package="caffe2x")
class CaffeDynamicPooling2D(layers.Layer):
    """Caffe pooling, NHWC, of a map whose height and width are known only at run time
    (--dynamic-hw): Caffe's output size (caffe2x.layers.pooling.pooled_size: ceil rounding,
    the last window starting inside the padded input), the tail pad that yields it and, for
    AVE, Caffe's divisor (the window clipped to the padded input) computed from tf.shape;
    then the explicit pad and VALID pooling of CaffePooling2D, in TFLite builtin ops."""

    def __init__(self, method, kernel, strides, pad, ceil_mode, **kwargs):
        super().__init__(**kwargs)
        self.method, self.kernel, self.strides = method, tuple(kernel), tuple(strides)
        self.pad, self.ceil_mode = tuple(pad), bool(ceil_mode)

    def call(self, x):
        pooled = self._pool(x)
        # A dynamic pad loses every static dim; the channels must stay known (TFLite's Conv2D needs them).
        return tf.reshape(pooled, tf.concat([tf.shape(pooled)[:3], [x.shape[-1]]], 0))

    def _pool(self, x):
        size = tf.shape(x)[1:3]
        kernel, stride, pad = (tf.constant(v, tf.int32) for v in (self.kernel, self.strides, self.pad))
        span = size + 2 * pad - kernel + (stride - 1 if self.ceil_mode else 0)
        last = span // stride  # the last window's index: out - 1
        if any(self.pad):
            outside = tf.cast(last * stride >= size + pad, tf.int32) * tf.cast(pad > 0, tf.int32)
            last = last - outside
        tail = tf.maximum(last * stride + kernel - pad - size, 0)
        fill = LOWEST_FLOAT32 if self.method == "MAX" else 0.0
        x = tf.pad(x, self._paddings(pad, tail), constant_values=fill)
        if self.method == "MAX":
            return tf.nn.max_pool2d(x, self.kernel, self.strides, "VALID")
        counted = size + pad + tf.minimum(tail, pad)  # the input and its pad count; the overhang does not
        ones = tf.ones(tf.concat([[1], counted, [1]], 0), x.dtype)
        share = tf.nn.avg_pool2d(tf.pad(ones, self._paddings(tf.zeros_like(pad), tf.maximum(tail - pad, 0))),
                                 self.kernel, self.strides, "VALID")
        return tf.nn.avg_pool2d(x, self.kernel, self.strides, "VALID") / share

    @staticmethod
    def _paddings(head, tail):
        zero = tf.zeros([2], tf.int32)
        return tf.stack([zero, tf.stack([head[0], tail[0]]), tf.stack([head[1], tail[1]]), zero])

    def get_config(self):
        return {**super().get_config(), "method": self.method, "kernel": self.kernel, "strides": self.strides,
                "pad": self.pad, "ceil_mode": self.ceil_mode}


@keras.saving.register_keras_serializable(package="caffe2x")
class CaffeMaxPoolMask(layers.Layer):
    """MAX pooling and Caffe's argmax mask, NHWC, in TFLite builtins only: the input padded
    with LOWEST_FLOAT32 (never a winner: Caffe clips its windows to the input), the windows'
    cells as strided slices stacked in row-major order, their max and argmax (the first of
    equal maxima, as Caffe's strict `>`), the cell's h * W + w in the input plane (as float),
    -1 where no cell beat LOWEST_FLOAT32."""

    def __init__(self, kernel, strides, pads, in_hw, **kwargs):
        super().__init__(**kwargs)
        self.kernel, self.strides = tuple(kernel), tuple(strides)
        self.pads, self.in_hw = [tuple(p) for p in pads], tuple(in_hw)
        self.out_hw = tuple((size + sum(pad) - k) // s + 1
                            for size, pad, k, s in zip(self.in_hw, self.pads, self.kernel, self.strides))
        width = self.in_hw[1]
        self.offsets = np.array([i * width + j for i in range(self.kernel[0]) for j in range(self.kernel[1])],
                                "int32")
        rows = np.arange(self.out_hw[0])[:, None] * self.strides[0]
        cols = np.arange(self.out_hw[1])[None, :] * self.strides[1]
        self.base = mask_index(rows, cols, self.pads, width)[:, :, None].astype("int32")

    def call(self, x):
        x = tf.pad(x, [[0, 0], list(self.pads[0]), list(self.pads[1]), [0, 0]], constant_values=LOWEST_FLOAT32)
        (kh, kw), (sh, sw), (oh, ow) = self.kernel, self.strides, self.out_hw
        cells = tf.stack([x[:, i: i + sh * (oh - 1) + 1: sh, j: j + sw * (ow - 1) + 1: sw, :]
                          for i in range(kh) for j in range(kw)], axis=-1)
        pooled = tf.reduce_max(cells, axis=-1)
        index = tf.gather(self.offsets, tf.argmax(cells, axis=-1, output_type=tf.int32)) + self.base
        mask = tf.where(pooled > LOWEST_FLOAT32, tf.cast(index, x.dtype), NO_MASK)
        return pooled, mask

    def compute_output_shape(self, input_shape):
        shape = (input_shape[0], *self.out_hw, input_shape[3])
        return shape, shape

    def get_config(self):
        return {**super().get_config(), "kernel": self.kernel, "strides": self.strides, "pads": self.pads,
                "in_hw": self.in_hw}


@keras.saving.register_keras_serializable(package="caffe2x")
class CaffeConv2D(layers.Layer):
    """A convolution Keras' Conv2D refuses: dilation together with stride."""

    def __init__(self, filters, kernel, strides, dilation, groups, use_bias, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel, self.strides = filters, tuple(kernel), tuple(strides)
        self.dilation, self.groups, self.use_bias = tuple(dilation), groups, use_bias

    def build(self, input_shape):
        shape = (*self.kernel, input_shape[-1] // self.groups, self.filters)
        self.kernel_weight = self.add_weight(name="kernel", shape=shape)
        self.bias = self.add_weight(name="bias", shape=(self.filters,)) if self.use_bias else None

    def call(self, x):
        y = tf.nn.conv2d(x, self.kernel_weight, self.strides, "VALID", dilations=self.dilation)
        return y if self.bias is None else y + self.bias

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel": self.kernel, "strides": self.strides,
                "dilation": self.dilation, "groups": self.groups, "use_bias": self.use_bias}


@keras.saving.register_keras_serializable(package="caffe2x")
class CaffeDeconv2D(layers.Layer):
    """Caffe Deconvolution with groups (and dilation with stride), NHWC: one
    transposed convolution per group, then Caffe's pad cropped away."""

    def __init__(self, filters, kernel, strides, dilation, groups, crop, use_bias, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel, self.strides = filters, tuple(kernel), tuple(strides)
        self.dilation, self.groups, self.crop, self.use_bias = tuple(dilation), groups, tuple(crop), use_bias

    def build(self, input_shape):
        shape = (*self.kernel, self.filters // self.groups, input_shape[-1])
        self.kernel_weight = self.add_weight(name="kernel", shape=shape)
        self.bias = self.add_weight(name="bias", shape=(self.filters,)) if self.use_bias else None

    def _dilated(self, kernel):
        """Zeros between the kernel taps: a dilated kernel TFLite's TRANSPOSE_CONV can run."""
        for axis, rate in ((0, self.dilation[0]), (1, self.dilation[1])):
            if rate > 1:
                size = kernel.shape[axis]
                spread = tf.concat([tf.expand_dims(kernel, axis + 1)] +
                                   [tf.zeros_like(tf.expand_dims(kernel, axis + 1))] * (rate - 1), axis + 1)
                shape = [*kernel.shape[:axis], size * rate, *kernel.shape[axis + 1:]]
                kernel = tf.reshape(spread, shape)[:(size - 1) * rate + 1] if axis == 0 else \
                    tf.reshape(spread, shape)[:, :(size - 1) * rate + 1]
        return kernel

    def call(self, x):
        # Static sizes where Keras knows them; a dynamic height or width (--dynamic-hw) at run time.
        height, width = (x.shape[a] if x.shape[a] is not None else tf.shape(x)[a] for a in (1, 2))
        full = [(i - 1) * s + d * (k - 1) + 1 for i, s, d, k in
                zip((height, width), self.strides, self.dilation, self.kernel)]
        out_shape = tf.stack([tf.shape(x)[0], full[0], full[1], self.filters // self.groups])
        kernels = tf.split(self._dilated(self.kernel_weight), self.groups, axis=-1)
        pieces = []
        for part, kernel in zip(tf.split(x, self.groups, axis=-1), kernels):
            pieces.append(tf.nn.conv2d_transpose(part, kernel, out_shape, self.strides, "VALID"))
        y = tf.concat(pieces, -1) if self.groups > 1 else pieces[0]
        (ph, pw) = self.crop
        y = y[:, ph:full[0] - ph, pw:full[1] - pw, :]
        return y if self.bias is None else y + self.bias

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel": self.kernel, "strides": self.strides,
                "dilation": self.dilation, "groups": self.groups, "crop": self.crop, "use_bias": self.use_bias}


@keras.saving.register_keras_serializable(package="caffe2x")
class LRN(layers.Layer):
    """Caffe LRN, ACROSS_CHANNELS (NHWC): x / (k + alpha/size * sum over size channels of x^2)^beta."""

    def __init__(self, size, alpha, beta, k, **kwargs):
        super().__init__(**kwargs)
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def call(self, x):
        return tf.nn.local_response_normalization(x, lrn_half_window(self.size), self.k, self.alpha / self.size,
                                                  self.beta)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "alpha": self.alpha, "beta": self.beta, "k": self.k}


@keras.saving.register_keras_serializable(package="caffe2x")
class LRNWithinChannel(layers.Layer):
    """Caffe LRN, WITHIN_CHANNEL (NHWC): x * (1 + alpha * mean of x^2 over size x size)^-beta."""

    def __init__(self, size, alpha, beta, **kwargs):
        super().__init__(**kwargs)
        self.size, self.alpha, self.beta = size, alpha, beta

    def call(self, x):
        half = lrn_half_window(self.size)
        squares = tf.pad(x * x, [[0, 0], [half, half], [half, half], [0, 0]])
        mean = tf.nn.avg_pool2d(squares, self.size, 1, "VALID")
        return x * tf.pow(LRN_WITHIN_CHANNEL_SHIFT + self.alpha * mean, -self.beta)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "alpha": self.alpha, "beta": self.beta}


@keras.saving.register_keras_serializable(package="caffe2x")
class Scale(layers.Layer):
    """Caffe Scale/Bias with learned operands of a broadcastable `shape`."""

    def __init__(self, shape, use_scale=True, use_bias=False, **kwargs):
        super().__init__(**kwargs)
        self.shape, self.use_scale, self.use_bias = tuple(shape), use_scale, use_bias

    def build(self, input_shape):
        self.scale = self.add_weight(name="scale", shape=self.shape, initializer="ones") if self.use_scale else None
        self.bias = self.add_weight(name="bias", shape=self.shape, initializer="zeros") if self.use_bias else None

    def call(self, x):
        y = x * self.scale if self.scale is not None else x
        return y + self.bias if self.bias is not None else y

    def get_config(self):
        return {**super().get_config(), "shape": self.shape, "use_scale": self.use_scale, "use_bias": self.use_bias}


@keras.saving.register_keras_serializable(package="caffe2x")
class ScaleBy(layers.Layer):
    """Caffe Scale/Bias by a second input: the operand gets `trailing` unit axes
    (and is moved to NHWC when the first input is NHWC and it became 4-D)."""

    def __init__(self, trailing, to_nhwc, multiply=True, bias_shape=None, **kwargs):
        super().__init__(**kwargs)
        self.trailing, self.to_nhwc, self.multiply = trailing, to_nhwc, multiply
        self.bias_shape = None if bias_shape is None else tuple(bias_shape)

    def build(self, input_shape):
        shape = self.bias_shape
        self.bias = None if shape is None else self.add_weight(name="bias", shape=shape, initializer="zeros")

    def _shape(self, t, rank):
        # Unit axes before (an operand spanning C, H, W has none for N) and after it, so that
        # it has x's rank: the NHWC transpose needs all four axes.
        leading = rank - len(t.shape) - self.trailing
        ones = [tf.ones([leading], tf.int32), tf.shape(t), tf.ones([self.trailing], tf.int32)]
        t = tf.reshape(t, tf.concat(ones, 0))
        return tf.transpose(t, (0, 2, 3, 1)) if self.to_nhwc else t

    def call(self, x, operand):
        rank = len(x.shape)
        y = x * self._shape(operand, rank) if self.multiply else x + self._shape(operand, rank)
        return y if self.bias is None else y + self._shape(self.bias, rank)

    def get_config(self):
        return {**super().get_config(), "trailing": self.trailing, "to_nhwc": self.to_nhwc,
                "multiply": self.multiply, "bias_shape": self.bias_shape}


@keras.saving.register_keras_serializable(package="caffe2x")
class WeightedSum(layers.Layer):
    """Caffe Eltwise SUM with coefficients."""

    def __init__(self, coeffs, **kwargs):
        super().__init__(**kwargs)
        self.coeffs = list(coeffs)

    def call(self, inputs):
        return apply_eltwise("SUM", inputs, self.coeffs, tf.maximum)

    def get_config(self):
        return {**super().get_config(), "coeffs": self.coeffs}


@keras.saving.register_keras_serializable(package="caffe2x")
class Split(layers.Layer):
    """Caffe Slice: pieces of the given sizes along `axis`."""

    def __init__(self, axis, sizes, **kwargs):
        super().__init__(**kwargs)
        self.axis, self.sizes = axis, list(sizes)

    def call(self, x):
        return tf.split(x, self.sizes, axis=self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "sizes": self.sizes}


@keras.saving.register_keras_serializable(package="caffe2x")
class Crop(layers.Layer):
    """Caffe Crop: static begin and size per axis (the batch axis kept whole); where like_axes
    names an axis of `like`, the size there is like's at run time (dynamic height and width)."""

    def __init__(self, begin, size, like_axes=None, **kwargs):
        super().__init__(**kwargs)
        self.begin, self.size = list(begin), list(size)
        self.like_axes = None if like_axes is None else list(like_axes)

    def call(self, x, like=None):
        if self.like_axes is None:
            return tf.slice(x, [0, *self.begin], [-1, *self.size])
        shape = tf.shape(like)
        size = [size if axis is None else shape[axis] for size, axis in zip(self.size, self.like_axes)]
        return tf.slice(x, [0, *self.begin], tf.stack([-1, *size]))

    def get_config(self):
        return {**super().get_config(), "begin": self.begin, "size": self.size, "like_axes": self.like_axes}


@keras.saving.register_keras_serializable(package="caffe2x")
class Reshape(layers.Layer):
    """Reshape that may merge the batch axis (a -1 at `free` absorbs it)."""

    def __init__(self, shape, **kwargs):
        super().__init__(**kwargs)
        self.shape = list(shape)

    def call(self, x):
        return tf.reshape(x, self.shape)

    def get_config(self):
        return {**super().get_config(), "shape": self.shape}


@keras.saving.register_keras_serializable(package="caffe2x")
class Tile(layers.Layer):
    def __init__(self, repeats, **kwargs):
        super().__init__(**kwargs)
        self.repeats = list(repeats)

    def call(self, x):
        return tf.tile(x, self.repeats)

    def get_config(self):
        return {**super().get_config(), "repeats": self.repeats}


@keras.saving.register_keras_serializable(package="caffe2x")
class ArgMax(layers.Layer):
    """Caffe ArgMax along `axis`: top_k indices (as float) or values; ties go to the
    larger index, as in Caffe (top_k on the reversed axis keeps its lowest index)."""

    def __init__(self, top_k, out_max_val, axis, flat_shape=None, **kwargs):
        super().__init__(**kwargs)
        self.top_k, self.out_max_val, self.axis = top_k, out_max_val, axis
        self.flat_shape = None if flat_shape is None else list(flat_shape)

    def call(self, x):
        if self.flat_shape is not None:  # no axis: over each item, in Caffe's order
            x = tf.reshape(x, [-1, int(np.prod(x.shape[1:]))])
        axis = self.axis if self.flat_shape is None else 1
        last = x.shape.rank - 1
        perm = list(range(x.shape.rank))
        perm[axis], perm[last] = perm[last], perm[axis]
        moved = tf.transpose(x, perm) if axis != last else x
        values, order = tf.math.top_k(tf.reverse(moved, [-1]), self.top_k)
        indices = tf.cast(moved.shape[-1] - 1 - order, x.dtype)
        if self.flat_shape is not None:
            y = tf.stack([indices, values], 1) if self.out_max_val else indices[:, None]
            return tf.reshape(y, [-1, *self.flat_shape[1:]])
        y = values if self.out_max_val else indices
        return tf.transpose(y, perm) if axis != last else y

    def get_config(self):
        return {**super().get_config(), "top_k": self.top_k, "out_max_val": self.out_max_val, "axis": self.axis,
                "flat_shape": self.flat_shape}


@keras.saving.register_keras_serializable(package="caffe2x")
class Reduction(layers.Layer):
    """Caffe Reduction over `axes`: SUM, ASUM, SUMSQ or MEAN, times coeff."""

    def __init__(self, operation, axes, coeff, **kwargs):
        super().__init__(**kwargs)
        self.operation, self.axes, self.coeff = operation, list(axes), coeff

    def call(self, x):
        return apply_reduction(self.operation, x, self.coeff, lambda t: tf.reduce_sum(t, self.axes),
                         lambda t: tf.reduce_mean(t, self.axes))

    def get_config(self):
        return {**super().get_config(), "operation": self.operation, "axes": self.axes, "coeff": self.coeff}


@keras.saving.register_keras_serializable(package="caffe2x")
class MVN(layers.Layer):
    """Caffe MVN over `axes`: x - mean, divided by (std + eps) if normalize_variance."""

    def __init__(self, normalize_variance, axes, eps, **kwargs):
        super().__init__(**kwargs)
        self.normalize_variance, self.axes, self.eps = normalize_variance, list(axes), eps

    def call(self, x):
        return apply_mvn(x, self.normalize_variance, self.eps, lambda t: tf.reduce_mean(t, self.axes, keepdims=True),
                   tf.sqrt)

    def get_config(self):
        return {**super().get_config(), "normalize_variance": self.normalize_variance, "axes": self.axes,
                "eps": self.eps}


@keras.saving.register_keras_serializable(package="caffe2x")
class Elementwise(layers.Layer):
    """Caffe Power, Exp, Log, Threshold and AbsVal:
    power: (shift + scale*x)^p; exp: e^(ln_base*(shift + scale*x)); log: ln(shift + scale*x)/ln_base;
    threshold: 1 where x > t else 0; abs: |x|."""

    def __init__(self, function, a=1.0, scale=1.0, shift=0.0, **kwargs):
        super().__init__(**kwargs)
        self.function, self.a, self.scale, self.shift = function, a, scale, shift

    def call(self, x):
        if self.function == "abs":
            return tf.abs(x)
        if self.function == "threshold":
            return tf.cast(x > self.a, x.dtype)
        base = self.shift + self.scale * x
        if self.function == "power":
            return tf.pow(base, self.a)
        if self.function == "exp":
            return tf.exp(self.a * base)
        return tf.math.log(base) / self.a

    def get_config(self):
        return {**super().get_config(), "function": self.function, "a": self.a, "scale": self.scale,
                "shift": self.shift}
