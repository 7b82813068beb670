"""ROIPooling (rbgirshick/caffe-fast-rcnn 0dcd397b, roi_pooling_layer.cpp): the reference against
the fork's Forward_cpu transcribed line by line below, every target against the reference on
R = 1, 7 and many ROIs with one converted model each (R dynamic), and the bad inputs issue 18
names (a feature map smaller than the pooled grid; ROIs given as data outside the image or
inverted), which end in typed errors, exit 2 and nothing written."""

from __future__ import annotations

import math

import numpy as np
import pytest
from click.testing import CliRunner
from roi_nets import (
    FORK_CASE,
    Converted,
    features_of,
    fork_blobs,
    fork_case_available,
    fork_layers_alone,
    graph_of,
    net_text,
    roi_set,
)

from caffe2x import api
from caffe2x.cli import main
from caffe2x.errors import ShapeError
from caffe2x.reference import run

FLT_MAX = np.float32(3.4028234663852886e38)
LAYERS = """
layer { name: "pool32" type: "ROIPooling" bottom: "feat" bottom: "rois" top: "pool32"
        roi_pooling_param { pooled_h: 3 pooled_w: 2 spatial_scale: 0.25 } }
layer { name: "pool44" type: "ROIPooling" bottom: "feat" bottom: "rois" top: "pool44"
        roi_pooling_param { pooled_h: 4 pooled_w: 4 spatial_scale: 0.5 } }
"""
FEATURES = (2, 8, 12, 10)
CASES = [("pool32", 3, 2, 0.25), ("pool44", 4, 4, 0.5)]


def c_round(v: np.float32) -> int:
    """C's round(): half away from zero."""
    return int(math.copysign(math.floor(abs(float(v)) + 0.5), float(v))) if abs(float(v)) % 1 != 0.5 \
        else int(math.copysign(math.ceil(abs(float(v))), float(v)))


def fork_forward(bottom_data, bottom_rois, pooled_height, pooled_width, spatial_scale):
    """roi_pooling_layer.cpp, Forward_cpu, one statement per line of the fork (float32 = Dtype)."""
    f32 = np.float32
    spatial_scale = f32(spatial_scale)
    batch_size, channels, height, width = bottom_data.shape
    top = np.full((len(bottom_rois), channels, pooled_height, pooled_width), -FLT_MAX, np.float32)
    for n, roi in enumerate(bottom_rois):
        roi_batch_ind = int(roi[0])
        roi_start_w = c_round(f32(roi[1]) * spatial_scale)
        roi_start_h = c_round(f32(roi[2]) * spatial_scale)
        roi_end_w = c_round(f32(roi[3]) * spatial_scale)
        roi_end_h = c_round(f32(roi[4]) * spatial_scale)
        assert 0 <= roi_batch_ind < batch_size
        roi_height = max(roi_end_h - roi_start_h + 1, 1)
        roi_width = max(roi_end_w - roi_start_w + 1, 1)
        bin_size_h = f32(roi_height) / f32(pooled_height)
        bin_size_w = f32(roi_width) / f32(pooled_width)
        for c in range(channels):
            for ph in range(pooled_height):
                for pw in range(pooled_width):
                    hstart = int(math.floor(f32(ph) * bin_size_h))
                    wstart = int(math.floor(f32(pw) * bin_size_w))
                    hend = int(math.ceil(f32(ph + 1) * bin_size_h))
                    wend = int(math.ceil(f32(pw + 1) * bin_size_w))
                    hstart = min(max(hstart + roi_start_h, 0), height)
                    hend = min(max(hend + roi_start_h, 0), height)
                    wstart = min(max(wstart + roi_start_w, 0), width)
                    wend = min(max(wend + roi_start_w, 0), width)
                    if hend <= hstart or wend <= wstart:
                        top[n, c, ph, pw] = 0
                    for h in range(hstart, hend):
                        for w in range(wstart, wend):
                            if bottom_data[roi_batch_ind, c, h, w] > top[n, c, ph, pw]:
                                top[n, c, ph, pw] = bottom_data[roi_batch_ind, c, h, w]
    return top


