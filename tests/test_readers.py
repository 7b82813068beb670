"""Prototxt and caffemodel readers: formats, zero-copy weights, damaged files."""

from __future__ import annotations

import mmap

import numpy as np
import pytest
from conftest import FIXTURES, golden_case, normalized_error

import caffe2x
from caffe2x.errors import PrototxtError, WeightsError
from caffe2x.io.caffemodel import read_caffemodel
from caffe2x.io.prototxt import parse_prototxt_text
from caffe2x.reference import as_golden_blobs, run
from caffe2x.schema import NetParameter

LENET = golden_case("lenet_mnist_trained")


def test_weights_are_views_over_the_mapped_file():
    weights = read_caffemodel(LENET.caffemodel)
    blob = weights.blobs["ip1"][0].data
    assert blob.size == 500 * 800
    base = blob
    while isinstance(base, np.ndarray) and base.base is not None:
        base = base.base
    if isinstance(base, memoryview):
        base = base.obj
    assert isinstance(base, mmap.mmap), "weights were copied instead of mapped"
    assert not blob.flags.writeable, "the caffemodel must never be modified through a view"


def test_attached_weights_stay_views():
    graph = LENET.load()
    weight = graph.node("ip1").weights[0]
    assert weight.shape == (500, 800)
    assert not weight.flags.owndata


def test_caffemodel_train_only_layers_are_ignored():
    weights = read_caffemodel(LENET.caffemodel)
    assert weights.types["loss"] == "SoftmaxWithLoss"  # in the file, not in the deploy net
    LENET.load()  # and loading the deploy net does not mind them


def test_v0_prototxt_runs_with_the_trained_lenet():
    graph = caffe2x.load_net(FIXTURES / "legacy_v0/lenet_v0.prototxt", LENET.caffemodel)
    got = as_golden_blobs(graph, run(graph, LENET.inputs))
    assert normalized_error(got["prob:prob"], LENET.blobs["prob:prob"]) < 1e-6
    assert [layer.type for layer in graph.caffe_layers][:3] == ["Input", "Convolution", "Pooling"]


def test_v0_padding_layer_becomes_the_pad_of_its_convolution():
    net = parse_prototxt_text("""
        input: "data" input_dim: 1 input_dim: 3 input_dim: 8 input_dim: 8
        layers { layer { name: "pad1" type: "padding" pad: 2 } bottom: "data" top: "pad1" }
        layers { layer { name: "conv1" type: "conv" num_output: 4 kernelsize: 5 } bottom: "pad1" top: "conv1" }
    """)
    graph = caffe2x.graph_from_net(net)
    conv = graph.node("conv1")
    assert conv.params.pad == (2, 2) and conv.inputs == ["data"]
    assert graph.shape("conv1") == (1, 4, 8, 8)


def _v0_caffemodel(tmp_path):
    """The trained LeNet re-saved in the V0 layout (blobs inside layers.layer)."""
    source = read_caffemodel(LENET.caffemodel)
    net = NetParameter(name="LeNet-V0")
    for name, blobs in source.blobs.items():
        wrapper = net.layers.add()
        wrapper.layer.name = name
        for blob in blobs:
            proto = wrapper.layer.blobs.add()
            proto.num, proto.channels, proto.height, proto.width = (1,) * (4 - len(blob.shape)) + blob.shape
            proto.data.extend(blob.data.tolist())
    path = tmp_path / "v0.caffemodel"
    path.write_bytes(net.SerializeToString())
    return path


def test_v0_caffemodel_with_legacy_4d_blob_shapes(tmp_path):
    weights = read_caffemodel(_v0_caffemodel(tmp_path))
    assert weights.format == "v0"
    assert weights.blobs["ip1"][0].legacy_shape == (1, 1, 500, 800)
    graph = caffe2x.load_net(LENET.prototxt, weights, LENET.input_shapes)
    got = as_golden_blobs(graph, run(graph, LENET.inputs))
    assert normalized_error(got["prob:prob"], LENET.blobs["prob:prob"]) < 1e-6


def test_double_data_blobs_are_read(tmp_path):
    net = NetParameter()
    layer = net.layer.add(name="scale", type="Scale")
    blob = layer.blobs.add()
    blob.shape.dim.append(3)
    blob.double_data.extend([0.5, 1.5, 2.5])
    path = tmp_path / "double.caffemodel"
    path.write_bytes(net.SerializeToString())
    data = read_caffemodel(path).blobs["scale"][0].data
    assert data.dtype == np.float32 and data.tolist() == [0.5, 1.5, 2.5]


@pytest.mark.parametrize("cut", [1, 100, 5000, 1_000_000, -1])
def test_truncated_caffemodel_is_a_clear_error(tmp_path, cut):
    raw = LENET.caffemodel.read_bytes()
    path = tmp_path / "cut.caffemodel"
    path.write_bytes(raw[:cut] if cut > 0 else raw[:-3])
    with pytest.raises(WeightsError, match=r"cut\.caffemodel"):
        caffe2x.load_net(LENET.prototxt, path, LENET.input_shapes)


@pytest.mark.parametrize("content", [b"", b"\xff" * 64, b"garbage\x00\x01\x02" * 10,
                                     b'name: "LeNet"\nlayer { name: "x" }\n'])
def test_garbage_caffemodel_is_a_clear_error(tmp_path, content):
    path = tmp_path / "bad.caffemodel"
    path.write_bytes(content)
    with pytest.raises(WeightsError, match=r"bad\.caffemodel"):
        read_caffemodel(path)


def test_text_prototxt_given_as_weights_gets_a_hint(tmp_path):
    with pytest.raises(WeightsError, match="text prototxt"):
        read_caffemodel(LENET.prototxt)


@pytest.mark.parametrize("text, where", [
    ('layer { name: "a" typo: 3 }', "line 1, column 19"),
    ('layer {\n name: "a"\n type: "Pooling"\n pooling_param { pool: MAXX } }', "line 4"),
    ('layer { name: "a"', "line 1"),
    ('layer { name: "a" }\nlayers { name: "b" }', "both 'layer'"),
])
def test_prototxt_errors_name_the_place(text, where):
    with pytest.raises(PrototxtError, match=where):
        parse_prototxt_text(text, "net.prototxt")


def test_binary_file_as_prototxt(tmp_path):
    with pytest.raises(PrototxtError, match="binary"):
        caffe2x.load_net(LENET.caffemodel)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(PrototxtError, match="cannot read"):
        caffe2x.load_net(tmp_path / "nope.prototxt")
    with pytest.raises(WeightsError, match="cannot read"):
        caffe2x.load_net(LENET.prototxt, tmp_path / "nope.caffemodel")
