"""The segmentation layers of the real forks' golden cases (forkbuild's fork_segnet,
fork_interp, fork_bn_pspnet, fork_mobile's YOLO Upsample, fork_unpool), each layer alone on
Input layers holding the fork's own bottoms: the reference and every target must give the
fork's tops (the whole nets are checked by the generic golden tests). A case not in
fixtures/golden yet is skipped."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import GOLDEN, golden_case, normalized_error

import caffe2x
from caffe2x import api
from caffe2x.io.prototxt import parse_prototxt_text, read_prototxt
from caffe2x.reference import REFERENCE

TYPES = {"Interp", "BN", "Upsample", "Unpooling", "Pooling"}
CASES = ("fork_segnet", "fork_interp", "fork_bn_pspnet", "fork_mobile", "fork_unpool")
TOLERANCE = 1e-5


def _alone(case: str):
    """(graph of the case's segmentation layers, each on Input layers holding the fork's
    bottoms; inputs; the fork's tops). A mask bottom keeps its MAX Pooling, fed the fork's input."""
    golden = golden_case(case)
    net = read_prototxt(golden.prototxt)
    picked = [layer for layer in net.layer if layer.type in TYPES - {"Pooling"}]
    if not picked:
        pytest.skip(f"{case} has no segmentation layer")
    bottoms_of = _caffe_bottoms(golden.manifest)
    lines, inputs, copies = [], {}, []
    by_name = {layer.name: layer for layer in net.layer}
    for layer in picked:
        feeds = []
        for i, bottom in enumerate(bottoms_of[layer.name]):
            if layer.type in ("Upsample", "Unpooling") and i == 1:  # the mask: its pooling, re-run
                pooling = _writer(golden.manifest, bottom)
                if f"{pooling}_again" not in {rename for _, _, rename in copies}:
                    source = _input_for(golden, bottoms_of[pooling][0], pooling, inputs, lines)
                    copies.append((by_name[pooling], [source], f"{pooling}_again"))
                feeds.append(f"{pooling}_again_mask")
            else:
                feeds.append(_input_for(golden, bottom, layer.name, inputs, lines))
        copies.append((layer, feeds, None))
    alone = parse_prototxt_text("\n".join(lines))
    for layer, feeds, rename in copies:
        copy = alone.layer.add()
        copy.CopyFrom(layer)
        del copy.bottom[:]
        copy.bottom.extend(feeds)
        if rename:
            copy.name = rename
            del copy.top[:]
            copy.top.extend([rename, f"{rename}_mask"])
    graph = caffe2x.graph_from_net(alone, golden.caffemodel, source=case)
    want = {f"{layer.name}:{top}": golden.blobs[f"{layer.name}:{top}"]
            for layer in picked for top in layer.top if f"{layer.name}:{top}" in golden.blobs}
    return graph, inputs, want


def _caffe_bottoms(manifest) -> dict[str, list[str]]:
    return {layer["name"]: layer["bottoms"] for layer in manifest["layers"]}


def _writer(manifest, blob: str) -> str:
    """The layer that wrote a blob (through Caffe's Splits)."""
    for layer in manifest["layers"]:
        if blob in layer["tops"]:
            return _writer(manifest, layer["bottoms"][0]) if layer["type"] == "Split" else layer["name"]
    raise AssertionError(blob)


def _input_for(golden, blob: str, reader: str, inputs, lines) -> str:
    """An Input layer holding the fork's value of `blob` as layer `reader` reads it."""
    key = _golden_key(golden, blob, reader)
    name = "in_" + key.replace(":", "_").replace("/", "_")
    if name not in inputs:
        inputs[name] = golden.blobs[key]
        dims = " ".join(f"dim: {d}" for d in inputs[name].shape)
        lines.append(f'layer {{ name: "{name}" type: "Input" top: "{name}" input_param {{ shape {{ {dims} }} }} }}')
    return name


def _golden_key(golden, blob: str, reader: str) -> str:
    """The golden key of a blob's value where layer `reader` reads it: its last writer before
    (an in-place layer rewrites its blob; a Split's tops are its bottom's value, an Input's is
    `input:NAME`)."""
    key = None
    for layer in golden.manifest["layers"]:
        if layer["name"] == reader:
            break
        if blob in layer["tops"]:
            if layer["type"] == "Split":
                return _golden_key(golden, layer["bottoms"][0], layer["name"])
            key = f"input:{blob}" if layer["type"] == "Input" else f"{layer['name']}:{blob}"
    assert key is not None, blob
    return key


def _available(case: str):
    if not (GOLDEN / case / "manifest.json").exists():
        pytest.skip(f"{case} is not in fixtures/golden yet (forkbuild's branch)")


@pytest.mark.parametrize("case", CASES)
def test_the_reference_gives_the_forks_tops(case):
    _available(case)
    graph, inputs, want = _alone(case)
    values = dict(inputs)
    for node in graph.nodes:
        if node.type in TYPES:
            got = REFERENCE.get(node.type)(node, [values[v] for v in node.inputs])
            values.update(zip(node.outputs, (np.asarray(g, np.float32) for g in got)))
    checked = 0
    for node in graph.nodes:
        for value, top in zip(node.outputs, node.tops):
            key = f"{node.name}:{top}"
            if key in want:
                assert normalized_error(values[value], want[key]) <= TOLERANCE, key
                checked += 1
    assert checked == len(want) > 0


@pytest.mark.parametrize("target", ["onnx", "pytorch", "tensorflow", "tflite"])
@pytest.mark.parametrize("case", CASES)
def test_every_target_gives_the_forks_tops(case, target):
    _available(case)
    graph, inputs, want = _alone(case)
    result = api.verify(graph, target, inputs, want, reference_name=case, tolerance=TOLERANCE)
    assert target == "tflite" or set(want) <= {f"{r.layer}:{r.top}" for r in result.records}
    assert result.passed, result.first_divergence