def test_c_round_goes_half_away_from_zero():
    assert [c_round(np.float32(v)) for v in (2.5, -2.5, 0.49999997, 1.5, -0.5)] == [3, -3, 0, 2, -1]


@pytest.mark.parametrize("count", [1, 7, 40])
def test_the_reference_is_the_forks_forward(count):
    graph = graph_of(net_text(LAYERS, FEATURES, count))
    feat, rois = features_of(FEATURES), roi_set(count, FEATURES)
    values = run(graph, {"feat": feat, "rois": rois})
    for top, pooled_h, pooled_w, scale in CASES:
        want = fork_forward(feat, rois, pooled_h, pooled_w, scale)
        assert values[top].shape == (count, FEATURES[1], pooled_h, pooled_w)
        assert np.array_equal(values[top], want), top


def test_rounding_ties_inverted_boxes_and_bins_outside_the_map_follow_the_fork():
    """Coordinates scaled to .5 round away from zero; x2 < x1 pools one cell; a box wholly outside is 0."""
    feat = np.arange(2 * 1 * 6 * 6, dtype=np.float32).reshape(2, 1, 6, 6)
    rois = np.array([[1, 5, 3, 5, 3],  # 2.5 -> 3 and 1.5 -> 2: the one cell (row 2, column 3) of image 1
                     [0, 9, 9, 1, 1],  # inverted: 1 x 1 at its start (4.5 -> 5, 4.5 -> 5)
                     [0, -40, -40, -20, -20],  # outside: every bin empty
                     [0, -5, -5, 1, 1]], np.float32)  # -2.5 -> -3: bins clipped to the map
    graph = graph_of(net_text('layer { name: "p" type: "ROIPooling" bottom: "feat" bottom: "rois" top: "p" '
                              'roi_pooling_param { pooled_h: 2 pooled_w: 2 spatial_scale: 0.5 } }', (2, 1, 6, 6), 4))
    got = run(graph, {"feat": feat, "rois": rois})["p"]
    assert np.array_equal(got[0, 0], np.full((2, 2), 36 + 2 * 6 + 3))
    assert np.array_equal(got[1, 0], np.full((2, 2), 5 * 6 + 5))
    assert np.array_equal(got[2], np.zeros((1, 2, 2)))
    assert np.array_equal(got, fork_forward(feat, rois, 2, 2, 0.5))


@pytest.fixture(scope="module")
def net():
    return graph_of(net_text(LAYERS, FEATURES, 7))


@pytest.mark.parametrize("target", ["onnx", "pytorch", "tensorflow", "tflite"])
def test_every_target_pools_any_number_of_rois_as_the_reference(net, target, tmp_path_factory):
    model = Converted(net, target, tmp_path_factory.mktemp(target), ["pool32", "pool44"])
    feat = features_of(FEATURES, seed=3)
    for count in (1, 7, 61):
        rois = roi_set(count, FEATURES, seed=count)
        want = run(graph_of(net_text(LAYERS, FEATURES, count)), {"feat": feat, "rois": rois})
        got = model(feat, rois)
        for top, *_ in CASES:
            assert got[top].shape == want[top].shape, (top, count)
            assert np.array_equal(got[top], want[top]), (target, top, count, np.abs(got[top] - want[top]).max())


def test_the_onnx_model_declares_the_roi_count_dynamic(net, tmp_path):
    import onnx

    api.convert(net, "onnx", tmp_path / "m.onnx")
    graph = onnx.load(str(tmp_path / "m.onnx")).graph
    dims = {v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
            for v in [*graph.input, *graph.output]}
    assert dims == {"feat": ["N", 8, 12, 10], "rois": ["R", 5], "pool32": ["R", 8, 3, 2], "pool44": ["R", 8, 4, 4]}


def test_the_tflite_model_uses_builtin_operators_only(net, tmp_path):
    from mobile_nets import tflite_operators

    api.convert(net, "tflite", tmp_path / "m.tflite")
    builtins, custom = tflite_operators(tmp_path / "m.tflite")
    assert not custom and {"GATHER", "REDUCE_MAX", "FLOOR", "CEIL", "SELECT_V2"} <= builtins, (builtins, custom)


# ---- bad inputs: typed errors, exit 2, nothing written ----------------------------------------------------------


