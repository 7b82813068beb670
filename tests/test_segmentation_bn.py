"""BN of PSPNet (4 blobs, stored statistics) and of SegNet/ENet (2 blobs; INFERENCE: scale and
shift; LEARN: the batch's statistics at TEST too), the fork read from the bn_param's fields."""

from __future__ import annotations

import numpy as np
import pytest
from segmentation_nets import input_layer, integer_inputs, refused_by_cli

import caffe2x
from caffe2x import api
from caffe2x.errors import ShapeError
from caffe2x.io.prototxt import parse_prototxt_text
from caffe2x.reference import as_golden_blobs, run

TOLERANCE = 1e-5

LAYERS = {
    "psp": "slope_filler { value: 1 } bias_filler { value: 0 } frozen: true eps: 0.001",
    "psp_default_eps": "momentum: 0.95",
    "segnet_inference": "bn_mode: INFERENCE",
    "segnet_learn": "scale_filler { value: 1 } shift_filler { value: 0.001 }",  # LEARN, the default
    "no_fields": "",  # the SegNet fork's default: LEARN
}


def _net(shape=(2, 3, 5, 7)) -> str:
    lines = [input_layer("d", shape), input_layer("flat", (4, 6))]
    lines += [f'layer {{ name: "{name}" type: "BN" bottom: "d" top: "{name}" bn_param {{ {block} }} }}'
              for name, block in LAYERS.items()]
    lines.append('layer { name: "flat_learn" type: "BN" bottom: "flat" top: "flat_learn" bn_param { bn_mode: LEARN } }')
    lines.append('layer { name: "stats" type: "BN" bottom: "d" top: "stats" top: "stats_mean" top: "stats_var" }')
    return "\n".join(lines)


def _with_weights(graph, seed: int = 4):
    """Trained-looking blobs: scale near 1, small shift, mean near 0, a positive variance."""
    rng = np.random.default_rng(seed)
    for node in graph.nodes:
        if node.type == "BN":
            shape = node.weight_shapes[0]
            blobs = [1 + 0.2 * rng.standard_normal(shape), 0.1 * rng.standard_normal(shape),
                     0.3 * rng.standard_normal(shape), rng.uniform(0.5, 2.0, shape)]
            node.weights = [b.astype(np.float32) for b in blobs[:len(node.weight_shapes)]]
    graph.has_weights = True
    return graph


@pytest.fixture(scope="module")
def variants():
    graph = _with_weights(caffe2x.graph_from_net(parse_prototxt_text(_net())))
    inputs = {k: v + 1.5 for k, v in integer_inputs(graph).items()}
    return graph, inputs, as_golden_blobs(graph, run(graph, inputs))


def test_the_fork_and_its_blobs_come_from_the_fields(variants):
    graph, _, _ = variants
    nodes = {node.name: node for node in graph.nodes}
    assert [nodes[n].params.fork for n in LAYERS] == ["pspnet", "pspnet", "segnet", "segnet", "segnet"]
    assert nodes["psp"].weight_shapes == [(1, 3, 1, 1)] * 4 and nodes["segnet_learn"].weight_shapes == [(1, 3, 1, 1)] * 2
    assert nodes["psp"].params.eps == pytest.approx(0.001) and nodes["psp_default_eps"].params.eps == pytest.approx(1e-5)
    assert [nodes[n].params.batch_statistics for n in ("segnet_inference", "segnet_learn", "flat_learn", "no_fields")] == [
        False, True, True, True]


def test_the_arithmetic_of_each_fork(variants):
    graph, inputs, blobs = variants
    nodes = {node.name: node for node in graph.nodes}
    x = inputs["d"].astype(np.float64)
    scale, shift, mean, var = (w.astype(np.float64) for w in nodes["psp"].weights)
    want = (x - mean) / np.sqrt(var + np.float32(0.001)) * scale + shift  # bn_layer.cpp (PSPNet), TEST
    assert np.abs(blobs["psp:psp"] - want).max() < 1e-5
    scale, shift = (w.astype(np.float64) for w in nodes["segnet_inference"].weights)
    assert np.abs(blobs["segnet_inference:segnet_inference"] - (x * scale + shift)).max() < 1e-5
    scale, shift = (w.astype(np.float64) for w in nodes["segnet_learn"].weights)
    batch_mean = x.mean(axis=(0, 2, 3), keepdims=True)
    batch_var = (x * x).mean(axis=(0, 2, 3), keepdims=True) - batch_mean ** 2  # E(x²) - E(x)², SegNet's
    want = (x - batch_mean) / np.sqrt(batch_var + 1e-9) * scale + shift
    assert np.abs(blobs["segnet_learn:segnet_learn"] - want).max() < 1e-5
    # LEARN's tops 2 and 3: the batch mean and variance (without eps), 1 x C x 1 x 1
    assert np.abs(blobs["stats:stats_mean"] - batch_mean).max() < 1e-6
    assert np.abs(blobs["stats:stats_var"] - batch_var).max() < 1e-5 and blobs["stats:stats_var"].shape == (1, 3, 1, 1)


