"""ROIPooling (rbgirshick/caffe-fast-rcnn 0dcd397b, roi_pooling_layer.cpp): the reference against
the fork's Forward_cpu transcribed line by line below, every target against the reference on
R = 1, 7 and many ROIs with one converted model each (R dynamic), and the bad inputs issue 18
names (a feature map smaller than the pooled grid; ROIs given as data outside the image or
inverted), which end in typed errors, exit 2 and nothing written."""

from __future__ import annotations

import math

import numpy as np
import pytest
from roi_nets import (
    FORK_CASE,
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

from caffe2x import api
from caffe2x.reference import run

FLT_MAX = np.float32(3.4028234663852886e38)
LAYERS = """
layer { name: "pool32" type: "ROIPooling" bottom: "feat" bottom: "rois" top: "pool32"
        roi_pooling_param { pooled_h: 3 pooled_w: 2 spatial_scale: 0.25 } }
layer { name: "pool44" type: "ROIPooling" bottom: "feat" bottom: "rois" top: "pool44"
        roi_pooling_param { pooled_h: 4 pooled_w: 4 spatial_scale: 0.5 } }
"""
FEATURES = (2, 70, 12, 10)  # 70 channels: two chunks of the runtimes (64 at a time)
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


def _net(count: int):
    return graph_of(net_text(LAYERS, FEATURES, count))


@pytest.fixture(scope="module")
def net():
    return _net(7)


@pytest.mark.parametrize("target", ["onnx", "pytorch", "tensorflow", "tflite"])
def test_every_target_pools_any_number_of_rois_as_the_reference(target, tmp_path_factory):
    for top, count, got, want in pooled_at_every_roi_count(_net, target, tmp_path_factory.mktemp(target),
                                                           ["pool32", "pool44"], FEATURES):
        assert np.array_equal(got, want), (target, top, count, np.abs(got - want).max())


def test_the_onnx_model_declares_the_roi_count_dynamic(net, tmp_path):
    dims = onnx_dims(net, tmp_path / "m.onnx")
    assert dims == {"feat": ["N", 70, 12, 10], "rois": ["R", 5], "pool32": ["R", 70, 3, 2], "pool44": ["R", 70, 4, 4]}


def test_the_tflite_model_uses_builtin_operators_only(net, tmp_path):
    builtins = tflite_builtins(net, tmp_path / "m.tflite")
    assert {"GATHER", "MAXIMUM", "FLOOR", "CEIL", "SELECT_V2"} <= builtins, builtins


# ---- bad inputs: typed errors, exit 2, nothing written ----------------------------------------------------------


def test_a_feature_map_smaller_than_the_pooled_grid_is_refused(tmp_path):
    text = net_text('layer { name: "p" type: "ROIPooling" bottom: "feat" bottom: "rois" top: "p" '
                    'roi_pooling_param { pooled_h: 7 pooled_w: 7 spatial_scale: 0.0625 } }', (1, 4, 6, 9), 3)
    assert_refused_before_converting(tmp_path, text, r"layer 'p' \(ROIPooling\).*6 x 9 \(H x W\), smaller than the 7 x 7",
                                     "onnx", "m.onnx", "smaller than the 7 x 7 pooled grid")


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

@needs_fork_case
def test_the_reference_matches_the_real_fork_on_every_roipooling_top():
    """Each layer on the fork's own bottoms: bit-exact (max pooling)."""
    assert_reference_is_the_fork("ROIPooling", at_least=5)


@needs_fork_case
@pytest.mark.parametrize("target", ["onnx", "pytorch", "tensorflow", "tflite"])
def test_every_target_matches_the_real_fork(target):
    assert_target_matches_the_fork("ROIPooling", target)


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
    assert values["pool"].shape == (kept, FEATURES[1], 2, 2) and values["prob"].shape == (kept, 3)


@needs_fork_case
def test_the_fork_case_verifies_through_the_cli():
    """Its maps are net inputs: the image's size is unknown, so ROIs past the map are not refused."""
    from conftest import GOLDEN

    case = GOLDEN / FORK_CASE
    result = invoke("verify", case / "net.prototxt", "-w", case / "net.caffemodel", "--to", "onnx",
                    "--reference", case / "blobs.npz")
    assert result.exit_code == 0, result.output


def test_convert_all_records_bad_rois_as_the_models_error(tmp_path):
    net = tmp_path / "net.prototxt"
    net.write_text(IMAGE_NET)
    np.savez(tmp_path / "in.npz", data=np.zeros((2, 3, 64, 48), np.float32),
             rois=np.array([*GOOD[:2], [0, 10, 5, 4, 20]], np.float32))
    (tmp_path / "zoo.yaml").write_text("models:\n  - name: bits\n    prototxt: net.prototxt\n"
                                       "    random_weights: true\n    inputs: in.npz\n    targets: [onnx]\n")
    result = invoke("convert-all", tmp_path / "zoo.yaml", "-o", tmp_path / "out", "--json")
    assert result.exit_code == 1, result.output
    assert "the ROI input row 2" in result.output and "has x2 < x1 or y2 < y1" in result.output
    assert not (tmp_path / "out" / "bits" / "model.onnx").exists()


def test_onnx_declares_a_proposals_row_count_and_what_follows_it_apart_from_the_batch():
    """Declared N (the Proposal's placeholder rows grow with the batch in its shape rule), onnxruntime
    reused an N-sized buffer for the ROIs' tensors and failed at run time (R-FCN, wild nets)."""
    from conftest import FIXTURES

    from caffe2x.targets.onnx.convert import to_onnx

    net = FIXTURES / "wild" / "faster_rcnn_zf_test.prototxt"
    from caffe2x.weights import synthetic_weights

    graph = synthetic_weights(api.load_net(net, input_shapes={"data": (1, 3, 224, 224), "im_info": (1, 3)}), 0)
    model = to_onnx(graph, keep_intermediate=True).skeleton
    dims = {v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim] for v in model.graph.output}
    rows = dims["rois"][0]
    assert rows != "N" and isinstance(rows, str), dims["rois"]
    assert dims["roi_pool_conv5"][0] == dims["fc6"][0] == dims["cls_prob"][0] == rows
    assert dims["conv5"][0] == "N"