def invoke(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


def test_a_feature_map_smaller_than_the_pooled_grid_is_refused(tmp_path):
    text = net_text('layer { name: "p" type: "ROIPooling" bottom: "feat" bottom: "rois" top: "p" '
                    'roi_pooling_param { pooled_h: 7 pooled_w: 7 spatial_scale: 0.0625 } }', (1, 4, 6, 9), 3)
    with pytest.raises(ShapeError, match=r"layer 'p' \(ROIPooling\).*6 x 9 \(H x W\), smaller than the 7 x 7"):
        graph_of(text)
    path = tmp_path / "net.prototxt"
    path.write_text(text)
    result = invoke("convert", path, "--random-weights", "--to", "onnx", "-o", tmp_path / "m.onnx")
    assert result.exit_code == 2 and "smaller than the 7 x 7 pooled grid" in result.output
    assert not (tmp_path / "m.onnx").exists()


IMAGE_NET = """name: "fast_rcnn_bits"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 2 dim: 3 dim: 64 dim: 48 } } }
layer { name: "rois" type: "Input" top: "rois" input_param { shape { dim: 3 dim: 5 } } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
        convolution_param { num_output: 4 kernel_size: 3 stride: 4 pad: 1 } }
layer { name: "roi_pool" type: "ROIPooling" bottom: "conv" bottom: "rois" top: "roi_pool"
        roi_pooling_param { pooled_h: 2 pooled_w: 2 spatial_scale: 0.25 } }
"""
GOOD = [[0, 0, 0, 47, 63], [1, 10.5, 3, 12, 3], [1, 40, 50, 48, 64]]  # W x H = 48 x 64: up to 48 and 64


@pytest.mark.parametrize("row, message", [
    ([0, 10, 5, 4, 20], "has x2 < x1 or y2 < y1"),
    ([0, 10, 25, 14, 20], "has x2 < x1 or y2 < y1"),
    ([0, -1, 5, 14, 20], "lies outside the 48 x 64 (W x H) image"),
    ([1, 10, 5, 48.5, 20], "lies outside the 48 x 64 (W x H) image"),
    ([1, 10, 5, 14, 64.25], "lies outside the 48 x 64 (W x H) image"),
    ([2, 10, 5, 14, 20], "names image 2; the feature map has 2 image(s)"),
    ([-1, 10, 5, 14, 20], "names image -1"),
    ([0, 10, np.nan, 14, 20], "not finite"),
])
@pytest.mark.parametrize("command", ["run", "verify"])
def test_bad_rois_given_as_data_are_refused_before_anything_runs(tmp_path, row, message, command):
    net = tmp_path / "net.prototxt"
    net.write_text(IMAGE_NET)
    data = np.zeros((2, 3, 64, 48), np.float32)
    np.savez(tmp_path / "in.npz", data=data, rois=np.array([*GOOD[:2], row], np.float32))
    out = tmp_path / ("blobs.npz" if command == "run" else "report.json")
    tail = ["-o", out] if command == "run" else ["--to", "onnx", "--report", out]
    result = invoke(command, net, "--random-weights", "--inputs", tmp_path / "in.npz", *tail)
    assert result.exit_code == 2, result.output
    assert "InputValueError" in result.output and "layer 'roi_pool' (ROIPooling): the ROI input row 2" in result.output
    assert message in result.output
    assert not out.exists()


def test_good_rois_up_to_the_image_edge_run_and_verify(tmp_path):
    net = tmp_path / "net.prototxt"
    net.write_text(IMAGE_NET)
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "in.npz", data=rng.standard_normal((2, 3, 64, 48)).astype(np.float32),
             rois=np.array([*GOOD, [0, 3, 4, 5, 6]], np.float32))  # 4 rows where the prototxt says 3
    result = invoke("run", net, "--random-weights", "--inputs", tmp_path / "in.npz", "-o", tmp_path / "b.npz")
    assert result.exit_code == 0, result.output
    assert np.load(tmp_path / "b.npz")["roi_pool:roi_pool"].shape == (4, 4, 2, 2)
    result = invoke("verify", net, "--random-weights", "--inputs", tmp_path / "in.npz", "--to", "onnx",
                    "--report", tmp_path / "r.json")
    assert result.exit_code == 0, result.output
    import json

    records = json.loads((tmp_path / "r.json").read_text())["models"][0]["targets"][0]["blobs"]
    assert [r["shape"] for r in records if r["layer"] == "roi_pool"] == [[4, 4, 2, 2]]