@pytest.mark.parametrize("target", ["onnx", "pytorch", "tensorflow", "tflite"])
def test_every_target_matches(variants, target):
    graph, inputs, blobs = variants
    result = api.verify(graph, target, inputs, blobs, tolerance=TOLERANCE)
    compared = {f"{r.layer}:{r.top}" for r in result.records}
    assert target == "tflite" or {"flat_learn:flat_learn", "stats:stats_mean", "stats:stats_var"} <= compared
    assert result.passed, result.first_divergence


@pytest.mark.parametrize("block, tops, message", [
    ("frozen: true bn_mode: INFERENCE", 1, "mixes PSPNet's fields"),
    ("frozen: true", 3, "PSPNet's BN has one top"),
    ("bn_mode: INFERENCE", 3, "only SegNet's LEARN BN has more tops"),
    ("", 2, "only SegNet's LEARN BN has more tops, two"),
])
def test_a_bn_of_both_forks_or_with_tops_it_cannot_have_is_refused(tmp_path, block, tops, message):
    top_list = " ".join(f'top: "bn1_{i}"' for i in range(tops))
    net = (input_layer("d", (1, 3, 4, 4)) +
           f'\nlayer {{ name: "bn1" type: "BN" bottom: "d" {top_list} bn_param {{ {block} }} }}')
    with pytest.raises(ShapeError, match=rf"'bn1'.*{message}"):
        caffe2x.graph_from_net(parse_prototxt_text(net))
    refused_by_cli(tmp_path, net, message)


def test_a_caffemodel_with_the_other_forks_blob_count_is_a_weights_error(tmp_path):
    from caffe2x.errors import WeightsError
    from caffe2x.io.caffemodel_writer import write_caffemodel

    net = tmp_path / "net.prototxt"
    net.write_text(input_layer("d", (1, 3, 4, 4)) +
                   '\nlayer { name: "bn1" type: "BN" bottom: "d" top: "bn1" bn_param { bn_mode: INFERENCE } }')
    graph = caffe2x.load_net(net)
    four = [(np.ones(3, np.float32), (1, 3, 1, 1))] * 4  # PSPNet's blobs under a SegNet prototxt
    write_caffemodel(graph.name, [("bn1", "BN", four)], tmp_path / "net.caffemodel")
    with pytest.raises(WeightsError, match=r"'bn1' \(BN\) needs 2 blob\(s\), the caffemodel has 4"):
        caffe2x.load_net(net, tmp_path / "net.caffemodel")


@pytest.mark.parametrize("count, fork", [(4, "pspnet"), (2, "segnet")])
def test_a_bn_naming_no_fork_is_told_by_its_caffemodels_blob_count(tmp_path, count, fork):
    """Both forks' nets have BN layers without a bn_param: PSPNet's 4 blobs, SegNet's 2."""
    from caffe2x.io.caffemodel_writer import write_caffemodel

    net = tmp_path / "net.prototxt"
    net.write_text(input_layer("d", (2, 3, 4, 4)) + '\nlayer { name: "bn1" type: "BN" bottom: "d" top: "bn1" }')
    blobs = [np.full(3, value, np.float32) for value in (2.0, 0.5, 1.0, 4.0)][:count]
    write_caffemodel("net", [("bn1", "BN", [(b, (1, 3, 1, 1)) for b in blobs])], tmp_path / "net.caffemodel")
    graph = caffe2x.load_net(net, tmp_path / "net.caffemodel")
    node = graph.nodes[-1]
    assert node.params.fork == fork and len(node.weights) == count
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 4)).astype(np.float32)
    got = run(graph, {"d": x})[node.outputs[0]]
    if fork == "pspnet":  # stored statistics, PSPNet's default eps
        want = (x - 1.0) / np.sqrt(4.0 + 1e-5) * 2.0 + 0.5
    else:  # SegNet's default mode, LEARN: the batch's statistics
        mean = x.mean(axis=(0, 2, 3), keepdims=True)
        want = (x - mean) / np.sqrt((x * x).mean(axis=(0, 2, 3), keepdims=True) - mean ** 2 + 1e-9) * 2.0 + 0.5
    assert np.abs(got - want).max() < 1e-5
