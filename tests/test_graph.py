"""Building the IR: phases, inputs, SSA names, shape rules and typed errors."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import FIXTURES, golden_case

import caffe2x
from caffe2x.errors import GraphError, InputShapeError, ShapeError, UnsupportedLayerError, WeightsError
from caffe2x.io.prototxt import parse_prototxt_text
from caffe2x.layers.pooling import pooled_size

DATA = 'layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 4 dim: 8 dim: 8 } } }\n'


def graph_of(text: str, **shapes):
    return caffe2x.graph_from_net(parse_prototxt_text(DATA + text), input_shapes=shapes)


def test_in_place_layers_get_fresh_ssa_values():
    graph = graph_of("""
        layer { name: "conv" type: "Convolution" bottom: "data" top: "conv" convolution_param { num_output: 2 kernel_size: 1 } }
        layer { name: "relu" type: "ReLU" bottom: "conv" top: "conv" }
        layer { name: "drop" type: "Dropout" bottom: "conv" top: "conv" }""")
    conv, relu, drop = graph.nodes[1:]
    assert conv.outputs == ["conv@conv"] and relu.inputs == ["conv@conv"]
    assert relu.outputs == ["conv@relu"] and drop.outputs == ["conv"]
    assert (conv.tops, relu.tops, drop.tops) == (["conv"], ["conv"], ["conv"])
    assert graph.output_tops == ["conv"] and graph.outputs == ["conv"]
    keys = graph.blob_keys()
    assert keys["conv:conv"] == "conv@conv" and keys["relu:conv"] == "conv@relu"


def test_split_and_silence_are_dropped():
    graph = golden_case("concat_slice").load()
    assert {n.type for n in graph.nodes} == {"Input", "Slice", "Concat"}
    assert graph.aliases[("split", "sp1")] == "cat_c"
    assert graph.output_tops == ["cat_h", "cat_w", "sp1"]


def test_train_val_net_keeps_the_test_phase():
    graph = caffe2x.load_net(FIXTURES / "nets/lenet_train_test.prototxt",
                             input_shapes={"data": (2, 1, 28, 28)})
    types = [layer.type for layer in graph.caffe_layers]
    assert types[0] == "Data" and "Accuracy" not in types and "SoftmaxWithLoss" not in types
    assert [graph.values[v].top for v in graph.inputs] == ["data"]  # label is unused: dropped
    assert graph.output_tops == ["ip2"]


def test_train_val_net_needs_an_input_shape():
    with pytest.raises(InputShapeError, match=r"'data' \(from Data layer 'mnist'\)"):
        caffe2x.load_net(FIXTURES / "nets/lenet_train_test.prototxt")


def test_stage_and_level_rules():
    net = parse_prototxt_text(DATA + """
        state { level: 2 stage: "deploy" }
        layer { name: "a" type: "ReLU" bottom: "data" top: "a" include { stage: "deploy" } }
        layer { name: "b" type: "ReLU" bottom: "data" top: "b" include { min_level: 3 } }
        layer { name: "c" type: "ReLU" bottom: "data" top: "c" exclude { not_stage: "train" } }
        layer { name: "d" type: "ReLU" bottom: "data" top: "d" include { phase: TRAIN } }""")
    graph = caffe2x.graph_from_net(net)
    assert [n.name for n in graph.nodes] == ["data", "a"]


def test_input_shape_override_and_unknown_name():
    graph = graph_of("", data=(3, 4, 5, 5))
    assert graph.shape("data") == (3, 4, 5, 5)
    with pytest.raises(InputShapeError, match="'image'.*inputs are: 'data'"):
        graph_of("", image=(1, 3, 4, 4))


def test_unsupported_layers_are_reported_all_at_once_grouped_by_type():
    text = """
        layer { name: "p1" type: "Python" bottom: "data" top: "p1" }
        layer { name: "ohem" type: "BoxAnnotatorOHEM" bottom: "data" top: "ohem" }
        layer { name: "p2" type: "Python" bottom: "data" top: "p2" }
        layer { name: "bad_pool" type: "Pooling" bottom: "data" top: "bp" pooling_param { kernel_size: 99 } }"""
    with pytest.raises(UnsupportedLayerError) as info:
        graph_of(text)
    assert info.value.by_type == {"Python": ["p1", "p2"], "BoxAnnotatorOHEM": ["ohem"]}
    assert "Python (2): 'p1', 'p2'" in str(info.value)


@pytest.mark.parametrize("text, error, pattern", [
    ('layer { name: "r" type: "ReLU" bottom: "nope" top: "r" }', GraphError, "'nope' is never produced"),
    ('layer { name: "a" type: "ReLU" bottom: "b" top: "a" }\nlayer { name: "b" type: "ReLU" bottom: "a" top: "b" }',
     GraphError, "only produced later, by layer 'b'"),
    ('layer { name: "a" type: "ReLU" bottom: "data" top: "x" }\nlayer { name: "b" type: "TanH" bottom: "data" top: "x" }',
     GraphError, "top 'x' is already produced by 'a'"),
    ('layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 4 kernel_size: 1 group: 3 } }',
     ShapeError, "layer 'c' \\(Convolution\\): group 3 does not divide the 4 input channels"),
    ('layer { name: "p" type: "Pooling" bottom: "data" top: "p" pooling_param { kernel_size: 20 } }',
     ShapeError, "larger than the padded input"),
    ('layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 2 kernel_size: 11 } }',
     ShapeError, "exceeds the padded input"),
    ('layer { name: "e" type: "Eltwise" bottom: "data" top: "e" }', GraphError, "has 1 bottoms; Eltwise takes 2 to any"),
    ('layer { name: "r" type: "Reshape" bottom: "data" top: "r" reshape_param { shape { dim: 7 dim: -1 } } }',
     ShapeError, "cannot infer -1"),
    ('layer { name: "s" type: "Slice" bottom: "data" top: "a" top: "b" top: "c" }', ShapeError, "does not split evenly"),
    ('layer { name: "l" type: "LRN" bottom: "data" top: "l" lrn_param { local_size: 4 } }', ShapeError, "must be odd"),
])
def test_broken_nets_raise_typed_errors_naming_the_layer(text, error, pattern):
    with pytest.raises(error, match=pattern):
        graph_of(text)


def test_absurd_input_is_refused_before_allocation():
    text = 'layer { name: "big" type: "Input" top: "big" input_param { shape { dim: 1000000 dim: 1000000 } } }'
    with pytest.raises(ShapeError, match="at most 2147483647 elements"):
        caffe2x.graph_from_net(parse_prototxt_text(text))


@pytest.mark.parametrize("size, kernel, stride, pad, ceil, expected", [
    (14, 3, 2, 0, True, 7),   # ceil: (14-3)/2 = 5.5 -> 6, + 1
    (14, 3, 2, 0, False, 6),
    (14, 3, 2, 1, True, 8),
    (5, 2, 2, 1, True, 3),    # ceil gives 4, but the 4th window would start in the padding
    (13, 3, 2, 1, True, 7),
    (4, 2, 2, 1, True, 3),
    (112, 3, 2, 1, False, 56),  # DenseNet's floor-mode stem
])
def test_pooling_size_follows_caffe(size, kernel, stride, pad, ceil, expected):
    assert pooled_size(size, kernel, stride, pad, ceil) == expected


def test_weight_mismatch_names_layer_and_both_shapes(tmp_path):
    case = golden_case("conv_variants")
    wrong = golden_case("eltwise").caffemodel  # another net's weights
    with pytest.raises(WeightsError, match="is it for another net"):
        case.load(wrong)


def test_misshapen_blob_is_reported(tmp_path):
    from caffe2x.schema import NetParameter

    net = NetParameter()
    layer = net.layer.add(name="fc", type="InnerProduct")
    for shape in ((7, 59), (7,)):
        blob = layer.blobs.add()
        blob.shape.dim.extend(shape)
        blob.data.extend([0.0] * int(np.prod(shape)))
    path = tmp_path / "w.caffemodel"
    path.write_bytes(net.SerializeToString())
    case = golden_case("ip_reshape")
    with pytest.raises(WeightsError, match=r"layer 'fc' \(InnerProduct\) blob 0: expected shape \[7, 60\], "
                                           r"the caffemodel has \[7, 59\]"):
        case.load(path)


def test_parameter_and_flop_counts():
    graph = golden_case("lenet_mnist_trained").load()
    assert graph.total_params == 431_080
    conv1 = next(layer for layer in graph.caffe_layers if layer.name == "conv1")
    batch = graph.shape("data")[0]
    assert conv1.flops == batch * (2 * 20 * 24 * 24 * 25 + 20 * 24 * 24)
