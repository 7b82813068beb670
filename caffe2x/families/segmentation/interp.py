"""Interp (DeepLab v2, PSPNet): bilinear resizing with corner alignment, after an optional crop.

    layer { type: "Interp" bottom: "conv5_4" top: "conv5_4_interp" interp_param { zoom_factor: 8 } }

Exactly as hszhao/PSPNet 798bdc907c8630e8c3997ebfdd0d7cae0c5ab03b computes it
(src/caffe/layers/interp_layer.cpp and src/caffe/util/interp.cpp, George Papandreou's code, the
same in DeepLab v2):
- the input is first cropped: pad_beg and pad_end must be <= 0 (the fork CHECKs it: "only
  non-positive padding (cropping)"); the effective input is H + pad_beg + pad_end rows from row
  -pad_beg (and columns alike, with the same two values);
- the output size, by the first rule that applies: shrink_factor alone, (H_eff - 1) / s + 1;
  zoom_factor alone, H_eff + (H_eff - 1)(z - 1); height and width; both factors, shrink then
  zoom. Nothing of these is the fork's LOG(FATAL); a factor below 1, an effective input or output
  side below 1 its CHECKs: ShapeError here;
- equal effective input and output sizes copy the crop; otherwise output (h2, w2) reads input
  h1r = r_h * h2 with r_h = (H_eff - 1) / (H_out - 1) in float (0 for a 1-pixel output side),
  h1 = (int) h1r, the next row h1 + 1 unless h1 is the last, weights h1r - h1 and 1 minus it
  (all float32), and the value h0λ (w0λ p00 + w1λ p01) + h1λ (w0λ p10 + w1λ p11).
That is align_corners bilinear resizing: ONNX Resize (coordinate_transformation_mode
align_corners), torch interpolate(align_corners=True), TF/TFLite RESIZE_BILINEAR with
align_corners. DeepLab v2's interp_layer.cpp (DrSleep/deeplab-public-ver2 a11f8a26, a mirror of
deeplab-public-ver2) is the same code; neither fork has a two-bottom form (the size from a
second blob), so Interp takes one bottom.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...api import register_layer
from ...extend import KerasLayer, LayerDef, OnnxInt, ShapeError, TorchLayer, check, fork_params
from .interp_rules import interp_side, keeps_size


@dataclass(frozen=True)
class InterpParams:
    zoom_factor: int | None  # None: not given
    shrink_factor: int | None
    height: int | None  # None unless height and width are both given
    width: int | None
    pad_beg: int
    pad_end: int


def parse(value) -> InterpParams:
    # interp_layer.cpp, LayerSetUp: CHECK_LE(pad_beg_, 0), CHECK_LE(pad_end_, 0).
    check(value.pad_beg <= 0 and value.pad_end <= 0,
          f"pad_beg ({value.pad_beg}) and pad_end ({value.pad_end}) must be <= 0: the fork's Interp only crops")
    sized = value.has("height") and value.has("width")
    return InterpParams(int(value.zoom_factor) if value.has("zoom_factor") else None,
                        int(value.shrink_factor) if value.has("shrink_factor") else None,
                        int(value.height) if sized else None, int(value.width) if sized else None,
                        int(value.pad_beg), int(value.pad_end))


def output_side(params: InterpParams, side_eff: int, explicit: int | None) -> int:
    """interp_layer.cpp, Reshape: one output side from the effective input side, by the fork's
    order of rules (interp_rules.interp_side), its factors checked."""
    zoom, shrink = params.zoom_factor, params.shrink_factor
    check(zoom is None or zoom >= 1, f"zoom_factor must be >= 1, got {zoom}")
    check(shrink is None or shrink >= 1, f"shrink_factor must be >= 1, got {shrink}")
    side = interp_side(side_eff, zoom, shrink, explicit)
    if side is None:
        raise ShapeError("interp_param must give zoom_factor, shrink_factor (or both), or height and width")
    return side


def sizes(params: InterpParams, height: int, width: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """((effective input H, W), (output H, W)), checked as the fork's Reshape."""
    eff = (height + params.pad_beg + params.pad_end, width + params.pad_beg + params.pad_end)
    out = (output_side(params, eff[0], params.height), output_side(params, eff[1], params.width))
    check(min(eff) > 0, f"the cropped input is {eff[0]} x {eff[1]}: pad_beg + pad_end crop the whole "
                        f"{height} x {width} input")
    check(min(out) > 0, f"the output would be {out[0]} x {out[1]}; both sides must be positive")
    return eff, out


