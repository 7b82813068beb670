"""--random-weights draws the weights synth-weights writes (He scaling, BatchNorm statistics
measured on a forward pass), so verifying a deep net without its caffemodel is meaningful;
and a BatchNorm-like type of a fork or plugin is calibrated through LayerDef.statistics."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import golden_case

import caffe2x
from caffe2x import api
from caffe2x.cli import main
from caffe2x.extend import BatchStatistics, LayerDef
from caffe2x.layers import LAYERS
from caffe2x.reference import REFERENCE, run
from caffe2x.weights import calibrate_batchnorm, calibration_inputs, fill_random, synthetic_weights

THIN_RESNET = golden_case("resnet50_thin")


def invoke(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


def _conv(name, bottom, outputs, kernel=1, stride=1, bias=False):
    return (f'layer {{ name: "{name}" type: "Convolution" bottom: "{bottom}" top: "{name}" convolution_param '
            f'{{ num_output: {outputs} kernel_size: {kernel} pad: {kernel // 2} stride: {stride} '
            f'bias_term: {str(bias).lower()} }} }}\n')


def _batchnorm(top, relu=True):
    text = (f'layer {{ name: "{top}/bn" type: "BatchNorm" bottom: "{top}" top: "{top}" }}\n'
            f'layer {{ name: "{top}/scale" type: "Scale" bottom: "{top}" top: "{top}" scale_param {{ bias_term: true }} }}\n')
    return text + (f'layer {{ name: "{top}/relu" type: "ReLU" bottom: "{top}" top: "{top}" }}\n' if relu else "")


def _se_bottleneck(name, bottom, middle, stride, project):
    """ResNet's bottleneck with a squeeze-and-excitation gate, as SENet's deploy nets write it
    with BVLC types (the gate as a two-bottom Scale)."""
    out = 4 * middle
    text = _conv(f"{name}_reduce", bottom, middle, 1, stride) + _batchnorm(f"{name}_reduce")
    text += _conv(f"{name}_3x3", f"{name}_reduce", middle, 3) + _batchnorm(f"{name}_3x3")
    text += _conv(f"{name}_increase", f"{name}_3x3", out) + _batchnorm(f"{name}_increase", relu=False)
    text += (f'layer {{ name: "{name}_pool" type: "Pooling" bottom: "{name}_increase" top: "{name}_pool" '
             'pooling_param { pool: AVE global_pooling: true } }\n')
    text += _conv(f"{name}_down", f"{name}_pool", out // 16, bias=True)
    text += f'layer {{ name: "{name}_down/relu" type: "ReLU" bottom: "{name}_down" top: "{name}_down" }}\n'
    text += _conv(f"{name}_up", f"{name}_down", out, bias=True)
    text += f'layer {{ name: "{name}_prob" type: "Sigmoid" bottom: "{name}_up" top: "{name}_up" }}\n'
    text += f'layer {{ name: "{name}_flat" type: "Flatten" bottom: "{name}_up" top: "{name}_flat" }}\n'
    text += (f'layer {{ name: "{name}_se" type: "Scale" bottom: "{name}_increase" bottom: "{name}_flat" '
             f'top: "{name}_se" scale_param {{ axis: 0 }} }}\n')
    shortcut = bottom
    if project:
        text += _conv(f"{name}_proj", bottom, out, 1, stride) + _batchnorm(f"{name}_proj", relu=False)
        shortcut = f"{name}_proj"
    text += f'layer {{ name: "{name}" type: "Eltwise" bottom: "{name}_se" bottom: "{shortcut}" top: "{name}" }}\n'
    return text + f'layer {{ name: "{name}/relu" type: "ReLU" bottom: "{name}" top: "{name}" }}\n'


def se_resnet50(width: int = 16, size: int = 224) -> str:
    """SE-ResNet-50's structure (3, 4, 6, 3 SE bottlenecks) at a quarter of its width."""
    text = f'name: "se_resnet50_quarter"\ninput: "data"\ninput_shape {{ dim: 1 dim: 3 dim: {size} dim: {size} }}\n'
    text += _conv("conv1", "data", width, 7, 2) + _batchnorm("conv1")
    text += ('layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1" '
             'pooling_param { pool: MAX kernel_size: 3 stride: 2 } }\n')
    bottom = "pool1"
    for stage, blocks in enumerate((3, 4, 6, 3)):
        for block in range(blocks):
            name = f"conv{stage + 2}_{block + 1}"
            text += _se_bottleneck(name, bottom, width * 2**stage, 2 if block == 0 and stage else 1, block == 0)
            bottom = name
    text += (f'layer {{ name: "pool5" type: "Pooling" bottom: "{bottom}" top: "pool5" '
             'pooling_param { pool: AVE global_pooling: true } }\n')
    text += 'layer { name: "fc" type: "InnerProduct" bottom: "pool5" top: "fc" inner_product_param { num_output: 1000 } }\n'
    return text + 'layer { name: "prob" type: "Softmax" bottom: "fc" top: "prob" }\n'


