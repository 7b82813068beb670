"""PSROIPooling (daijifeng001/caffe-rfcn 543f8f6a): the fork's Forward_cpu is NOT_IMPLEMENTED, so
the reference is checked against the CUDA kernel PSROIPoolingForward (psroi_pooling_layer.cu)
transcribed line by line below, one output element per call as the kernel's threads; then every
target against the reference on R = 1, 7 and many ROIs with one converted model each (R
dynamic); then the bad inputs (a map smaller than the group grid, a channel count that is not
output_dim x group_size², ROIs given as data outside the image or inverted)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from roi_nets import (
    assert_reference_is_the_fork,
    assert_refused_before_converting,
    assert_target_matches_the_fork,
    features_of,
    graph_of,
    invoke,
    needs_fork_case,
    net_text,
    onnx_dims,
    pooled_at_every_roi_count,
    roi_set,
    tflite_builtins,
)

from caffe2x.reference import run

# ps3 reads the 18-channel map (2 x 3²); ps2 (4 x 2² = 16 channels) its first 16 through a Slice.
LAYERS = """
layer { name: "cut" type: "Slice" bottom: "feat" top: "feat16" top: "rest" slice_param { slice_point: 16 } }
layer { name: "ps3" type: "PSROIPooling" bottom: "feat" bottom: "rois" top: "ps3"
        psroi_pooling_param { spatial_scale: 0.25 output_dim: 2 group_size: 3 } }
layer { name: "ps2" type: "PSROIPooling" bottom: "feat16" bottom: "rois" top: "ps2"
        psroi_pooling_param { spatial_scale: 0.5 output_dim: 4 group_size: 2 } }
"""
FEATURES = (2, 18, 11, 13)


def c_round(v: float) -> float:
    """CUDA's round(float): half away from zero."""
    return math.copysign(math.floor(abs(v) + 0.5), v) if abs(v) % 1 != 0.5 else math.copysign(math.ceil(abs(v)), v)


