"""Every pass keeps the numerics: each node of the rewritten graph, fed the
original graph's values, reproduces the original value it now produces."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import GOLDEN_CASES, golden_case, normalized_error

from caffe2x.io.prototxt import parse_prototxt_text
from caffe2x.passes import DEFAULT_PASSES, fold_batchnorm_scale, fold_into_convolution, remove_dropout, run_passes
from caffe2x.reference import REFERENCE, run
from caffe2x.weights import fill_random


def _check_isolated(original, rewritten, inputs, tolerance=1e-5):
    values = run(original, inputs)
    compared = 0
    for node in rewritten.nodes:
        if node.type == "Input":
            continue
        outputs = REFERENCE.get(node.type)(node, [values[name] for name in node.inputs])
        for name, got in zip(node.outputs, outputs):
            compared += 1
            error = normalized_error(np.asarray(got, np.float32), values[name])
            assert error <= tolerance, f"{node.name} -> {name}: {error:.2e}"
    return compared


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_default_passes_keep_every_node_exact(name):
    case = golden_case(name)
    original = case.load()
    rewritten = run_passes(original)
    assert _check_isolated(original, rewritten, case.inputs) > 0
    # The original graph is untouched and every remaining key still names a Caffe blob.
    assert set(rewritten.blob_keys()) <= set(original.blob_keys())
    assert rewritten.output_tops == original.output_tops


def test_resnet_stacks_fold_into_convolutions():
    graph = run_passes(golden_case("resnet50_thin").load())
    types = {n.type for n in graph.nodes}
    assert "BatchNorm" not in types and "Scale" not in types
    conv1 = graph.node("conv1")
    assert conv1.fused == ["bn_conv1", "scale_conv1"] and conv1.params.bias_term
    assert graph.blob_keys()["scale_conv1:conv1"] == conv1.outputs[0]
    assert "conv1:conv1" not in graph.blob_keys()  # the raw convolution output no longer exists


def test_dropout_removed_and_output_name_kept():
    net = parse_prototxt_text('input: "x" input_shape { dim: 2 dim: 3 }\n'
                              'layer { name: "fc" type: "InnerProduct" bottom: "x" top: "fc" inner_product_param { num_output: 4 } }\n'
                              'layer { name: "drop" type: "Dropout" bottom: "fc" top: "fc" }')
    from caffe2x import graph_from_net

    graph = fill_random(graph_from_net(net))
    cleaned = remove_dropout(graph)
    assert [n.type for n in cleaned.nodes] == ["Input", "InnerProduct"]
    assert cleaned.outputs == ["fc"] and cleaned.node("fc").outputs == ["fc"]
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    assert np.array_equal(run(cleaned, {"x": x})["fc"], run(graph, {"x": x})["fc"])


def test_standalone_scale_and_batchnorm_on_inner_product():
    net = parse_prototxt_text('input: "x" input_shape { dim: 2 dim: 6 }\n'
                              'layer { name: "fc" type: "InnerProduct" bottom: "x" top: "fc" inner_product_param { num_output: 5 transpose: true } }\n'
                              'layer { name: "bn" type: "BatchNorm" bottom: "fc" top: "fc" }\n'
                              'layer { name: "sc" type: "Scale" bottom: "fc" top: "sc" scale_param { bias_term: false } }')
    from caffe2x import graph_from_net

    graph = fill_random(graph_from_net(net), seed=3)
    folded = fold_into_convolution(fold_batchnorm_scale(graph))
    assert [n.type for n in folded.nodes] == ["Input", "InnerProduct"]
    x = np.random.default_rng(1).standard_normal((2, 6)).astype(np.float32)
    assert normalized_error(run(folded, {"x": x})["sc"], run(graph, {"x": x})["sc"]) < 1e-6


def test_default_pass_list_is_what_run_passes_uses():
    assert DEFAULT_PASSES == [remove_dropout, fold_batchnorm_scale, fold_into_convolution]


@pytest.mark.parametrize("name", ["resnet50_thin", "bn_scale"])
def test_merge_scale_into_batchnorm_is_exact(name):
    from caffe2x.passes import merge_scale_into_batchnorm

    case = golden_case(name)
    original = case.load()
    merged = merge_scale_into_batchnorm(original)
    affine = [n for n in merged.nodes if n.type == "BatchNorm" and n.params.affine]
    assert affine and all(len(n.weights) == 5 for n in affine)
    assert _check_isolated(original, merged, case.inputs, tolerance=1e-6) > 0
    # ... and the ONNX emitter handles an affine BatchNorm when folding is off
    pytest.importorskip("onnx")
    from caffe2x import api
    from caffe2x.targets.onnx import to_onnx

    to_onnx(merged, passes=[])  # emits BatchNormalization with gamma/beta
    assert api.verify(merged, "onnx", case.inputs, case.blobs, tolerance=3e-4).passed
