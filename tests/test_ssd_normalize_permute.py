"""The SSD fork's Normalize and Permute against the real fork's blobs.

Each Normalize and Permute layer of the three SSD golden cases runs alone, fed the fork's own
bottoms, in the NumPy reference and converted to ONNX, PyTorch, TensorFlow (Keras, NHWC inside)
and TFLite; its top must match the fork's to 1e-5 normalized (Permute exactly in the reference).
The schema is tested by tests/test_ssd_schema.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import GOLDEN, golden_case, normalized_error

import caffe2x
from caffe2x import api
from caffe2x.errors import ShapeError, WeightsError
from caffe2x.io.prototxt import parse_prototxt_text, read_prototxt
from caffe2x.reference import REFERENCE, as_golden_blobs, run

SSD_CASES = ("ssd_layers", "ssd_variants", "mobilenet_ssd")
TYPES = ("Normalize", "Permute")
TOLERANCE = 1e-5


def _blobs(case: str) -> dict[str, np.ndarray]:
    with np.load(GOLDEN / case / "blobs.npz") as data:
        return {key: data[key] for key in data.files}


def _bottom_key(layers, layer_index: int, bottom: str) -> str:
    """The golden key of a bottom: the top of the last earlier layer writing it, or the input."""
    for layer in reversed(layers[:layer_index]):
        if bottom in layer.top:
            return f"input:{bottom}" if layer.type == "Input" else f"{layer.name}:{bottom}"
    return f"input:{bottom}"


def _alone(case: str):
    """(graph of every Normalize and Permute of the case, each on Input layers holding its
    bottoms; inputs; the fork's blobs). Input blobs are named in_<bottom>."""
    net = read_prototxt(GOLDEN / case / "net.prototxt")
    blobs = _blobs(case)
    layers = list(net.layer)
    picked = [(i, layer) for i, layer in enumerate(layers) if layer.type in TYPES]
    inputs, lines = {}, []
    for i, layer in picked:
        for bottom in layer.bottom:
            data = blobs[_bottom_key(layers, i, bottom)]
            if f"in_{bottom}" not in inputs:
                inputs[f"in_{bottom}"] = data
                dims = " ".join(f"dim: {d}" for d in data.shape)
                lines.append(f'layer {{ name: "in_{bottom}" type: "Input" top: "in_{bottom}" '
                             f"input_param {{ shape {{ {dims} }} }} }}")
    alone = parse_prototxt_text("\n".join(lines))
    for _, layer in picked:
        copy = alone.layer.add()
        copy.CopyFrom(layer)  # the fork blocks travel with it
        copy.ClearField("bottom")
        copy.bottom.extend(f"in_{b}" for b in layer.bottom)
    graph = caffe2x.graph_from_net(alone, GOLDEN / case / "net.caffemodel", source=case)
    want = {f"{layer.name}:{top}": blobs[f"{layer.name}:{top}"] for _, layer in picked for top in layer.top}
    return graph, inputs, want


@pytest.mark.parametrize("case", SSD_CASES)
def test_each_net_end_to_end_up_to_the_layers_not_yet_registered(case):
    """The net from its inputs, less the layers whose type is not registered (PriorBox and
    DetectionOutput live on other branches) and those reading them: every blob, and every
    sampled blob of mobilenet_ssd's backbone, matches the fork's."""
    golden = golden_case(case)
    net = read_prototxt(golden.prototxt)
    removed, kept = set(), []
    for layer in net.layer:
        if layer.type not in caffe2x.LAYERS or removed & set(layer.bottom):
            removed.update(layer.top)
        else:
            kept.append(layer)
    del net.layer[:]
    net.layer.extend(kept)
    graph = caffe2x.graph_from_net(net, golden.caffemodel, golden.input_shapes, source=case)
    got = as_golden_blobs(graph, run(graph, golden.inputs))
    compared = [key for key in golden.blobs if key in got and not key.startswith("input:")]
    errors = {key: normalized_error(got[key], golden.blobs[key]) for key in compared}
    errors.update({f"{key}@": normalized_error(got[key].reshape(-1)[indices], want)
                   for key, (indices, want) in golden.samples.items()})
    assert len(compared) >= 10 and (case != "mobilenet_ssd" or len(golden.samples) >= 40)
    assert max(errors.values()) <= TOLERANCE, max(errors.items(), key=lambda item: item[1])


def test_the_cases_hold_both_layers_in_their_variants():
    graph, _, _ = _alone("ssd_variants")
    orders = {node.params.order for node in graph.nodes if node.type == "Permute"}
    assert {(0, 3, 1, 2), (0, 2)} <= orders  # a partial order, completed by the layer
    normalize = [node.params for node in graph.nodes if node.type == "Normalize"]
    assert {p.across_spatial for p in normalize} == {True, False}
    assert {n.params.channel_shared for n in _alone("ssd_layers")[0].nodes if n.type == "Normalize"} == {True, False}


@pytest.mark.parametrize("case", SSD_CASES)
def test_reference_matches_the_fork_per_layer(case):
    graph, inputs, want = _alone(case)
    values = dict(inputs)
    checked = 0
    for node in graph.nodes:
        if node.type in TYPES:
            (got,) = REFERENCE.get(node.type)(node, [values[v] for v in node.inputs])
            key = f"{node.name}:{node.tops[0]}"
            assert got.shape == want[key].shape, key
            if node.type == "Permute":  # moves values, computes none
                assert np.array_equal(got, want[key]), key
            assert normalized_error(np.asarray(got, np.float32), want[key]) <= TOLERANCE, key
            checked += 1
    assert checked == len(want)


@pytest.mark.parametrize("target", ["onnx", "pytorch", "tensorflow", "tflite"])
@pytest.mark.parametrize("case", SSD_CASES)
def test_every_target_matches_the_fork_per_layer(case, target):
    graph, inputs, want = _alone(case)
    result = api.verify(graph, target, inputs, want, reference_name="ssd fork", tolerance=TOLERANCE)
    compared = {f"{r.layer}:{r.top}" for r in result.records}
    assert set(want) <= compared, sorted(set(want) - compared)
    assert result.passed, result.first_divergence


# Forms the golden nets lack, each on its own input: a Permute moving the batch axis (Keras'
# Permute cannot), 3-D and 2-D blobs (kept in Caffe's order inside Keras, not NHWC), Normalize
# on 2-D and 3-D blobs with a per-channel scale, a shared scale with eps across space.
VARIANTS = [
    ((2, 3, 4, 5), 'type: "Permute" permute_param { order: 1 order: 0 }'),
    ((2, 3, 4, 5), 'type: "Permute" permute_param { order: 3 order: 2 order: 1 order: 0 }'),
    ((2, 3, 4), 'type: "Permute" permute_param { order: 0 order: 2 }'),
    ((3, 4), 'type: "Permute" permute_param { order: 1 }'),
    ((2, 3), 'type: "Normalize" norm_param { across_spatial: false channel_shared: false eps: 0.5 }'),
    ((2, 3, 5), 'type: "Normalize" norm_param { across_spatial: true channel_shared: false }'),
    ((2, 3, 5), 'type: "Normalize" norm_param { across_spatial: false channel_shared: false }'),
    ((2, 3, 4, 5), 'type: "Normalize" norm_param { across_spatial: true eps: 100 }'),
]


@pytest.fixture(scope="module")
def variants():
    from caffe2x.reference import as_golden_blobs, run
    from caffe2x.weights import fill_random

    lines = []
    for i, (shape, layer) in enumerate(VARIANTS):
        dims = " ".join(f"dim: {d}" for d in shape)
        lines.append(f'layer {{ name: "in{i}" type: "Input" top: "in{i}" input_param {{ shape {{ {dims} }} }} }}')
        lines.append(f'layer {{ name: "v{i}" {layer} bottom: "in{i}" top: "v{i}" }}')
    graph = fill_random(caffe2x.graph_from_net(parse_prototxt_text("\n".join(lines))), seed=3)
    rng = np.random.default_rng(5)
    inputs = {f"in{i}": rng.standard_normal(shape).astype(np.float32) for i, (shape, _) in enumerate(VARIANTS)}
    return graph, inputs, as_golden_blobs(graph, run(graph, inputs))


@pytest.mark.parametrize("target", ["onnx", "pytorch", "tensorflow", "tflite"])
def test_other_ranks_and_orders_on_every_target(variants, target):
    graph, inputs, blobs = variants
    result = api.verify(graph, target, inputs, blobs, tolerance=TOLERANCE)
    assert {f"v{i}" for i in range(len(VARIANTS))} <= {r.layer for r in result.records}
    assert result.passed, result.first_divergence


def test_the_variants_reference_is_the_forks_arithmetic(variants):
    graph, inputs, blobs = variants
    x = inputs["in0"]
    assert np.array_equal(blobs["v0:v0"], np.transpose(x, (1, 0, 2, 3)))
    assert np.array_equal(blobs["v2:v2"], np.transpose(inputs["in2"], (0, 2, 1)))
    x = inputs["in7"].astype(np.float64)
    scale = float(graph.nodes[-1].weights[0])
    want = x / np.sqrt((x * x).sum(axis=(1, 2, 3), keepdims=True) + 100.0) * scale
    assert normalized_error(blobs["v7:v7"], want) < 1e-6


def test_permute_completes_a_partial_order_and_refuses_bad_ones():
    from caffe2x.families.ssd.permute import full_order

    assert full_order((0, 2), 4) == (0, 2, 1, 3)
    assert full_order((), 3) == (0, 1, 2)
    assert full_order((3, 1), 4) == (3, 1, 0, 2)
    with pytest.raises(ShapeError, match="not an axis"):
        full_order((0, 4), 4)
    with pytest.raises(ShapeError, match="twice"):
        full_order((0, 2, 2), 4)


def test_a_bad_permute_order_is_a_shape_error_naming_the_layer():
    net = parse_prototxt_text('layer { name: "d" type: "Input" top: "d" input_param { shape { dim: 1 dim: 2 '
                              'dim: 3 dim: 4 } } } layer { name: "perm" type: "Permute" bottom: "d" top: "p" '
                              "permute_param { order: 0 order: 1 order: 1 } }")
    with pytest.raises(ShapeError, match="perm"):
        caffe2x.graph_from_net(net)


def test_the_scale_blob_has_the_forks_shape():
    net = ('layer { name: "d" type: "Input" top: "d" input_param { shape { dim: 1 dim: 3 dim: 2 dim: 2 } } }\n'
           'layer { name: "n" type: "Normalize" bottom: "d" top: "n" norm_param { channel_shared: false } }')
    graph = caffe2x.graph_from_net(parse_prototxt_text(net))
    assert graph.nodes[-1].weight_shapes == [(3,)]
    shared = caffe2x.graph_from_net(parse_prototxt_text(net.replace("false", "true")))
    assert shared.nodes[-1].weight_shapes == [()]


def test_a_caffemodel_scale_that_does_not_fit_the_prototxt_is_a_weights_error_naming_the_layer(tmp_path):
    """The fork's caffemodel holds 16 scales for conv4_3_norm; a prototxt saying channel_shared
    wants one (the fork's CHECK "Scale size is inconsistent with prototxt config")."""
    (tmp_path / "net.prototxt").write_text(
        'layer { name: "feat1" type: "Input" top: "feat1" input_param { shape { dim: 2 dim: 16 dim: 19 dim: 19 } } }\n'
        'layer { name: "conv4_3_norm" type: "Normalize" bottom: "feat1" top: "n" '
        "norm_param { across_spatial: false channel_shared: true } }")
    with pytest.raises(WeightsError, match=r"conv4_3_norm.*\(Normalize\)"):
        caffe2x.load_net(tmp_path / "net.prototxt", GOLDEN / "ssd_layers" / "net.caffemodel")


def test_eps_is_inside_the_square_root():
    from caffe2x.families.ssd.normalize import apply_normalize

    x = np.array([[3.0, 4.0]])
    got = apply_normalize(x, 1.0, 11.0, lambda t: t.sum(1, keepdims=True), np.sqrt)
    assert np.allclose(got, x / 6.0)  # sqrt(9 + 16 + 11) = 6, not 5 + 11