def kernel(index, bottom_data, spatial_scale, channels, height, width, pooled_height, pooled_width,
           bottom_rois, output_dim, group_size):
    """PSROIPoolingForward for one `index` of the top, statement by statement (Dtype = float32)."""
    f32 = np.float32
    spatial_scale = f32(spatial_scale)
    pw = index % pooled_width
    ph = (index // pooled_width) % pooled_height
    ctop = (index // pooled_width // pooled_height) % output_dim
    n = index // pooled_width // pooled_height // output_dim
    roi = bottom_rois[n]
    roi_batch_ind = int(roi[0])
    roi_start_w = f32(c_round(float(roi[1]))) * spatial_scale
    roi_start_h = f32(c_round(float(roi[2]))) * spatial_scale
    roi_end_w = f32(c_round(float(roi[3])) + 1.0) * spatial_scale
    roi_end_h = f32(c_round(float(roi[4])) + 1.0) * spatial_scale
    roi_width = f32(max(float(roi_end_w - roi_start_w), 0.1))
    roi_height = f32(max(float(roi_end_h - roi_start_h), 0.1))
    bin_size_h = roi_height / f32(pooled_height)
    bin_size_w = roi_width / f32(pooled_width)
    hstart = math.floor(f32(ph) * bin_size_h + roi_start_h)
    wstart = math.floor(f32(pw) * bin_size_w + roi_start_w)
    hend = math.ceil(f32(ph + 1) * bin_size_h + roi_start_h)
    wend = math.ceil(f32(pw + 1) * bin_size_w + roi_start_w)
    hstart = min(max(hstart, 0), height)
    hend = min(max(hend, 0), height)
    wstart = min(max(wstart, 0), width)
    wend = min(max(wend, 0), width)
    is_empty = hend <= hstart or wend <= wstart
    c = (ctop * group_size + ph) * group_size + pw
    data = bottom_data[roi_batch_ind, c]
    out_sum = f32(0)
    for h in range(hstart, hend):
        for w in range(wstart, wend):
            out_sum = f32(out_sum + data[h, w])
    bin_area = f32((hend - hstart) * (wend - wstart))
    return f32(0) if is_empty else out_sum / bin_area


def fork_forward(bottom_data, rois, output_dim, group_size, spatial_scale):
    _, channels, height, width = bottom_data.shape
    top = np.zeros((len(rois), output_dim, group_size, group_size), np.float32)
    for index in range(top.size):
        top.flat[index] = kernel(index, bottom_data, spatial_scale, channels, height, width, group_size,
                                 group_size, rois, output_dim, group_size)
    return top


def _net(count: int):
    return graph_of(net_text(LAYERS, FEATURES, count))


@pytest.mark.parametrize("count", [1, 7, 40])
def test_the_reference_is_the_forks_cuda_kernel(count):
    graph = _net(count)
    feat, rois = features_of(FEATURES), roi_set(count, FEATURES, scale=0.25)
    values = run(graph, {"feat": feat, "rois": rois})
    assert values["ps3"].shape == (count, 2, 3, 3) and values["ps2"].shape == (count, 4, 2, 2)
    assert np.array_equal(values["ps3"], fork_forward(feat, rois, 2, 3, 0.25))
    assert np.array_equal(values["ps2"], fork_forward(feat[:, :16], rois, 4, 2, 0.5))


def test_each_bin_averages_its_own_channel_and_degenerate_boxes_follow_the_kernel():
    feat = np.zeros((1, 4, 4, 4), np.float32)
    for c in range(4):
        feat[0, c] = np.arange(16).reshape(4, 4) + 100 * c  # channel c = ph * 2 + pw for output_dim 1
    rois = np.array([[0, 0, 0, 3, 3],  # the whole map: bin (ph, pw) averages its quarter of channel ph*2+pw
                     [0, 2.5, 1.5, 0.4, 0.4],  # round 3, 2 > x2: the side is max(.., 0.1)
                     [0, 9, 9, 12, 12]], np.float32)  # outside: every bin empty, 0
    graph = graph_of(net_text('layer { name: "p" type: "PSROIPooling" bottom: "feat" bottom: "rois" top: "p" '
                              'psroi_pooling_param { spatial_scale: 1 output_dim: 1 group_size: 2 } }',
                              (1, 4, 4, 4), 3))
    got = run(graph, {"feat": feat, "rois": rois})["p"]
    quarters = [[np.mean(feat[0, ph * 2 + pw, 2 * ph:2 * ph + 2, 2 * pw:2 * pw + 2]) for pw in range(2)]
                for ph in range(2)]
    assert np.array_equal(got[0, 0], np.float32(quarters))
    assert np.array_equal(got[2], np.zeros((1, 2, 2)))
    assert np.array_equal(got, fork_forward(feat, rois, 1, 2, 1.0))


@pytest.fixture(scope="module")
def net():
    return _net(7)


@pytest.mark.parametrize("target", ["onnx", "pytorch", "tensorflow", "tflite"])
def test_every_target_pools_any_number_of_rois_as_the_reference(target, tmp_path_factory):
    for top, count, got, want in pooled_at_every_roi_count(_net, target, tmp_path_factory.mktemp(target),
                                                           ["ps2", "ps3"], FEATURES):
        error = np.abs(got - want).max() / np.abs(want).max()
        assert error <= 1e-6, (target, top, count, error)  # the sums' order: a few ulps


def test_the_onnx_model_declares_the_roi_count_dynamic(net, tmp_path):
    dims = onnx_dims(net, tmp_path / "m.onnx")
    assert dims["ps3"] == ["R", 2, 3, 3] and dims["ps2"] == ["R", 4, 2, 2]


def test_the_tflite_model_uses_builtin_operators_only(net, tmp_path):
    builtins = tflite_builtins(net, tmp_path / "m.tflite")
    assert {"BATCH_MATMUL", "GATHER_ND", "SUM", "FLOOR", "CEIL", "SELECT_V2"} <= builtins, builtins


# ---- bad inputs: typed errors, exit 2, nothing written ----------------------------------------------------------


@pytest.mark.parametrize("shape, params, message", [
    ((1, 98, 5, 9), "spatial_scale: 0.0625 output_dim: 2 group_size: 7",
     r"5 x 9 \(H x W\), smaller than the 7 x 7 pooled grid \(group_size x group_size\)"),
    ((1, 20, 9, 9), "spatial_scale: 0.0625 output_dim: 2 group_size: 3",
     r"20 channels; output_dim x group_size² = 2 x 3² = 18"),
    ((1, 18, 9, 9), "spatial_scale: 0.0625 output_dim: 0 group_size: 3", r"output_dim must be > 0"),
])
def test_shapes_and_parameters_the_fork_refuses_are_typed_errors(tmp_path, shape, params, message):
    text = net_text('layer { name: "p" type: "PSROIPooling" bottom: "feat" bottom: "rois" top: "p" '
                    f'psroi_pooling_param {{ {params} }} }}', shape, 3)
    assert_refused_before_converting(tmp_path, text, r"layer 'p' \(PSROIPooling\).*" + message, "pytorch", "out",
                                     "ShapeError")


RFCN_NET = """name: "rfcn_bits"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 40 dim: 56 } } }
layer { name: "rois" type: "Input" top: "rois" input_param { shape { dim: 2 dim: 5 } } }
layer { name: "rfcn_cls" type: "Convolution" bottom: "data" top: "rfcn_cls"
        convolution_param { num_output: 18 kernel_size: 3 stride: 4 pad: 1 } }
layer { name: "psroi" type: "PSROIPooling" bottom: "rfcn_cls" bottom: "rois" top: "psroi"
        psroi_pooling_param { spatial_scale: 0.25 output_dim: 2 group_size: 3 } }
"""


@pytest.mark.parametrize("row, message", [
    ([0, 30, 5, 20, 20], "has x2 < x1 or y2 < y1"),
    ([0, 10, 5, 57, 20], "lies outside the 56 x 40 (W x H) image"),
    ([1, 10, 5, 14, 20], "names image 1; the feature map has 1 image(s)"),
])
def test_bad_rois_given_as_data_are_refused_before_anything_runs(tmp_path, row, message):
    net = tmp_path / "net.prototxt"
    net.write_text(RFCN_NET)
    np.savez(tmp_path / "in.npz", data=np.zeros((1, 3, 40, 56), np.float32),
             rois=np.array([[0, 0, 0, 56, 40], row], np.float32))
    for tail in (["-o", tmp_path / "b.npz"], ["--to", "onnx", "--report", tmp_path / "r.json"]):
        command = "run" if tail[0] == "-o" else "verify"
        result = invoke(command, net, "--random-weights", "--inputs", tmp_path / "in.npz", *tail)
        assert result.exit_code == 2, result.output
        assert "layer 'psroi' (PSROIPooling): the ROI input row 1" in result.output and message in result.output
        assert not tail[-1].exists()


def test_verify_compares_any_number_of_rois_on_every_target(tmp_path):
    net = tmp_path / "net.prototxt"
    net.write_text(RFCN_NET)
    np.savez(tmp_path / "in.npz", data=np.random.default_rng(0).standard_normal((1, 3, 40, 56)).astype(np.float32),
             rois=roi_set(9, (1, 18, 10, 14), scale=0.25)[[0, 3, 5, 6]].clip(0, 39))  # 4 rows, not 2
    result = invoke("verify", net, "--random-weights", "--inputs", tmp_path / "in.npz", "--to", "onnx",
                    "--to", "pytorch")
    assert result.exit_code == 0, result.output
    assert "4x2x3x3" in result.output


# ---- against the real fork's blobs (golden case fork_roi, made by forkbuild18: caffe-rfcn's kernel run on the CPU) --

@needs_fork_case
def test_the_reference_matches_the_real_fork_on_every_psroipooling_top():
    """Each layer on the fork's own bottoms: bit-exact (the kernel sums in the reference order)."""
    assert_reference_is_the_fork("PSROIPooling", at_least=3)


@needs_fork_case
@pytest.mark.parametrize("target", ["onnx", "pytorch", "tensorflow", "tflite"])
def test_every_target_matches_the_real_fork(target):
    assert_target_matches_the_fork("PSROIPooling", target)
