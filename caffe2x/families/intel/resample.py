"""FlowNet2's Resample (lmb-freiburg/flownet2, commit b92e198b56b0e52e1ba0a5a98dc0e39fa5ae70cc,
src/caffe/layers/resample_layer.cpp for the shape, resample_layer.cu for the arithmetic: the fork
has no CPU forward, its Forward_cpu aborts). OpenVINO's Caffe front end and OpenCV read the type.
Source-derived: the fork is not built here.

    layer { name: "img0_down" type: "Resample" bottom: "img0" top: "img0_down"
            resample_param { width: 512 height: 384 type: LINEAR antialias: true } }

The top is N x C x height x width, or the second bottom's height and width when there is one.
Each output pixel (x, y) reads the input around
x_in = x * fx + fy / 2 - 0.5 and y_in = y * fy + fx / 2 - 0.5 (float), fx = in_w / out_w and
fy = in_h / out_h: the fork's kernels take the half-pixel shift of each axis from the OTHER
axis's factor, kept here as written. NEAREST copies the pixel at (round(x_in), round(y_in))
(round half away from zero). LINEAR (triangle filter) and CUBIC (a = -0.5) weigh the pixels
within r of (round(x_in), round(y_in)), r = 2 when upsampling that axis, else
ceil(kernel width / a), and divide by the sum of the weights (0 where it is 0); when either
axis shrinks and `antialias` is set (its default), both axes' filters are widened by their
factors (a = 1 / f), as the fork does.

Those weights are separable (the window is a rectangle, the weight a product), so the layer is
two constant matrices, out = R @ x @ C with R of out_h x in_h and C of in_w x out_w, built at
conversion time by `resample_matrices`, the one rule the reference kernel and every target use
(MatMul on ONNX, PyTorch and TensorFlow; TFLite's builtin FULLY_CONNECTED/BATCH_MATMUL).
The fork accumulates in float; the matrices are computed in double (differences about 1e-7).
On the GPU nvcc may fuse x * fx + fy / 2 into one rounding: a NEAREST position falling within
an ulp of .5 could round the other way there.

Refused: AREA (the fork's LayerSetUp aborts), no size (height/width 0 without a second bottom:
the fork's CHECK), a NEAREST position outside the input (the fork reads outside the blob, possible
only when the two factors differ a lot), and `factor` other than 1: FlowNet2 declares it but never
reads it, while OpenVINO and OpenCV resize by it, so the net's meaning is not the fork's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

import caffe2x
from caffe2x.extend import KerasLayer, LayerDef, ShapeError, TorchLayer, check, fork_params

F32 = np.float32
MODES = ("NEAREST", "LINEAR", "CUBIC")
KERNEL_WIDTH = {"LINEAR": 2, "CUBIC": 4}  # the fork's kernel_width per filter


@dataclass(frozen=True)
class ResampleParams:
    mode: str  # NEAREST, LINEAR or CUBIC
    antialias: bool
    height: int  # 0: not given (a second bottom gives the size)
    width: int


def build(value) -> ResampleParams:
    check(value.type in MODES, f"type {value.type} is not supported by the fork's ResampleLayer "
                               "(its LayerSetUp aborts): use NEAREST, LINEAR or CUBIC")
    check(value.factor == 1.0, f"factor {value.factor}: FlowNet2's Resample declares but never reads it, "
                               "while OpenVINO and OpenCV resize by it; give height and width (or a second "
                               "bottom) instead")
    return ResampleParams(value.type, value.antialias, value.height, value.width)


def output_hw(params: ResampleParams, bottoms) -> tuple[int, int]:
    """ResampleLayer::Reshape: the second bottom's height and width, else the parameters'."""
    if len(bottoms) == 2:
        check(len(bottoms[1]) == 4, f"the second bottom gives the size by its height and width: it must "
                                    f"be 4-D, not {len(bottoms[1])}-D")
        return tuple(bottoms[1][2:4])
    return params.height, params.width


def infer(params: ResampleParams, bottoms):
    check(len(bottoms[0]) == 4, f"Resample resizes a 4-D blob's height and width, not a {len(bottoms[0])}-D one")
    height, width = output_hw(params, bottoms)
    check(height >= 1 and width >= 1, f"the output would be {height} x {width}: give resample_param "
                                      "height and width (both at least 1), or a second bottom")
    if params.mode == "NEAREST":  # refuse a read outside the input here, before any conversion
        resample_matrices(params, bottoms[0][2:4], (height, width))
    return [(*bottoms[0][:2], height, width)]


def _round(values: np.ndarray) -> np.ndarray:
    """C's round(): halves away from zero (exact for float32 values in double)."""
    values = values.astype(np.float64)
    return (np.sign(values) * np.floor(np.abs(values) + 0.5)).astype(np.int64)