@pytest.mark.parametrize("width, size", [(16, 224), (32, 96)])
def test_a_deep_se_resnet_with_random_weights_verifies_at_the_default_tolerance(tmp_path, width, size):
    """Issue 15: uncalibrated random statistics let activations grow block after block until
    the SE gates' sigmoids amplify fp32 rounding: at 224 x 224 this net failed verify on onnx
    at 1.1e-1 (the issue's SE-ResNet-50: 6e-2); with synth-weights' recipe, 1.9e-5. At
    96 x 96 (3 x 3 maps in the last stage), statistics measured on verify's own input made
    each global pooling after a BatchNorm the difference of two equal numbers: 4.0e-4; measured
    on another input (weights.calibration_inputs), 4.6e-5."""
    net = tmp_path / "se_resnet50.prototxt"
    net.write_text(se_resnet50(width, size))
    result = invoke("verify", net, "--random-weights", "--to", "onnx", "--reference", "builtin",
                    "--tolerance", "1e-4", "--json")
    assert result.exit_code == 0, result.output[-2000:]
    blobs = json.loads(result.output)["models"][0]["targets"][0]["blobs"]
    assert len(blobs) > 200 and max(b["normalized_max"] for b in blobs) <= 1e-4


def test_statistics_are_measured_on_another_input_than_verifys_default():
    graph = api.load_net(THIN_RESNET.prototxt, None, THIN_RESNET.input_shapes)
    calibration, default = calibration_inputs(graph, 0), api.random_inputs(graph, 0)
    assert calibration.keys() == default.keys()
    assert all(calibration[k].shape == default[k].shape and not np.allclose(calibration[k], default[k])
               for k in default)


def test_random_weights_are_the_weights_synth_weights_writes(tmp_path):
    """One recipe: `run --random-weights` computes exactly what `run -w` computes with the
    caffemodel `synth-weights` wrote for the same seed."""
    written = tmp_path / "synth.caffemodel"
    assert invoke("synth-weights", THIN_RESNET.prototxt, "-o", written, "--seed", 3).exit_code == 0
    random_run = invoke("run", THIN_RESNET.prototxt, "--random-weights", "--seed", 3, "-o", tmp_path / "a.npz")
    file_run = invoke("run", THIN_RESNET.prototxt, "-w", written, "--seed", 3, "-o", tmp_path / "b.npz")
    assert random_run.exit_code == 0 and file_run.exit_code == 0, random_run.output + file_run.output
    with np.load(tmp_path / "a.npz") as a, np.load(tmp_path / "b.npz") as b:
        assert sorted(a) == sorted(b)
        for key in a:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_convert_all_random_weights_use_the_same_recipe(monkeypatch, tmp_path):
    from caffe2x import batch_worker, weights
    from caffe2x.batch import ModelSpec

    calls = []
    monkeypatch.setattr(weights, "synthetic_weights", lambda graph, seed: calls.append(seed) or graph)
    spec = ModelSpec(name="thin", prototxt=str(THIN_RESNET.prototxt), random_weights=True, seed=5,
                     targets=["onnx"], reference="builtin")
    batch_worker.run_model(spec, tmp_path)  # weights left unset fail later: only the call matters here
    assert calls == [5]


# A fork's BN in two variants, as PSPNet and SegNet write it: PSPNet's 4 blobs scale, shift,
# mean, variance (y = scale * (x - mean) / sqrt(variance + eps) + shift) and SegNet's 2 blobs
# scale, shift (normalized with the input's own statistics). Registered by the test as a
# plugin would register it; the layer's name picks the variant.
FORK_BN = "TestForkBN"
EPS = 1e-5


def _fork_bn_reference(node, inputs):
    x = inputs[0].astype(np.float64)
    blobs = [w.astype(np.float64).reshape(1, -1, 1, 1) for w in node.weights]
    if node.params == "pspnet":
        mean, variance = blobs[2], blobs[3]
    else:
        mean, variance = x.mean(axis=(0, 2, 3), keepdims=True), x.var(axis=(0, 2, 3), keepdims=True)
    return [blobs[0] * (x - mean) / np.sqrt(variance + EPS) + blobs[1]]


def _fork_bn_statistics(variant):
    if variant == "pspnet":
        return BatchStatistics(mean=2, variance=3, scale=0, shift=1)
    return BatchStatistics(mean=None, variance=None, scale=0, shift=1)


@pytest.fixture
def fork_bn():
    definition = LayerDef(lambda layer: "pspnet" if layer.name.startswith("psp") else "segnet",
                          lambda params, bottoms: [bottoms[0]],
                          weights=lambda params, bottoms: [(1, bottoms[0][1], 1, 1)] * (4 if params == "pspnet" else 2),
                          statistics=_fork_bn_statistics)
    caffe2x.register_layer(FORK_BN, definition, _fork_bn_reference)
    yield FORK_BN
    LAYERS.unregister(FORK_BN)
    REFERENCE.unregister(FORK_BN)


