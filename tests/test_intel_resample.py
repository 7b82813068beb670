"""FlowNet2's Resample (lmb-freiburg/flownet2@b92e198, resample_layer.cu): the reference kernel
and all four targets against a port of the fork's CUDA kernels written here from the source
(no Caffe build of the fork runs Resample: its Forward_cpu aborts), the shape rule, and the
refusals (CLI: one paragraph, exit 2, nothing written)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from click.testing import CliRunner

import caffe2x
from caffe2x import api
from caffe2x.cli import main
from caffe2x.errors import ShapeError
from caffe2x.io.prototxt import parse_prototxt_text

F32 = np.float32
TARGETS = ["onnx", "pytorch", "tensorflow", "tflite"]
IMPORTS = {"onnx": "onnxruntime", "pytorch": "torch", "tensorflow": "tensorflow", "tflite": "tensorflow"}


# --- the fork's kernels, transcribed from resample_layer.cu (float arithmetic, loop by loop) ---

def _c_round(value) -> int:
    return int(math.copysign(math.floor(abs(float(value)) + 0.5), float(value)))


def _bicubic(x):
    x = abs(x)
    if x <= F32(1):
        return x * x * (F32(1.5) * x - F32(2.5)) + F32(1)
    if x < F32(2):
        return x * (x * (F32(-0.5) * x + F32(2.5)) - F32(4)) + F32(2)
    return F32(0)


def _triangle(x):
    if F32(-1) <= x < F32(0):
        return x + F32(1)
    if F32(0) <= x <= F32(1):
        return F32(1) - x
    return F32(0)


def fork_resample(x: np.ndarray, out_h: int, out_w: int, mode: str, antialias: bool = True) -> np.ndarray:
    """ResampleLayer::Forward_gpu with NearestNeighborKernel / InterpolationKernel, per output."""
    num, channels, in_h, in_w = x.shape
    fx, fy = F32(in_w) / F32(out_w), F32(in_h) / F32(out_h)
    top = np.zeros((num, channels, out_h, out_w), F32)
    antialias = bool((fx > 1 or fy > 1) and antialias)
    kernel_width = 4 if mode == "CUBIC" else 2
    coeff = _bicubic if mode == "CUBIC" else _triangle
    for n in range(num):
        for c in range(channels):
            image = x[n, c]
            for y_out in range(out_h):
                for x_out in range(out_w):
                    x_in = F32(x_out) * fx + fy / F32(2) - F32(0.5)
                    y_in = F32(y_out) * fy + fx / F32(2) - F32(0.5)
                    xr, yr = _c_round(x_in), _c_round(y_in)
                    if mode == "NEAREST":
                        top[n, c, y_out, x_out] = image[yr, xr]
                        continue
                    ax = F32(1) / (fx if antialias else F32(1))
                    ay = F32(1) / (fy if antialias else F32(1))
                    rx = 2 if fx < 1 else math.ceil(F32(kernel_width) / ax)
                    ry = 2 if fy < 1 else math.ceil(F32(kernel_width) / ay)
                    total, wsum = F32(0), F32(0)
                    for yy in range(yr - ry, yr + ry + 1):
                        for xx in range(xr - rx, xr + rx + 1):
                            if yy < 0 or xx < 0 or yy >= in_h or xx >= in_w:
                                continue
                            w = ax * coeff(ax * (x_in - F32(xx))) * ay * coeff(ay * (y_in - F32(yy)))
                            total += w * image[yy, xx]
                            wsum += w
                    top[n, c, y_out, x_out] = F32(0) if not wsum else total / wsum
    return top


# --- nets ---

def _net(in_shape, param: str, size_shape=None) -> str:
    dims = " ".join(f"dim: {d}" for d in in_shape)
    text = f'layer {{ name: "data" type: "Input" top: "data" input_param {{ shape {{ {dims} }} }} }}\n'
    bottoms = 'bottom: "data"'
    if size_shape is not None:
        dims = " ".join(f"dim: {d}" for d in size_shape)
        text += f'layer {{ name: "ref" type: "Input" top: "ref" input_param {{ shape {{ {dims} }} }} }}\n'
        bottoms += ' bottom: "ref"'
    return text + f'layer {{ name: "rs" type: "Resample" {bottoms} top: "out" resample_param {{ {param} }} }}\n'


def _graph(text: str):
    return caffe2x.graph_from_net(parse_prototxt_text(text))


CASES = {
    # name: (input shape, resample_param, output h, w, mode, antialias)
    "linear_down_antialias": ((2, 3, 13, 17), "height: 5 width: 7", 5, 7, "LINEAR", True),
    "linear_down_plain": ((1, 2, 12, 16), "height: 5 width: 6 antialias: false", 5, 6, "LINEAR", False),
    "linear_up": ((1, 2, 5, 6), "height: 11 width: 14 type: LINEAR", 11, 14, "LINEAR", True),
    "cubic_up": ((1, 2, 6, 5), "height: 13 width: 12 type: CUBIC", 13, 12, "CUBIC", True),
    "cubic_down": ((1, 2, 16, 15), "height: 7 width: 4 type: CUBIC", 7, 4, "CUBIC", True),
    "linear_mixed": ((1, 2, 12, 5), "height: 6 width: 9", 6, 9, "LINEAR", True),  # one axis shrinks
    "nearest_up": ((1, 3, 5, 7), "height: 10 width: 14 type: NEAREST", 10, 14, "NEAREST", True),
    "nearest_down": ((1, 3, 12, 9), "height: 4 width: 3 type: NEAREST", 4, 3, "NEAREST", True),
    "same_size": ((1, 2, 6, 7), "height: 6 width: 7", 6, 7, "LINEAR", True),
}


def _inputs(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(F32)


@pytest.mark.parametrize("name", sorted(CASES))
def test_reference_matches_the_forks_kernels(name):
    shape, param, out_h, out_w, mode, antialias = CASES[name]
    graph = _graph(_net(shape, param))
    x = _inputs(shape)
    got = caffe2x.reference.run(graph, {"data": x})[graph.nodes[-1].outputs[0]]
    want = fork_resample(x, out_h, out_w, mode, antialias)
    assert got.shape == want.shape == (*shape[:2], out_h, out_w)
    error = np.abs(got - want).max() / np.abs(want).max()
    assert error <= (0 if mode == "NEAREST" else 1e-6), error


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", ["linear_down_antialias", "cubic_up", "nearest_up", "linear_mixed"])
def test_every_target_matches_the_forks_kernels(name, target):
    pytest.importorskip(IMPORTS[target])
    shape, param, out_h, out_w, mode, antialias = CASES[name]
    graph = _graph(_net(shape, param))
    x = _inputs(shape, seed=1)
    want = {"input:data": x, "rs:out": fork_resample(x, out_h, out_w, mode, antialias)}
    result = api.verify(graph, target, {"data": x}, want, reference_name="fork kernels", tolerance=1e-6)
    assert {f"{r.layer}:{r.top}" for r in result.records} == {"rs:out"}
    assert result.passed, result.first_divergence


@pytest.mark.parametrize("target", TARGETS)
def test_a_second_bottom_gives_the_size_and_the_batch_stays_dynamic(target):
    pytest.importorskip(IMPORTS[target])
    from caffe2x.targets import TARGETS as REGISTRY

    graph = _graph(_net((1, 2, 9, 8), "height: 99 width: 99", size_shape=(1, 1, 4, 5)))
    assert graph.values[graph.nodes[-1].outputs[0]].shape == (1, 2, 4, 5)
    x = _inputs((3, 2, 9, 8))
    got = REGISTRY.get(target).run(graph, {"data": x, "ref": np.zeros((3, 1, 4, 5), F32)})["rs:out"]
    assert got.shape == (3, 2, 4, 5)
    assert np.abs(got - fork_resample(x, 4, 5, "LINEAR")).max() <= 1e-6


@pytest.mark.parametrize(("param", "message"), [
    ("type: AREA height: 4 width: 4", "type AREA is not supported"),
    ("height: 4 width: 4 factor: 2", "factor 2"),
    ("type: LINEAR", "give resample_param height and width"),
    ("height: 4", "the output would be 4 x 0"),
])
def test_what_the_fork_refuses_is_a_typed_error(param, message):
    with pytest.raises(ShapeError, match=message):
        _graph(_net((1, 1, 8, 8), param))


def test_a_nearest_read_outside_the_input_is_refused():
    """fx = 0.5, fy = 2: x_in = 0.5 x + 0.5 reaches 16 on a 16-wide input (the fork reads past the row)."""
    with pytest.raises(ShapeError, match="would read position 16, outside the input"):
        _graph(_net((1, 1, 12, 16), "height: 6 width: 32 type: NEAREST"))


def test_the_cli_refuses_a_bad_resample_in_one_paragraph_and_writes_nothing(tmp_path):
    net = tmp_path / "net.prototxt"
    net.write_text(_net((1, 1, 8, 8), "type: AREA height: 4 width: 4"))
    out = tmp_path / "model.onnx"
    result = CliRunner().invoke(main, ["convert", str(net), "--random-weights", "--to", "onnx", "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert "layer 'rs' (Resample)" in result.output and "AREA" in result.output
    assert "Traceback" not in result.output and not out.exists()
