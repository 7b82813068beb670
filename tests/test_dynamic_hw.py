"""Dynamic height and width (issue 16): --input-shape data=1,3,?,? and --dynamic-hw keep them open
on every target, verify checks two sizes, and a net that cannot be dynamic is refused by name."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import golden_case

from caffe2x import api
from caffe2x.cli import main
from caffe2x.errors import DynamicShapeError, InputShapeError
from caffe2x.frontend.inputs import parse_input_shape
from caffe2x.parity import compare_blobs
from caffe2x.passes.dynamic import at_size, second_size
from caffe2x.reference import as_golden_blobs
from caffe2x.reference import run as forward
from caffe2x.targets import TARGETS


def test_question_marks_open_height_and_width_at_the_declared_nominal_size():
    assert parse_input_shape("data=1,3,?,?") == ("data", (1, 3, None, None))
    for bad in ("data=?,3,4,4", "data=1,?,4,4", "data=3,?", "data=1,3,?,0"):
        with pytest.raises(InputShapeError):
            parse_input_shape(bad)
    case = golden_case("nin_thin")
    graph = api.load_net(case.prototxt, case.caffemodel, {"data": (2, 3, None, None)})
    assert graph.dynamic == {"data": (2, 3)} and graph.values["data"].shape == (2, 3, 224, 224)
    other = second_size(graph)  # 32 more rows and columns: every pooling stage changes
    assert other.values["data"].shape == (2, 3, 256, 256) and other.values["pool4"].shape == (2, 10, 2, 2)
    assert graph.values["pool4"].shape == (2, 10, 1, 1)  # the graph given is left at its size


NO_DECLARED_SIZE = """name: "fcn_like"
layer { name: "data" type: "Python" top: "data" python_param { module: "layers" layer: "DataLayer" } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv" convolution_param { num_output: 2 kernel_size: 3 } }
"""


def test_a_question_mark_needs_a_declared_size_else_dynamic_hw_takes_the_given_one(tmp_path):
    net = tmp_path / "fcn.prototxt"
    net.write_text(NO_DECLARED_SIZE)
    with pytest.raises(InputShapeError, match=r"input 'data' declares no 4-D shape .* add --dynamic-hw"):
        api.load_net(net, None, {"data": (1, 3, None, None)})
    graph = api.load_net(net, None, {"data": (1, 3, 32, 32)}, dynamic_hw=True)
    assert graph.dynamic == {"data": (2, 3)} and second_size(graph).values["conv"].shape == (1, 2, 62, 62)


@pytest.mark.parametrize("target", ["onnx", "pytorch", "tensorflow"])
def test_pooling_is_sized_at_run_time_exactly_as_caffe_at_every_rounding(target):
    """Ceil and floor rounding, pads, the last window dropped, AVE divisors clipped: at the nominal
    14 x 14 and at sizes where each of them turns out differently, one converted model."""
    pytest.importorskip({"onnx": "onnxruntime", "pytorch": "torch", "tensorflow": "tensorflow"}[target])
    case = golden_case("pool_ceil_pad")
    graph = api.load_net(case.prototxt, case.caffemodel, dynamic_hw=True)
    sizes = [at_size(graph, {"data": (1, 3, h, w)}) for h, w in ((15, 16), (17, 19), (20, 13))]
    rng = np.random.default_rng(0)
    inputs = [{"data": rng.standard_normal(g.values["data"].shape).astype(np.float32)} for g in sizes]
    got = TARGETS.get(target).run_each(graph, [case.inputs, *inputs])
    assert compare_blobs(graph, target, "caffe", got[0], case.blobs).passed
    for other, feed, blobs in zip(sizes, inputs, got[1:]):
        result = compare_blobs(other, target, "builtin", blobs, as_golden_blobs(other, forward(other, feed)))
        assert result.passed and len(result.records) == 10, result.first_divergence


@pytest.mark.parametrize("target", ["tensorflow", "tflite"])
def test_grouped_and_dilated_deconvolution_take_the_size_at_run_time(target):
    """CaffeDeconv2D (groups, dilation) read the static height and width: None once they are open."""
    pytest.importorskip("tensorflow")
    case = golden_case("deconv")
    graph = api.load_net(case.prototxt, case.caffemodel, dynamic_hw=True)
    other = second_size(graph)
    feed = {"data": np.random.default_rng(3).standard_normal(other.values["data"].shape).astype(np.float32)}
    nominal, grown = TARGETS.get(target).run_each(graph, [case.inputs, feed])
    assert compare_blobs(graph, target, "caffe", nominal, case.blobs).passed
    result = compare_blobs(other, target, "builtin", grown, as_golden_blobs(other, forward(other, feed)))
    assert result.passed and len(result.records) == 3


def test_verify_a_fully_convolutional_golden_net_at_two_sizes_on_every_target():
    for module in ("onnxruntime", "torch", "tensorflow"):
        pytest.importorskip(module)
    case = golden_case("nin_thin")
    args = ["verify", str(case.prototxt), "-w", str(case.caffemodel), "--reference", str(case.path / "blobs.npz"),
            "--input-shape", "data=2,3,?,?", "--to", "onnx", "--to", "pytorch", "--to", "tensorflow", "--to", "tflite",
            "--json"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    targets = json.loads(result.output)["models"][0]["targets"]
    seen = [(t["target"], t["reference"]) for t in targets]
    for target in ("onnx", "pytorch", "tensorflow", "tflite"):
        assert (target, f"{case.path / 'blobs.npz'} at data 2x3x224x224") in seen
        assert (target, "builtin at data 2x3x256x256") in seen
    assert all(t["status"] == "passed" and t["compared"] > 0 for t in targets)
    final = [b for t in targets if t["reference"].startswith("builtin") for b in t["blobs"] if b["layer"] == "pool4"]
    assert len(final) == 4 and all(b["shape"] == [2, 10, 2, 2] for b in final)


def test_converted_onnx_and_torch_export_take_other_sizes(tmp_path):
    for module in ("onnxruntime", "torch"):
        pytest.importorskip(module)
    import onnxruntime as ort
    import torch

    case = golden_case("nin_thin")
    base = ["convert", str(case.prototxt), "-w", str(case.caffemodel), "--dynamic-hw"]
    # Up to the last ReLU: torch.export keeps height and width symbolic there (see the next test).
    for target, out in (("onnx", tmp_path / "m.onnx"), ("pytorch", tmp_path / "pt")):
        result = CliRunner().invoke(main, [*base, "--to", target, "-o", str(out), "--outputs", "relu11"])
        assert result.exit_code == 0, result.output
    session = ort.InferenceSession(str(tmp_path / "m.onnx"))
    dims = session.get_inputs()[0].shape
    assert dims[2:] == ["data_height", "data_width"]
    program = torch.export.load(tmp_path / "pt" / "model.pt2").module()
    graph = api.cut(api.load_net(case.prototxt, case.caffemodel), ["relu11"])
    for size in (224, 288):
        x = np.random.default_rng(size).standard_normal((1, 3, size, size)).astype(np.float32)
        other = at_size(graph, {"data": x.shape})
        want = forward(other, {"data": x})["cccp8"]
        got_onnx = session.run(None, {"data": x})[0]
        got_torch = program(torch.from_numpy(x)).detach().numpy()
        for got in (got_onnx, got_torch):
            assert got.shape == want.shape and np.abs(got - want).max() <= 1e-5 * np.abs(want).max()


def test_torch_export_that_cannot_stay_dynamic_says_so(tmp_path):
    pytest.importorskip("torch")
    case = golden_case("nin_thin")
    result = CliRunner().invoke(main, ["convert", str(case.prototxt), "-w", str(case.caffemodel), "--dynamic-hw",
                                       "--to", "pytorch", "-o", str(tmp_path / "pt")])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "pt" / "caffe2x.json").read_text())
    assert manifest["inputs"][0]["dynamic_axes"] == [2, 3]
    assert manifest["model.pt2"].startswith("exported at the nominal height and width: torch.export could not")


@pytest.mark.parametrize("case_name, extra, message", [
    ("bvlc_alexnet_thin", ["--dynamic-hw"],
     "layer 'fc6' (InnerProduct): its weights [[512, 1152], [512]] fit the nominal size only"),
    ("fork_segnet", ["--input-shape", "data=2,3,?,?"],
     "layer 'pool1' (Pooling): MAX pooling with a mask top"),
])
def test_a_net_that_cannot_be_dynamic_is_refused_by_layer_and_nothing_is_written(tmp_path, case_name, extra, message):
    case = golden_case(case_name)
    out = tmp_path / "m.onnx"
    result = CliRunner().invoke(main, ["convert", str(case.prototxt), "-w", str(case.caffemodel), "--to", "onnx",
                                       "-o", str(out), *extra])
    assert result.exit_code == 2, result.output
    assert "(DynamicShapeError)" in result.output and message in result.output and "Traceback" not in result.output
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_cut_before_the_fixed_layers_makes_a_classic_net_dynamic():
    """AlexNet's conv trunk (--outputs pool5) is fully convolutional: open height and width."""
    case = golden_case("bvlc_alexnet_thin")
    graph = api.cut(api.load_net(case.prototxt, case.caffemodel, dynamic_hw=True), ["pool5"])
    assert second_size(graph).values["pool5"].shape[2:] != graph.values["pool5"].shape[2:]
    with pytest.raises(DynamicShapeError, match="'fc6'"):
        second_size(api.load_net(case.prototxt, case.caffemodel, dynamic_hw=True))


@pytest.mark.parametrize("target", ["onnx", "pytorch", "tensorflow", "tflite"])
def test_crop_takes_the_second_bottoms_size_at_run_time(target):
    """Crop against a map whose size follows the input (softmax_crop's crops of `data` to the size
    of its pooled `small`, offsets 1 and 2): the real Caffe's blobs at the nominal size, Caffe's
    rules at the second size, one converted model."""
    pytest.importorskip({"onnx": "onnxruntime", "pytorch": "torch"}.get(target, "tensorflow"))
    case = golden_case("softmax_crop")
    graph = api.cut(api.load_net(case.prototxt, case.caffemodel, dynamic_hw=True), ["crop", "crop_all"])
    other = second_size(graph)
    assert other.values["crop"].shape[2:] == (19, 20) != graph.values["crop"].shape[2:]
    feed = {"data": np.random.default_rng(5).standard_normal(other.values["data"].shape).astype(np.float32)}
    nominal, grown = TARGETS.get(target).run_each(graph, [case.inputs, feed])
    result = compare_blobs(graph, target, "caffe", nominal, case.blobs)
    assert result.passed and {r.layer for r in result.records} >= {"crop", "crop_all"}, result.first_divergence
    result = compare_blobs(other, target, "builtin", grown, as_golden_blobs(other, forward(other, feed)))
    assert result.passed and {r.layer for r in result.records} >= {"crop", "crop_all"}, result.first_divergence


@pytest.fixture(scope="module")
def hed():
    """HED (fixtures/wild): five Crops of upsampled side outputs to the input's size, random weights,
    at a small nominal size with height and width open."""
    from conftest import FIXTURES

    from caffe2x.weights import fill_random

    graph = api.load_net(FIXTURES / "wild" / "hed_deploy.prototxt", None, {"data": (1, 3, 64, 64)}, dynamic_hw=True)
    return fill_random(graph, seed=2)


@pytest.mark.parametrize("target", ["onnx", "pytorch", "tensorflow", "tflite"])
def test_hed_keeps_height_and_width_dynamic_on_every_target(hed, target):
    pytest.importorskip({"onnx": "onnxruntime", "pytorch": "torch"}.get(target, "tensorflow"))
    sizes = [hed, at_size(hed, {"data": (1, 3, 96, 80)})]
    rng = np.random.default_rng(7)
    feeds = [{"data": rng.standard_normal(g.values["data"].shape).astype(np.float32)} for g in sizes]
    for graph, feed, blobs in zip(sizes, feeds, TARGETS.get(target).run_each(hed, feeds)):
        result = compare_blobs(graph, target, "builtin", blobs, as_golden_blobs(graph, forward(graph, feed)))
        assert result.passed, result.first_divergence
        if target == "tflite":  # its outputs only: the six edge maps, each at the input's size
            assert {r.top for r in result.records} == set(graph.output_tops)
        else:  # every blob: the five crops at the input's size
            crops = [r for r in result.records if r.layer == "crop"]
            assert len(crops) == 5
        assert all(tuple(r.shape[2:]) == graph.values["data"].shape[2:] for r in result.records
                   if r.layer in ("crop", "sigmoid-fuse"))


def test_hed_torch_export_keeps_height_and_width_dynamic(hed, tmp_path):
    torch = pytest.importorskip("torch")
    api.convert(hed, "pytorch", tmp_path / "pt")
    assert "model.pt2" not in json.loads((tmp_path / "pt" / "caffe2x.json").read_text())  # no fixed-size note
    program = torch.export.load(tmp_path / "pt" / "model.pt2").module()
    x = np.random.default_rng(8).standard_normal((1, 3, 80, 112)).astype(np.float32)
    other = at_size(hed, {"data": x.shape})
    want = forward(other, {"data": x})
    got = dict(zip(hed.output_tops, program(torch.from_numpy(x))))
    for top, array in got.items():
        expected = want[other.outputs[hed.output_tops.index(top)]]
        assert array.shape == expected.shape and np.abs(array.detach().numpy() - expected).max() <= 1e-5


def test_the_summary_separates_a_sized_label_from_its_verdict():
    """Each size is a row of the summary: the target and the input size, a space, the verdict."""
    pytest.importorskip("onnxruntime")
    case = golden_case("softmax_crop")
    result = CliRunner().invoke(main, ["verify", str(case.prototxt), "-w", str(case.caffemodel), "--to", "onnx",
                                       "--reference", str(case.path / "blobs.npz"), "--dynamic-hw",
                                       "--outputs", "crop"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    rows = lines[lines.index("summary:") + 1:-1]
    assert [row.split(") ", 1)[0].strip() for row in rows] == ["onnx (data 2x5x6x7", "onnx (data 2x5x38x39"]
    assert all(row.split(") ", 1)[1].strip().startswith("PASS") for row in rows), rows


FORK_INTERPS = ["interp_zoom2", "interp_zoom3", "interp_shrink2", "interp_shrink3", "interp_zoom3_shrink2",
                "interp_hw", "interp_hw_down", "interp_hw_same", "interp_1x1", "interp_row", "interp_zoom_over_hw",
                "interp_shrink_over_hw", "interp_hw_over_both", "interp_zoom1", "interp_crop_zoom", "interp_crop_hw",
                "interp_crop_end", "interp_crop_same"]


@pytest.mark.parametrize("target", ["onnx", "pytorch", "tensorflow", "tflite"])
def test_interp_is_sized_at_run_time_by_the_forks_rules(target):
    """Every size rule and crop of the PSPNet fork's Interp (golden case fork_interp) on a map whose
    size follows the input: the real fork's blobs at the nominal 9 x 7 (interp_hw_same then resizes
    to its own size, which is the copy), Caffe's rules at the second size, one converted model."""
    pytest.importorskip({"onnx": "onnxruntime", "pytorch": "torch"}.get(target, "tensorflow"))
    case = golden_case("fork_interp")
    graph = api.cut(api.load_net(case.prototxt, case.caffemodel, {"data": (2, 4, None, None)}), FORK_INTERPS)
    other = second_size(graph)
    assert other.values["interp_zoom3_shrink2"].shape[2:] != graph.values["interp_zoom3_shrink2"].shape[2:]
    feed = {"data": np.random.default_rng(6).standard_normal(other.values["data"].shape).astype(np.float32)}
    nominal, grown = TARGETS.get(target).run_each(graph, [{"data": case.inputs["data"]}, feed])
    for at, blobs, reference, name in ((graph, nominal, case.blobs, "caffe"),
                                       (other, grown, as_golden_blobs(other, forward(other, feed)), "builtin")):
        result = compare_blobs(at, target, name, blobs, reference)
        assert result.passed and {r.layer for r in result.records} == set(FORK_INTERPS), result.first_divergence


@pytest.fixture(scope="module")
def deeplab():
    """DeepLab v2 (fixtures/wild: dilated VGG-16, ASPP, Interp zoom_factor 8), random weights, 65 x 65
    with height and width open; its ImageSegData tops become inputs."""
    from conftest import FIXTURES

    from caffe2x.weights import fill_random

    path = FIXTURES / "wild" / "deeplab_v2_vgg16_test_val.prototxt"
    return fill_random(api.load_net(path, None, {"data": (1, 3, 65, 65)}, dynamic_hw=True), seed=1)


@pytest.mark.parametrize("target", ["onnx", "pytorch", "tensorflow", "tflite"])
def test_deeplab_keeps_height_and_width_dynamic_on_every_target(deeplab, target):
    pytest.importorskip({"onnx": "onnxruntime", "pytorch": "torch"}.get(target, "tensorflow"))
    sizes = [deeplab, second_size(deeplab)]
    assert sizes[1].values["fc8_interp"].shape[2:] == (97, 97) != sizes[0].values["fc8_interp"].shape[2:]
    rng = np.random.default_rng(9)
    feeds = [{deeplab.values[v].top: rng.standard_normal(g.values[v].shape).astype(np.float32)
              for v in deeplab.inputs} for g in sizes]
    for graph, feed, blobs in zip(sizes, feeds, TARGETS.get(target).run_each(deeplab, feeds)):
        result = compare_blobs(graph, target, "builtin", blobs, as_golden_blobs(graph, forward(graph, feed)))
        assert result.passed and "fc8_interp" in {r.top for r in result.records}, result.first_divergence