def infer(params: InterpParams, bottoms):
    bottom = bottoms[0]
    check(len(bottom) == 4, f"Interp needs a 4-D N,C,H,W blob, got {list(bottom)}")
    _, out = sizes(params, bottom[2], bottom[3])
    return [(bottom[0], bottom[1], *out)]


def crop_box(params: InterpParams, eff) -> tuple[int, int, int, int]:
    """(first row, end row, first column, end column) of the crop (interp_layer.cpp: x1 = y1 = -pad_beg)."""
    start = -params.pad_beg
    return start, start + eff[0], start, start + eff[1]


def source_positions(size_in: int, size_out: int):
    """interp.cpp, caffe_cpu_interp2, along one axis: (h1, h1p, h1lambda) for every output
    position, the ratio and the weights in float32 as the fork."""
    ratio = np.float32(size_in - 1) / np.float32(size_out - 1) if size_out > 1 else np.float32(0)
    real = ratio * np.arange(size_out, dtype=np.float32)
    first = real.astype(np.int64)
    step = (first < size_in - 1).astype(np.int64)
    return first, step, real - first.astype(np.float32)


def interpolate(x: np.ndarray, out_hw) -> np.ndarray:
    """caffe_cpu_interp2 on an N,C,H,W array (float32 weights, float64 sums)."""
    h1, h1p, hl = source_positions(x.shape[2], out_hw[0])
    w1, w1p, wl = source_positions(x.shape[3], out_hw[1])
    hl, wl = hl.astype(np.float64)[:, None], wl.astype(np.float64)[None, :]
    h0l, w0l = np.float64(np.float32(1) - hl.astype(np.float32)), np.float64(np.float32(1) - wl.astype(np.float32))
    rows, next_rows = x[:, :, h1], x[:, :, h1 + h1p]
    p00, p01 = rows[:, :, :, w1], rows[:, :, :, w1 + w1p]
    p10, p11 = next_rows[:, :, :, w1], next_rows[:, :, :, w1 + w1p]
    return h0l * (w0l * p00 + wl * p01) + hl * (w0l * p10 + wl * p11)


def reference(node, inputs):
    p: InterpParams = node.params
    x = inputs[0].astype(np.float64)
    eff, out = sizes(p, *x.shape[2:])
    top, bottom, left, right = crop_box(p, eff)
    x = x[:, :, top:bottom, left:right]
    return [x if eff == out else interpolate(x, out)]


def _geometry(node, shape):
    eff, out = sizes(node.params, *shape[2:])
    return crop_box(node.params, eff), out, eff == out


