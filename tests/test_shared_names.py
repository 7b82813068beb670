"""Caffe allows several layers with one name (HED's deploy net has five Crop layers
named "crop"). Every target treats each layer as its own; CAFFE_LAYERS and the blob
keys ("LAYER:TOP") still name the Caffe layer (issue #17)."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import FIXTURES

import caffe2x
from caffe2x import api
from caffe2x.cli import main
from caffe2x.errors import WeightsError
from caffe2x.io.prototxt import parse_prototxt_text
from caffe2x.reference import as_golden_blobs, run
from caffe2x.weights import fill_random
from caffe2x.weights import save_weights as write_caffemodel

TARGETS = ["onnx", "pytorch", "tensorflow", "tflite"]
IMPORTS = {"onnx": "onnxruntime", "pytorch": "torch", "tensorflow": "tensorflow", "tflite": "tensorflow"}

_HEAD = """
    name: "shared_names"
    layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 12 dim: 12 } } }
"""
_CROPS = """
    layer { name: "crop" type: "Crop" bottom: "conv_a" bottom: "conv_b" top: "crop_a"
            crop_param { axis: 2 offset: 1 } }
    layer { name: "crop" type: "Crop" bottom: "data" bottom: "conv_b" top: "crop_d"
            crop_param { axis: 2 offset: 0 } }
    layer { name: "fuse" type: "Concat" bottom: "crop_a" bottom: "crop_d" top: "fuse" }
"""
# Two Convolutions named "conv", two ReLUs named "relu", two Crops named "crop".
TWO_CONVS = textwrap.dedent(_HEAD + """
    layer { name: "conv" type: "Convolution" bottom: "data" top: "conv_a"
            convolution_param { num_output: 4 kernel_size: 3 pad: 1 } }
    layer { name: "relu" type: "ReLU" bottom: "conv_a" top: "conv_a" }
    layer { name: "conv" type: "Convolution" bottom: "conv_a" top: "conv_b"
            convolution_param { num_output: 4 kernel_size: 3 } }
    layer { name: "relu" type: "ReLU" bottom: "conv_b" top: "conv_b" }
""" + _CROPS)
# Loadable from a caffemodel the way Caffe loads it: the weighted layer is the first of its name.
WEIGHTED_FIRST = textwrap.dedent(_HEAD + """
    layer { name: "conv" type: "Convolution" bottom: "data" top: "conv_a"
            convolution_param { num_output: 4 kernel_size: 3 pad: 1 } }
    layer { name: "conv" type: "ReLU" bottom: "conv_a" top: "conv_a" }
    layer { name: "ip" type: "Convolution" bottom: "conv_a" top: "conv_b"
            convolution_param { num_output: 4 kernel_size: 3 } }
    layer { name: "conv" type: "TanH" bottom: "conv_b" top: "conv_b" }
""" + _CROPS)
EVERY_BLOB = {"conv:conv_a", "relu:conv_a", "conv:conv_b", "relu:conv_b", "crop:crop_a", "crop:crop_d", "fuse:fuse"}


def _random(text: str, seed: int = 0):
    graph = fill_random(caffe2x.graph_from_net(parse_prototxt_text(text)), seed)
    inputs = api.random_inputs(graph, seed)
    return graph, inputs, as_golden_blobs(graph, run(graph, inputs))


@pytest.mark.parametrize("target", TARGETS)
def test_layers_sharing_a_name_verify_with_random_weights(target):
    pytest.importorskip(IMPORTS[target])
    graph, inputs, reference = _random(TWO_CONVS)
    result = api.verify(graph, target, inputs, reference, tolerance=1e-5)
    assert result.passed, result.first_divergence
    compared = {f"{r.layer}:{r.top}" for r in result.records}
    assert compared == ({"fuse:fuse"} if target == "tflite" else EVERY_BLOB)


def test_each_layer_is_its_own_attribute_named_after_its_caffe_layer():
    pytest.importorskip("torch")
    from caffe2x.targets.torch import generate

    model = generate(_random(TWO_CONVS)[0])
    assert model.caffe_layers == {"conv": "conv", "relu": "relu", "conv_2": "conv", "relu_2": "relu",
                                  "crop": "crop", "crop_2": "crop", "fuse": "fuse"}
    assert "    'conv_2': 'conv',\n" in model.source
    assert model.state["conv.weight"].shape == (4, 3, 3, 3)
    assert model.state["conv_2.weight"].shape == (4, 4, 3, 3)


def test_each_layer_is_its_own_keras_layer_named_after_its_caffe_layer():
    pytest.importorskip("tensorflow")
    from caffe2x.targets.tensorflow import generate

    model = generate(_random(TWO_CONVS)[0])
    assert sorted(model.caffe_layers) == sorted(set(model.caffe_layers))
    assert [model.caffe_layers[k] for k in ("conv", "conv_2", "crop", "crop_2")] == ["conv", "conv", "crop", "crop"]
    assert "    'crop_2': 'crop',\n" in model.source


@pytest.mark.parametrize("target", TARGETS)
def test_layers_sharing_a_name_verify_from_a_caffemodel(target, tmp_path):
    pytest.importorskip(IMPORTS[target])
    net = tmp_path / "net.prototxt"
    net.write_text(WEIGHTED_FIRST)
    write_caffemodel(_random(WEIGHTED_FIRST)[0], tmp_path / "net.caffemodel")
    result = CliRunner().invoke(main, ["verify", str(net), "-w", str(tmp_path / "net.caffemodel"), "--to", target,
                                       "--reference", "builtin"])
    assert result.exit_code == 0, result.output
    graph = caffe2x.load_net(net, tmp_path / "net.caffemodel")
    inputs = api.random_inputs(graph, 1)
    result = api.verify(graph, target, inputs, as_golden_blobs(graph, run(graph, inputs)), tolerance=1e-5)
    assert result.passed and len(result.records) == (1 if target == "tflite" else 7), result.first_divergence


def test_the_first_layer_of_a_name_gets_the_caffemodel_blobs(tmp_path):
    """Caffe's Net::CopyTrainedLayersFrom copies a caffemodel layer into the first net
    layer of its name; here a later ReLU and TanH share the Convolution's name."""
    written = _random(WEIGHTED_FIRST)[0]
    write_caffemodel(written, tmp_path / "net.caffemodel")
    graph = caffe2x.graph_from_net(parse_prototxt_text(WEIGHTED_FIRST), tmp_path / "net.caffemodel")
    conv = next(n for n in graph.nodes if n.name == "conv")
    assert conv.type == "Convolution"
    assert np.array_equal(conv.weights[0], written.nodes[1].weights[0])


