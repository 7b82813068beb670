"""The mobile fork layers and BVLC's Clip/Swish against the real forks' blobs: the golden case
fork_mobile (made by forkbuild: weiliu89/caffe ssd with the forks' layer sources dropped in, each
named with its commit in the case's manifest). The net runs from its input, less the other
forks' layers (the YOLO Upsample, tested with the segmentation family) and what reads them, in
the reference and on every target; every blob must match the fork's."""

from __future__ import annotations

import pytest
from conftest import GOLDEN, golden_case, normalized_error

import caffe2x
from caffe2x import api
from caffe2x.forks import BVLC_LAYER_TYPES
from caffe2x.io.prototxt import read_prototxt
from caffe2x.reference import as_golden_blobs, run

CASE = "fork_mobile"
TOLERANCE = 1e-5
TYPES = {"ReLU6", "ShuffleChannel", "ConvolutionDepthwise", "DepthwiseConvolution", "Axpy", "Mish", "Clip", "Swish"}

pytestmark = pytest.mark.skipif(not (GOLDEN / CASE / "manifest.json").exists(),
                                reason=f"the golden case {CASE} comes from the forkbuild branch")


@pytest.fixture(scope="module")
def case():
    """(graph of the case less the other forks' types, the fork's blobs of it, inputs)."""
    golden = golden_case(CASE)
    net = read_prototxt(golden.prototxt)
    removed, kept = set(), []
    for layer in net.layer:  # BVLC's types and these; the Upsamples are tested with their family
        if layer.type not in BVLC_LAYER_TYPES | TYPES or removed & set(layer.bottom):
            removed.update(layer.top)
        else:
            kept.append(layer)
    del net.layer[:]
    net.layer.extend(kept)
    graph = caffe2x.graph_from_net(net, golden.caffemodel, golden.input_shapes, source=CASE)
    layers = {layer.name for layer in kept}
    want = {key: blob for key, blob in golden.blobs.items() if key.split(":")[0] in layers}
    return graph, want, golden.inputs


def test_the_case_holds_every_layer_type(case):
    graph, _, _ = case
    assert TYPES <= {node.type for node in graph.nodes}


def test_the_reference_matches_the_fork_on_every_blob(case):
    graph, want, inputs = case
    got = as_golden_blobs(graph, run(graph, inputs))
    errors = {key: normalized_error(got[key], blob) for key, blob in want.items() if not key.startswith("input:")}
    assert len(errors) >= 35
    assert max(errors.values()) <= TOLERANCE, max(errors.items(), key=lambda item: item[1])


@pytest.mark.parametrize("target", ["onnx", "pytorch", "tensorflow", "tflite"])
def test_every_target_matches_the_fork(case, target):
    graph, want, inputs = case
    result = api.verify(graph, target, inputs, want, reference_name="mobile forks", tolerance=TOLERANCE)
    compared = {record.layer for record in result.records}
    if target != "tflite":  # TFLite is compared on the net's outputs
        assert {node.name for node in graph.nodes if node.type in TYPES} <= compared
    assert result.passed, result.first_divergence