def _net_with(layer_type: str, name: str = "bn") -> str:
    return ('name: "bn_net" input: "data" input_shape { dim: 2 dim: 3 dim: 8 dim: 8 }\n'
            + _conv("conv", "data", 6, 3, bias=True)
            + f'layer {{ name: "{name}" type: "{layer_type}" bottom: "conv" top: "{name}" }}\n')


def test_a_plugin_bn_is_drawn_in_range_and_calibrated_through_its_statistics_hook(fork_bn, tmp_path):
    net = tmp_path / "net.prototxt"
    net.write_text(_net_with(fork_bn, "psp_bn"))
    graph = fill_random(api.load_net(net), seed=4)
    bn = next(n for n in graph.nodes if n.type == fork_bn)
    scale, shift, mean, variance = bn.weights
    assert np.abs(scale - 1).max() < 0.5 and np.abs(shift).max() < 0.5 and variance.min() >= 0.5
    calibrate_batchnorm(graph, seed=4)
    values = run(graph, api.random_inputs(graph, 4))  # the calibration's own input
    conv_out = values[next(n for n in graph.nodes if n.name == "conv").outputs[0]].astype(np.float64)
    np.testing.assert_allclose(bn.weights[2].ravel(), conv_out.mean(axis=(0, 2, 3)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn.weights[3].ravel(), conv_out.var(axis=(0, 2, 3)), rtol=1e-5)
    out = values[bn.outputs[0]].astype(np.float64)
    normalized = (out - shift.reshape(1, -1, 1, 1)) / scale.reshape(1, -1, 1, 1)
    assert np.abs(normalized.mean(axis=(0, 2, 3))).max() < 1e-4
    assert np.abs(normalized.var(axis=(0, 2, 3)) - 1).max() < 1e-3


def test_a_bn_variant_without_statistics_blobs_gets_its_scale_and_shift_and_no_calibration(fork_bn, tmp_path):
    net = tmp_path / "net.prototxt"
    net.write_text(_net_with(fork_bn, "segnet_bn"))
    graph = synthetic_weights(api.load_net(net), seed=4)
    scale, shift = next(n for n in graph.nodes if n.type == fork_bn).weights
    assert np.abs(scale - 1).max() < 0.5 and np.abs(shift).max() < 0.5  # not He-scaled like a filter


def test_bvlc_batchnorm_statistics_are_stored_times_its_factor():
    graph = synthetic_weights(api.load_net(THIN_RESNET.prototxt, None, THIN_RESNET.input_shapes), seed=1)
    values = run(graph, calibration_inputs(graph, 1))
    bn = next(n for n in graph.nodes if n.type == "BatchNorm")
    factor = float(bn.weights[2][0])
    assert factor == pytest.approx(0.999)
    measured = values[bn.inputs[0]].astype(np.float64)
    np.testing.assert_allclose(bn.weights[0] / factor, measured.mean(axis=(0, 2, 3)), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(bn.weights[1] / factor, measured.var(axis=(0, 2, 3)), rtol=1e-4)


def test_a_net_the_reference_cannot_run_still_gets_random_weights(tmp_path):
    """Calibration needs a forward pass; a plugin type without a reference kernel keeps the
    random statistics instead of making `convert --random-weights` fail."""
    caffe2x.register_layer("TestNoKernel", LayerDef(lambda layer: None, lambda params, bottoms: [bottoms[0]]))
    try:
        net = tmp_path / "net.prototxt"
        net.write_text(_net_with("BatchNorm")
                       + 'layer { name: "odd" type: "TestNoKernel" bottom: "bn" top: "odd" }\n')
        graph = synthetic_weights(api.load_net(net), seed=0)
        assert all(n.weights for n in graph.nodes if n.weight_shapes)
    finally:
        LAYERS.unregister("TestNoKernel")


def test_the_forks_bn_gets_measured_statistics_or_scale_and_shift():
    """PSPNet's BN (scale, shift, mean, variance) has its statistics measured like BatchNorm's;
    SegNet's (scale, shift only) gets a scale near 1: --random-weights never yields NaN."""
    from conftest import FIXTURES

    from caffe2x.reference import as_golden_blobs, run
    from caffe2x.weights import calibration_inputs, synthetic_weights

    graph = synthetic_weights(caffe2x.load_net(FIXTURES / "nets" / "forks" / "bn_pspnet_segnet.prototxt"))
    pspnet, segnet = (next(n for n in graph.nodes if n.name == name) for name in ("bn1", "bn2"))
    assert len(pspnet.weights) == 4 and len(segnet.weights) == 2
    blobs = as_golden_blobs(graph, run(graph, calibration_inputs(graph, 0)))
    conv = blobs["conv1:conv1"]
    assert np.allclose(pspnet.weights[2].ravel(), conv.mean(axis=(0, 2, 3)), atol=1e-5)
    assert np.allclose(pspnet.weights[3].ravel(), conv.var(axis=(0, 2, 3)), rtol=1e-4)
    assert abs(float(segnet.weights[0].mean()) - 1.0) < 0.2
    assert all(np.isfinite(blob).all() for blob in blobs.values())