def test_a_weighted_layer_named_like_an_earlier_one_cannot_take_caffemodel_blobs(tmp_path):
    net = tmp_path / "net.prototxt"
    net.write_text(TWO_CONVS)
    write_caffemodel(_random(TWO_CONVS)[0], tmp_path / "net.caffemodel")
    with pytest.raises(WeightsError, match=r"layer 'conv' \(Convolution, top 'conv_b'\).*CopyTrainedLayersFrom"):
        caffe2x.load_net(net, tmp_path / "net.caffemodel")
    result = CliRunner().invoke(main, ["convert", str(net), "-w", str(tmp_path / "net.caffemodel"), "--to", "onnx",
                                       "-o", str(tmp_path / "m.onnx")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "name of its own" in result.output and not (tmp_path / "m.onnx").exists()


HED = FIXTURES / "wild" / "hed_deploy.prototxt"


@pytest.mark.parametrize("target", TARGETS)
def test_hed_with_five_crops_named_crop_verifies(target):
    pytest.importorskip(IMPORTS[target])
    graph = fill_random(caffe2x.load_net(HED, input_shapes={"data": (1, 3, 48, 48)}))
    inputs = api.random_inputs(graph, 0)
    result = api.verify(graph, target, inputs, as_golden_blobs(graph, run(graph, inputs)))
    assert result.passed, result.first_divergence
    crops = {r.top for r in result.records if r.layer == "crop"}
    assert crops == ({"upscore-dsn1", "upscore-dsn2", "upscore-dsn3", "upscore-dsn4", "upscore-dsn5"}
                     if target != "tflite" else set())


class _FakeBlob:
    def __init__(self):
        self.data = np.zeros((1, 2), np.float32)

    def reshape(self, *shape):
        self.data = np.zeros(shape, np.float32)


class _FakePycaffeNet:
    """pycaffe's Net as far as caffe_blobs uses it, with its real top_names: a dict by
    layer name (python/caffe/pycaffe.py), so the last of two "crop"s hides the first."""

    def __init__(self, *_args):
        self._layer_names = ["data", "crop", "crop"]
        self._tops = [[0], [1], [2]]
        self.blobs = {"data": _FakeBlob(), "crop_a": _FakeBlob(), "crop_b": _FakeBlob()}
        names = list(self.blobs)
        self.top_names = {layer: [names[i] for i in tops] for layer, tops in zip(self._layer_names, self._tops)}

    def reshape(self):
        pass

    def _top_ids(self, index):
        return self._tops[index]

    def _forward(self, start, end):
        for index in range(start, end + 1):
            for i in self._tops[index]:
                if index:  # each Crop writes its layer index
                    list(self.blobs.values())[i].data[...] = index


def test_pycaffe_reference_keeps_every_layer_sharing_a_name(monkeypatch):
    import sys
    import types

    from caffe2x.reference.pycaffe import caffe_blobs

    fake = types.SimpleNamespace(Net=_FakePycaffeNet, TEST=1, set_mode_cpu=lambda: None)
    monkeypatch.setitem(sys.modules, "caffe", fake)
    blobs = caffe_blobs("net.prototxt", "net.caffemodel", {"data": np.ones((1, 2), np.float32)})
    assert sorted(blobs) == ["crop:crop_a", "crop:crop_b", "data:data", "input:data"]
    assert blobs["crop:crop_a"].max() == 1 and blobs["crop:crop_b"].max() == 2