def _cubic(x: np.ndarray) -> np.ndarray:
    x = np.abs(x)
    near = x * x * (1.5 * x - 2.5) + 1.0
    far = x * (x * (-0.5 * x + 2.5) - 4.0) + 2.0
    return np.where(x <= 1.0, near, np.where(x < 2.0, far, 0.0))


def _triangle(x: np.ndarray) -> np.ndarray:
    return np.where((x >= -1) & (x < 0), x + 1, np.where((x >= 0) & (x <= 1), 1 - x, 0.0))


def _axis_matrix(mode: str, in_size: int, out_size: int, factor, other_factor, stretch) -> np.ndarray:
    """The out_size x in_size weights of one axis: row o holds the normalized weights of the
    input positions output o reads. `stretch` is 1 / factor with antialias, else 1 (the fork's ax)."""
    positions = np.arange(out_size, dtype=F32) * factor + other_factor / F32(2) - F32(0.5)
    centers = _round(positions)
    matrix = np.zeros((out_size, in_size), np.float64)
    if mode == "NEAREST":
        if centers.min() < 0 or centers.max() >= in_size:
            raise ShapeError(f"NEAREST resampling {in_size} -> {out_size} would read position "
                             f"{int(centers.min() if centers.min() < 0 else centers.max())}, outside the input "
                             "(the fork reads outside the blob: its factors of the two axes differ too much)")
        matrix[np.arange(out_size), centers] = 1.0
        return matrix
    radius = 2 if factor < 1 else math.ceil(F32(KERNEL_WIDTH[mode]) / stretch)
    filt = _cubic if mode == "CUBIC" else _triangle
    for out, (position, center) in enumerate(zip(positions, centers)):
        taps = np.arange(max(center - radius, 0), min(center + radius, in_size - 1) + 1)
        distance = (position - taps.astype(F32)).astype(np.float64)
        weights = float(stretch) * filt(float(stretch) * distance)
        total = weights.sum()
        if total != 0:
            matrix[out, taps] = weights / total
    return matrix


def resample_matrices(params: ResampleParams, in_hw, out_hw) -> tuple[np.ndarray, np.ndarray]:
    """(R, C), float64: out = R @ x @ C over each image's height x width, R out_h x in_h and
    C in_w x out_w, as ResampleLayer::Forward_gpu's kernels compute it."""
    (in_h, in_w), (out_h, out_w) = in_hw, out_hw
    fx, fy = F32(in_w) / F32(out_w), F32(in_h) / F32(out_h)
    antialias = params.antialias and (fx > 1 or fy > 1)
    stretch_x, stretch_y = (F32(1) / fx, F32(1) / fy) if antialias else (F32(1), F32(1))
    rows = _axis_matrix(params.mode, in_h, out_h, fy, fx, stretch_y)
    cols = _axis_matrix(params.mode, in_w, out_w, fx, fy, stretch_x)
    return rows, cols.T


def _matrices(node, shape_of):
    in_shape = shape_of(node.inputs[0])
    out_hw = output_hw(node.params, [shape_of(name) for name in node.inputs])
    return resample_matrices(node.params, in_shape[2:4], out_hw)


def reference(node, inputs):
    rows, cols = _matrices(node, lambda name: inputs[node.inputs.index(name)].shape)
    return [(rows @ inputs[0].astype(np.float64) @ cols).astype(F32)]


def onnx(node, inputs, outputs, builder):
    rows, cols = _matrices(node, builder.shape)
    rows = builder.const(node.name, "rows", rows.astype(F32))
    cols = builder.const(node.name, "cols", cols.astype(F32))
    resized_rows = builder.op("MatMul", [rows, inputs[0]], node.name)
    return [builder.op("MatMul", [resized_rows, cols], node.name, output=outputs[0])]


def pytorch(node, ctx):
    rows, cols = _matrices(node, ctx.shape)
    return TorchLayer(f"Resample({rows.shape}, {cols.shape})",
                      state={"rows": rows.astype(F32), "cols": cols.astype(F32)},
                      helpers=("caffe2x.families.intel.resample_torch:Resample",))


def tensorflow(node, args, ctx):
    rows, cols = _matrices(node, ctx.shape)
    return KerasLayer(f"Resample({rows.shape}, {cols.shape}, name={ctx.name(node)})({args[0]})",
                      weights={ctx.raw_name(node): [rows.T.astype(F32), cols.astype(F32)]},
                      custom=("caffe2x.families.intel.resample_keras:Resample",), layouts=["nhwc"])


RESAMPLE = LayerDef(fork_params("resample_param", build), infer, bottoms=(1, 2))

caffe2x.register_layer("Resample", RESAMPLE, reference, onnx=onnx, pytorch=pytorch, tensorflow=tensorflow)
