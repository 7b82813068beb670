"""The command line: output formats, exit codes, and no tracebacks."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import FIXTURES, MODELS, golden_case

from caffe2x.cli import main

LENET = golden_case("lenet_mnist_trained")


def invoke(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


def test_inspect_json_has_exactly_the_documented_keys():
    result = invoke("inspect", LENET.prototxt, "-w", LENET.caffemodel, "--input-shape", "data=2,1,28,28", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert set(doc) == {"inputs", "outputs", "layers", "total_params", "flops"}
    assert doc["inputs"] == {"data": [2, 1, 28, 28]} and doc["outputs"] == ["prob"]
    assert set(doc["layers"][1]) == {"name", "type", "bottoms", "tops", "shapes", "params"}
    relu = next(layer for layer in doc["layers"] if layer["name"] == "relu1")
    assert relu["bottoms"] == ["ip1"] and relu["tops"] == ["ip1"]  # as written, in place
    assert doc["total_params"] == 431_080 and isinstance(doc["flops"], int)


def test_inspect_table_lists_layers_and_totals():
    result = invoke("inspect", MODELS / "bvlc_googlenet" / "deploy.prototxt")
    assert result.exit_code == 0
    assert "inception_4a/output" in result.output and "Concat" in result.output
    assert "parameters: 6,998,552" in result.output and "GFLOP" in result.output


@pytest.mark.parametrize("args, message", [
    (["inspect", "missing.prototxt"], "cannot read the prototxt"),
    (["inspect", FIXTURES / "nets/lenet_train_test.prototxt"], "give it with --input-shape"),
    (["inspect", LENET.prototxt, "--input-shape", "data=1,x"], "is not NAME=D0,D1"),
    (["inspect", LENET.prototxt, "-w", LENET.prototxt], "text prototxt"),
    (["inspect", LENET.prototxt, "-w", golden_case("eltwise").caffemodel], "is it for another net"),
    (["run", LENET.prototxt], "weights are needed"),
    (["inspect", LENET.prototxt, "--plugin", "no_such_module_x"], "cannot import plugin"),
])
def test_bad_input_exits_2_with_one_clear_message(args, message):
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert result.output.count("caffe2x: error (") == 1


def test_unsupported_layers_exit_2_grouped(tmp_path):
    net = tmp_path / "net.prototxt"
    net.write_text('input: "data" input_shape { dim: 1 dim: 3 dim: 4 dim: 4 }\n'
                   'layer { name: "a" type: "Python" bottom: "data" top: "a" }\n'
                   'layer { name: "b" type: "Python" bottom: "a" top: "b" }\n'
                   'layer { name: "c" type: "BoxAnnotatorOHEM" bottom: "b" top: "c" }\n')
    result = invoke("inspect", net)
    assert result.exit_code == 2
    assert "3 layer(s) of 2 unsupported type(s)" in result.output
    assert "Python (2): 'a', 'b'" in result.output and "BoxAnnotatorOHEM (1, from the R-FCN fork" in result.output


def test_run_writes_golden_format_blobs_and_respects_force(tmp_path):
    out = tmp_path / "blobs.npz"
    args = ["run", LENET.prototxt, "-w", LENET.caffemodel, "--inputs", LENET.path / "blobs.npz", "-o", out]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert "prob: shape [4, 10]" in result.output and "top-5" in result.output
    with np.load(out) as blobs:
        assert np.abs(blobs["prob:prob"] - LENET.blobs["prob:prob"]).max() < 1e-6
    again = invoke(*args)
    assert again.exit_code == 2 and "--force" in again.output
    assert invoke(*args, "--force").exit_code == 0
    assert [p.name for p in tmp_path.iterdir()] == ["blobs.npz"]  # no temporary files left


def test_run_with_random_weights():
    result = invoke("run", MODELS / "squeezenet_v1.1" / "deploy.prototxt", "--random-weights",
                    "--input-shape", "data=1,3,227,227")
    assert result.exit_code == 0, result.output
    assert "prob: shape [1, 1000, 1, 1]" in result.output


def test_custom_layer_plugin_from_the_command_line(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(FIXTURES.parent / "tests"))
    net = tmp_path / "net.prototxt"
    net.write_text('input: "data" input_shape { dim: 1 dim: 2 dim: 3 dim: 3 }\n'
                   'layer { name: "hs" type: "HardSwish" bottom: "data" top: "hs" }\n')
    assert invoke("inspect", net).exit_code == 2
    result = invoke("run", net, "--random-weights", "--plugin", "plugins.hardswish_layer")
    assert result.exit_code == 0, result.output
    assert "hs: shape [1, 2, 3, 3]" in result.output


def test_synth_weights_writes_a_caffemodel_whose_deep_activations_stay_in_range(tmp_path):
    from caffe2x import api
    from caffe2x.reference import run

    prototxt = MODELS / "resnet50" / "deploy.prototxt"
    out = tmp_path / "w.caffemodel"
    result = invoke("synth-weights", prototxt, "-o", out, "--seed", 7)
    assert result.exit_code == 0, result.output
    # torchvision's 25,557,032 + BatchNorm mean, variance and factor blobs + conv1's bias.
    assert "25,610,269 parameters" in result.output
    graph = api.load_net(prototxt, out)
    assert all(n.weights for n in graph.nodes if n.weight_shapes)
    x = np.random.default_rng(11).standard_normal(graph.values[graph.inputs[0]].shape).astype(np.float32)
    values = run(graph, {"data": x})
    # Uncalibrated random statistics gave logits of 1.5e4 here and a one-hot softmax.
    logits = values[next(n.outputs[0] for n in graph.nodes if n.name == "fc1000")]
    assert 0.1 < logits.std() < 20
    assert values[graph.outputs[0]].max() < 0.9


def test_calibrated_batchnorm_normalizes_its_input():
    from caffe2x import api
    from caffe2x.reference import run
    from caffe2x.weights import calibrate_batchnorm, fill_random

    case = golden_case("resnet50_thin")
    graph = calibrate_batchnorm(fill_random(api.load_net(case.prototxt, None, case.input_shapes), seed=1), seed=2)
    values = run(graph, api.random_inputs(graph, 2))  # the calibration's own input
    for node in (n for n in graph.nodes if n.type == "BatchNorm"):
        out = values[node.outputs[0]]
        axes = (0, *range(2, out.ndim))
        assert np.abs(out.mean(axis=axes)).max() < 1e-3, node.name
        assert np.abs(out.var(axis=axes) - 1).max() < 2e-2, node.name
