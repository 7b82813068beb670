"""Output shaping (issue 16): --outputs cuts the net at chosen layers; --to all writes
every target into one folder."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from conftest import golden_case

from caffe2x import api
from caffe2x.cli import main
from caffe2x.errors import GraphError


def test_cut_keeps_exactly_what_the_chosen_layers_need():
    case = golden_case("bvlc_googlenet_thin")
    graph = case.load()
    cut = api.cut(graph, ["inception_3a/output", "conv1/relu_7x7"])
    assert cut.output_tops == ["conv1/7x7_s2", "inception_3a/output"]
    assert {node.name for node in cut.nodes} >= {"conv1/7x7_s2", "inception_3a/5x5"}
    assert not {node.name for node in cut.nodes} & {"inception_3b/1x1", "loss3/classifier", "prob"}
    assert cut.inputs == graph.inputs and len(cut.caffe_layers) < len(graph.caffe_layers)
    assert len(graph.nodes) > len(cut.nodes)  # the graph given is left as it was
    with pytest.raises(GraphError, match=r"'inception_3a/outptu' \(did you mean 'inception_3a/output'\?\)"):
        api.cut(graph, ["inception_3a/outptu"])


def test_verify_outputs_compares_the_cut_net_against_caffe():
    pytest.importorskip("onnxruntime")
    case = golden_case("bvlc_googlenet_thin")
    args = ["verify", str(case.prototxt), "-w", str(case.caffemodel), "--reference", str(case.path / "blobs.npz"),
            "--to", "onnx", "--outputs", "pool5/7x7_s1", "--json"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert '"loss3/classifier' not in result.output and '"pool5/7x7_s1' in result.output


def test_inspect_outputs_and_an_unknown_layer(tmp_path):
    case = golden_case("bvlc_googlenet_thin")
    result = CliRunner().invoke(main, ["inspect", str(case.prototxt), "--outputs", "conv2/3x3"])
    assert result.exit_code == 0 and "outputs: conv2/3x3" in result.output and "inception" not in result.output
    result = CliRunner().invoke(main, ["convert", str(case.prototxt), "-w", str(case.caffemodel), "--to", "onnx",
                                       "-o", str(tmp_path / "m.onnx"), "--outputs", "nope"])
    assert result.exit_code == 2 and "names no layer" in result.output and not (tmp_path / "m.onnx").exists()


def test_convert_to_all_writes_every_target_into_one_folder(tmp_path):
    for module in ("onnx", "torch", "tensorflow"):
        pytest.importorskip(module)
    case = golden_case("lenet_mnist_trained")
    out = tmp_path / "lenet"
    args = ["convert", str(case.prototxt), "-w", str(case.caffemodel), "--to", "all", "-o", str(out),
            "--opset", "17", "--layout", "nchw", "--outputs", "ip2"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["model.onnx", "model.tflite", "pytorch", "tensorflow"]
    import onnx

    assert onnx.load(str(out / "model.onnx")).opset_import[0].version == 17
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 2 and "--force" in again.output
    assert CliRunner().invoke(main, [*args, "--force"]).exit_code == 0