def _onnx_at_run_time(node, x, output, b):
    """Interp of a map whose height and width are dynamic: the crop by negative ends, the output
    size by interp_side over the cropped map's shape, as the fork's Reshape does per call."""
    p: InterpParams = node.params
    ends = [p.pad_end if p.pad_end < 0 else np.iinfo(np.int64).max] * 2
    if p.pad_beg or p.pad_end:
        x = b.op("Slice", [x, b.ints(node.name, "starts", [-p.pad_beg] * 2), b.ints(node.name, "ends", ends),
                           b.ints(node.name, "axes", [2, 3])], node.name)
    if keeps_size(p.zoom_factor, p.shrink_factor, p.height):
        return b.op("Identity", [x], node.name, output=output)
    shape = b.op("Shape", [x], node.name)
    sides = []
    for axis, explicit in ((2, p.height), (3, p.width)):
        side_eff = OnnxInt(b, node.name, b.op("Slice", [shape, b.ints(node.name, "from", [axis]),
                                                          b.ints(node.name, "to", [axis + 1])], node.name))
        side = interp_side(side_eff, p.zoom_factor, p.shrink_factor, explicit)
        sides.append(side.name if isinstance(side, OnnxInt) else b.ints(node.name, "side", [side]))
    batch_channels = b.op("Slice", [shape, b.ints(node.name, "zero", [0]), b.ints(node.name, "two", [2])], node.name)
    size = b.op("Concat", [batch_channels, *sides], node.name, axis=0)
    return b.op("Resize", [x, "", "", size], node.name, output=output, mode="linear",
                coordinate_transformation_mode="align_corners")


def onnx(node, inputs, outputs, b):
    if node.inputs[0] in b.varying:
        return [_onnx_at_run_time(node, inputs[0], outputs[0], b)]
    (top, bottom, left, right), out, copy = _geometry(node, b.shape(node.inputs[0]))
    x = inputs[0]
    height, width = b.shape(node.inputs[0])[2:]
    if (top, bottom, left, right) != (0, height, 0, width):
        x = b.op("Slice", [x, b.ints(node.name, "starts", [top, left]), b.ints(node.name, "ends", [bottom, right]),
                           b.ints(node.name, "axes", [2, 3])], node.name, output=outputs[0] if copy else None)
    if copy:
        return [x if x == outputs[0] else b.op("Identity", [x], node.name, output=outputs[0])]
    batch_channels = b.op("Slice", [b.op("Shape", [x], node.name), b.ints(node.name, "zero", [0]),
                                    b.ints(node.name, "two", [2])], node.name)
    size = b.op("Concat", [batch_channels, b.ints(node.name, "size", list(out))], node.name, axis=0)
    return [b.op("Resize", [x, "", "", size], node.name, output=outputs[0], mode="linear",
                 coordinate_transformation_mode="align_corners")]


def _dynamic_args(p: InterpParams) -> str:
    """The run-time classes' arguments: the crop, the size rule's parameters, whether it copies."""
    return (f"{p.pad_beg}, {p.pad_end}, {p.zoom_factor}, {p.shrink_factor}, {p.height}, {p.width}, "
            f"{keeps_size(p.zoom_factor, p.shrink_factor, p.height)}")


def pytorch(node, ctx):
    if node.inputs[0] in ctx.varying:  # dynamic height and width: sized at run time
        return TorchLayer(f"DynamicInterp({_dynamic_args(node.params)})",
                          helpers=("caffe2x.families.segmentation.interp_torch:DynamicInterp",))
    crop, out, copy = _geometry(node, ctx.shape(node.inputs[0]))
    return TorchLayer(f"Interp({crop}, {out}, {copy})",
                      helpers=("caffe2x.families.segmentation.interp_torch:Interp",))


def tensorflow(node, args, ctx):
    if node.inputs[0] in ctx.varying:  # dynamic height and width: sized at run time
        return KerasLayer(f"DynamicInterp({_dynamic_args(node.params)}, name={ctx.name(node)})({args[0]})",
                          custom=("caffe2x.families.segmentation.interp_keras:DynamicInterp",), layouts=["nhwc"])
    crop, out, copy = _geometry(node, ctx.shape(node.inputs[0]))
    return KerasLayer(f"Interp({crop}, {out}, {copy}, name={ctx.name(node)})({args[0]})",
                      custom=("caffe2x.families.segmentation.interp_keras:Interp",), layouts=["nhwc"])


register_layer("Interp", LayerDef(fork_params("interp_param", parse), infer), reference,
               onnx=onnx, pytorch=pytorch, tensorflow=tensorflow)