def test_random_inputs_draw_valid_rois_and_verify_passes(tmp_path):
    net = tmp_path / "net.prototxt"
    net.write_text(IMAGE_NET)
    from caffe2x.frontend.input_values import check_input_values

    graph = api.load_net(net)
    inputs = api.random_inputs(graph, 0)
    check_input_values(graph, inputs)  # raises on a bad box
    assert np.all(inputs["rois"][:, 0] < 2) and np.all(inputs["rois"][:, 3] >= inputs["rois"][:, 1])
    result = invoke("verify", net, "--random-weights", "--to", "onnx", "--to", "pytorch")
    assert result.exit_code == 0, result.output


# ---- against the real fork's blobs (golden case fork_roi, made by forkbuild18) -------------------------------------

fork = pytest.mark.skipif(not fork_case_available(), reason=f"golden case {FORK_CASE} not in fixtures/golden yet")


@fork
def test_the_reference_matches_the_real_fork_on_every_roipooling_top():
    """Each layer on the fork's own bottoms: bit-exact (max pooling)."""
    checked = 0
    for layer, got, want in fork_layers_alone("ROIPooling"):
        assert got.shape == want.shape and np.array_equal(got, want), (layer, np.abs(got - want).max())
        checked += 1
    assert checked >= 5


@fork
@pytest.mark.parametrize("target", ["onnx", "pytorch", "tensorflow", "tflite"])
def test_every_target_matches_the_real_fork(target):
    graph, inputs, want = fork_blobs("ROIPooling")
    result = api.verify(graph, target, inputs, want, tolerance=1e-6)
    compared = {f"{r.layer}:{r.top}" for r in result.records}
    assert set(want) <= compared or target == "tflite", set(want) - compared  # TFLite: the net's outputs only
    assert result.passed, result.first_divergence


# ---- ROIs a layer computes (a Proposal's rows: their count only the data decides) ------------------------------------

ROWS_NET = net_text("""
layer { name: "keep" type: "TestKeepRows" bottom: "rois" top: "kept" }
layer { name: "pool" type: "ROIPooling" bottom: "feat" bottom: "kept" top: "pool"
        roi_pooling_param { pooled_h: 2 pooled_w: 2 spatial_scale: 0.25 } }
layer { name: "fc" type: "InnerProduct" bottom: "pool" top: "fc" inner_product_param { num_output: 3 } }
layer { name: "prob" type: "Softmax" bottom: "fc" top: "prob" }
""", FEATURES, 7)


@pytest.fixture
def keep_rows_layer():
    """A layer like a Proposal: the ROIs whose x1 is below 20, a row count only the data decides."""
    import caffe2x
    from caffe2x.extend import EMITTER_FAMILIES, LayerDef
    from caffe2x.targets.emitters import emitter_registry

    caffe2x.register_layer("TestKeepRows", LayerDef(lambda layer: None, lambda params, bottoms: [bottoms[0]],
                                                    data_dependent=(0,)),
                           lambda node, inputs: [inputs[0][inputs[0][:, 1] < 20]])
    yield
    for registry in (caffe2x.LAYERS, caffe2x.REFERENCE, *map(emitter_registry, EMITTER_FAMILIES)):
        registry.unregister("TestKeepRows")


def test_layers_after_a_data_dependent_roi_count_run_at_that_count(keep_rows_layer):
    """intelwild's Faster R-CNN/R-FCN finding: fc6 'made (41, 4096), shape rule says (1, 4096)'."""
    graph = graph_of(ROWS_NET)
    from caffe2x.weights import fill_random

    graph = fill_random(graph, seed=0)
    rois = roi_set(7, FEATURES)
    values = run(graph, {"feat": features_of(FEATURES), "rois": rois})
    kept = int((rois[:, 1] < 20).sum())
    assert 1 < kept < 7
    assert values["pool"].shape == (kept, 8, 2, 2) and values["prob"].shape == (kept, 3)
