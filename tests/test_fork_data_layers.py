"""Forks' data layers, V1 enum types and fields in BVLC's blocks (issue 15): DeepLab's
IMAGE_SEG_DATA / hole / MAT_WRITE / SEG_ACCURACY, SegNet's DenseImageData and Monte Carlo
dropout, the SSD fork's AnnotatedData, Python data layers, Fast R-CNN's scale_train."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import FIXTURES

import caffe2x
from caffe2x import api
from caffe2x.cli import main
from caffe2x.errors import InputShapeError, PrototxtError
from caffe2x.layers.activation import dropout_test_scale
from caffe2x.reference import as_golden_blobs, run
from caffe2x.weights import fill_random

DEEPLAB_V1 = FIXTURES / "nets" / "forks" / "deeplab_v1_hole.prototxt"


def _net(tmp_path, text: str, name: str = "net.prototxt"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_deeplab_v1_net_reads_its_fork_types_and_hole_is_dilation(tmp_path):
    graph = caffe2x.load_net(DEEPLAB_V1)
    assert graph.inputs == ["data"] and graph.values["data"].shape == (1, 3, 33, 33)  # crop_size, batch_size
    types = [node.type for node in graph.nodes]
    assert "MatWrite" not in types and "SegAccuracy" not in types  # test-time side effects and metrics
    conv = next(node for node in graph.nodes if node.name == "conv1")
    assert conv.params.dilation == (2, 2) and graph.values["conv1"].shape == (1, 4, 33, 33)
    # The same net written with BVLC's dilation computes the same numbers.
    dilated = _net(tmp_path, DEEPLAB_V1.read_text().replace("hole: 2", "dilation: 2"))
    filled = fill_random(graph)
    inputs = api.random_inputs(filled, 0)
    twin = caffe2x.load_net(dilated)
    for mine, other in zip(filled.nodes, twin.nodes):
        other.weights = mine.weights
    assert np.array_equal(run(filled, inputs)["fc8"], run(twin, inputs)["fc8"])


def test_hole_h_and_hole_w_and_the_clash_with_dilation(tmp_path):
    text = DEEPLAB_V1.read_text()
    graph = caffe2x.load_net(_net(tmp_path, text.replace("hole: 2", "hole_h: 2 hole_w: 1")))
    assert next(n for n in graph.nodes if n.name == "conv1").params.dilation == (2, 1)
    both = _net(tmp_path, text.replace("hole: 2", "hole: 2 dilation: 2"), "both.prototxt")
    result = CliRunner().invoke(main, ["inspect", str(both)])
    assert result.exit_code == 2 and "hole and dilation" in result.output and "Traceback" not in result.output


def test_deeplab_v1_converts_and_verifies_on_onnx():
    pytest.importorskip("onnxruntime")
    graph = fill_random(caffe2x.load_net(DEEPLAB_V1))
    inputs = api.random_inputs(graph, 0)
    result = api.verify(graph, "onnx", inputs, as_golden_blobs(graph, run(graph, inputs)))
    assert result.passed, result.first_divergence


def test_an_unknown_v1_enum_type_names_the_layer_and_line(tmp_path):
    path = _net(tmp_path, 'layers { name: "odd" type: FANCY_THING bottom: "a" top: "b" }\n')
    with pytest.raises(PrototxtError, match=r"line 1.*'odd'.*FANCY_THING"):
        caffe2x.load_net(path)
    result = CliRunner().invoke(main, ["inspect", str(path)])
    assert result.exit_code == 2 and "FANCY_THING" in result.output and "Traceback" not in result.output


SEGNET_DATA = """
layer { name: "data" type: "DenseImageData" top: "data" top: "label"
  dense_image_data_param { source: "test.txt" batch_size: 2 shuffle: false new_height: 36 new_width: 48 } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv" convolution_param { num_output: 2 kernel_size: 3 } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "conv" bottom: "label" top: "loss" }
"""


def test_segnet_dense_image_data_is_an_input_shaped_by_its_parameters(tmp_path):
    graph = caffe2x.load_net(_net(tmp_path, SEGNET_DATA))
    assert graph.inputs == ["data"] and graph.values["data"].shape == (2, 3, 36, 48)
    cropped = SEGNET_DATA.replace("new_width: 48 }", "new_width: 48 crop_height: 20 crop_width: 24 }")
    assert caffe2x.load_net(_net(tmp_path, cropped, "c.prototxt")).values["data"].shape == (2, 3, 20, 24)
    grey = SEGNET_DATA.replace("shuffle: false", "is_color: false")
    assert caffe2x.load_net(_net(tmp_path, grey, "g.prototxt")).values["data"].shape == (2, 1, 36, 48)


ANNOTATED = """
layer { name: "data" type: "AnnotatedData" top: "data" top: "label" include { phase: TEST }
  transform_param { mean_value: 104 mean_value: 117 mean_value: 123
    resize_param { prob: 1 resize_mode: WARP height: 300 width: 300 interp_mode: LINEAR } }
  data_param { source: "lmdb" batch_size: 8 backend: LMDB }
  annotated_data_param { batch_sampler { } label_map_file: "labelmap.prototxt" } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv" convolution_param { num_output: 2 kernel_size: 3 } }
"""


def test_ssd_annotated_data_takes_its_size_from_resize_param(tmp_path):
    graph = caffe2x.load_net(_net(tmp_path, ANNOTATED))
    assert graph.values["data"].shape == (8, 3, 300, 300)
    graph = caffe2x.load_net(_net(tmp_path, ANNOTATED, "b.prototxt"), input_shapes={"data": (1, 3, 64, 64)})
    assert graph.values["conv"].shape == (1, 2, 62, 62)


PYTHON_DATA = """
layer { name: "input-data" type: "Python" top: "data" top: "im_info"
  python_param { module: "roi_data_layer.layer" layer: "RoIDataLayer" param_str: "'num_classes': 21" } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv" convolution_param { num_output: 2 kernel_size: 3 } }
"""


def test_a_python_data_layer_is_an_input_whose_shape_the_user_gives(tmp_path):
    path = _net(tmp_path, PYTHON_DATA)
    with pytest.raises(InputShapeError, match=r"'data' \(from Python layer 'input-data'\).*--input-shape"):
        caffe2x.load_net(path)
    graph = caffe2x.load_net(path, input_shapes={"data": (1, 3, 20, 20)})
    assert graph.inputs == ["data"] and graph.values["conv"].shape == (1, 2, 18, 18)
    result = CliRunner().invoke(main, ["inspect", str(path)])
    assert result.exit_code == 2 and "--input-shape" in result.output and "Traceback" not in result.output


def test_bvlc_image_data_with_a_fixed_size_needs_no_input_shape(tmp_path):
    text = ('layer { name: "data" type: "ImageData" top: "data" top: "label" transform_param { crop_size: 40 } '
            'image_data_param { source: "l.txt" batch_size: 4 new_height: 64 new_width: 64 } }\n'
            'layer { name: "c" type: "Convolution" bottom: "data" top: "c" '
            'convolution_param { num_output: 2 kernel_size: 3 } }\n')
    assert caffe2x.load_net(_net(tmp_path, text)).values["data"].shape == (4, 3, 40, 40)


DROPOUT = """
input: "data" input_shape { dim: 1 dim: 4 }
layer { name: "fc" type: "InnerProduct" bottom: "data" top: "fc" inner_product_param { num_output: 3 } }
layer { name: "drop" type: "Dropout" bottom: "fc" top: "fc" dropout_param { dropout_ratio: 0.3 %s } }
layer { name: "out" type: "InnerProduct" bottom: "fc" top: "out" inner_product_param { num_output: 2 } }
"""


def test_fast_rcnn_scale_train_false_scales_at_test_time(tmp_path):
    # dropout_layer.cpp of rbgirshick/caffe-fast-rcnn: TEST multiplies by 1/scale_, scale_ = 1/(1-p) in float.
    assert dropout_test_scale(0.3, True) == 1.0
    assert dropout_test_scale(0.3, False) == float(np.float32(1 / np.float32(1 / (1 - np.float32(0.3)))))
    graph = fill_random(caffe2x.load_net(_net(tmp_path, DROPOUT % "scale_train: false")))
    plain = caffe2x.load_net(_net(tmp_path, DROPOUT % "", "plain.prototxt"))
    for mine, other in zip(graph.nodes, plain.nodes):
        other.weights = mine.weights
    inputs = api.random_inputs(graph, 0)
    scaled, unscaled = as_golden_blobs(graph, run(graph, inputs)), as_golden_blobs(plain, run(plain, inputs))
    assert np.allclose(scaled["drop:fc"], unscaled["fc:fc"] * dropout_test_scale(0.3, False), rtol=1e-6)
    assert not np.allclose(scaled["out:out"], unscaled["out:out"])
    for target in ("onnx", "pytorch"):  # pytorch keeps Dropout layers for training: they must still scale
        pytest.importorskip({"onnx": "onnxruntime", "pytorch": "torch"}[target])
        result = api.verify(graph, target, inputs, scaled)
        assert result.passed, (target, result.first_divergence)


def test_bayesian_segnet_monte_carlo_dropout_is_converted_to_its_expectation_with_a_warning(tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        graph = caffe2x.load_net(_net(tmp_path, DROPOUT % "sample_weights_test: true"))
    assert any("sample_weights_test" in str(w.message) and "expectation" in str(w.message) for w in caught)
    drop = next(node for node in graph.nodes if node.name == "drop")
    assert drop.params.monte_carlo and drop.params.test_scale == 1.0


def test_a_users_fork_field_in_a_bvlc_block_reads_through_the_public_api(tmp_path):
    from caffe2x.io.params import block_field
    from caffe2x.io.params.declare import BLOCK_FIELDS

    text = ('input: "data" input_shape { dim: 1 dim: 2 dim: 4 dim: 4 }\n'
            'layer { name: "r" type: "ReLU" bottom: "data" top: "r" relu_param { negative_slope: 0.1 my_cap: 6.5 } }\n')
    path = _net(tmp_path, text)
    with pytest.raises(PrototxtError, match="my_cap"):  # undeclared: protobuf's error, with the line
        caffe2x.load_net(path)
    try:
        caffe2x.register_field("relu_param", caffe2x.Field("my_cap", 1001, float, default=0.0))
        with pytest.raises(caffe2x.RegistryError, match="already has a field"):
            caffe2x.register_field("relu_param", caffe2x.Field("negative_slope", 1002, float))
        from caffe2x.io.prototxt import read_prototxt

        (_, relu) = read_prototxt(path).layer
        assert block_field(relu, "relu_param", "my_cap") == 6.5 and relu.relu_param.negative_slope == pytest.approx(0.1)
        assert caffe2x.load_net(path).values["r"].shape == (1, 2, 4, 4)
    finally:
        BLOCK_FIELDS.pop(("relu_param", "my_cap"), None)


def test_deconvnet_v1_unpooling_reads_and_verifies():
    """DeconvNet's public prototxts are V1 (`type: UNPOOLING`, a fork enum value)."""
    graph = fill_random(caffe2x.load_net(FIXTURES / "nets" / "forks" / "deconvnet_v1_unpooling.prototxt"))
    assert [node.type for node in graph.nodes] == ["Input", "Convolution", "Pooling", "Unpooling"]
    pytest.importorskip("onnxruntime")
    inputs = api.random_inputs(graph, 0)
    result = api.verify(graph, "onnx", inputs, as_golden_blobs(graph, run(graph, inputs)))
    assert result.passed, result.first_divergence
