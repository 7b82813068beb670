"""Public prototxts of the fork families (issue 15), as published: fixtures/wild/MANIFEST.json
names each one's repository, path, commit, license and the input shape it is tested at.

Each net is inspected by the CLI, then given realistic random weights (He-scaled, BatchNorm
statistics measured on a forward pass, as `synth-weights` writes) and verified on all four
targets against the builtin reference, every blob within 1e-4 (normalized max error).
Small inputs keep this cheap; a net whose fixed sizes (pooling kernels, Interp heights,
Upsample sizes) allow only its published size is run at that size. An entry may widen the
tolerance ("tolerance", with its "tolerance_reason") or keep some targets to `-m slow` runs
("slow_targets", with its "slow_reason"); CI deselects `slow` (pyproject addopts). An input
whose values matter (Faster R-CNN's im_info, Fast R-CNN's rois) is given in "input_values".

A net whose layer types are still being written lists them in "waits_for": while any of them
is not registered, its tests check instead that inspect (exit 2) and loading refuse it with an
UnsupportedLayerError naming exactly those still missing; once all are registered it gets the
full check, with nothing to change here.
"""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import FIXTURES

import caffe2x
from caffe2x import api
from caffe2x.cli import main
from caffe2x.errors import UnsupportedLayerError
from caffe2x.layers.base import LAYERS
from caffe2x.reference import as_golden_blobs, run
from caffe2x.weights import synthetic_weights

WILD = FIXTURES / "wild"
MANIFEST = json.loads((WILD / "MANIFEST.json").read_text())["nets"]
NETS = {entry["file"].removesuffix(".prototxt"): entry for entry in MANIFEST}
TARGETS = ["onnx", "pytorch", "tensorflow", "tflite"]
IMPORTS = {"onnx": "onnxruntime", "pytorch": "torch", "tensorflow": "tensorflow", "tflite": "tensorflow"}
TOLERANCE = 1e-4


def _shape_options(entry: dict) -> list[str]:
    options = []
    for name, shape in entry["input_shapes"].items():
        options += ["--input-shape", f"{name}={','.join(map(str, shape))}"]
    return options


def waiting_types(entry: dict) -> set[str]:
    """The entry's "waits_for" types not registered yet (none once the layers have landed)."""
    return {layer_type for layer_type in entry.get("waits_for", []) if layer_type not in LAYERS}


def test_the_manifest_lists_every_wild_prototxt_with_its_provenance():
    assert sorted(NETS) == sorted(p.stem for p in WILD.glob("*.prototxt"))
    assert len(NETS) >= 30
    for entry in MANIFEST:
        assert re.fullmatch(r"[0-9a-f]{40}", entry["commit"]), entry["file"]
        assert re.fullmatch(r"[\w.-]+/[\w.-]+", entry["repo"]) and entry["path"].endswith(".prototxt")
        assert entry["family"] and entry["license"] and entry["layer_types"] and entry["input_shapes"]
        assert ("tolerance" in entry) == bool(entry.get("tolerance_reason")), entry["file"]
        assert set(entry.get("slow_targets", [])) <= set(TARGETS)
        assert ("slow_targets" in entry) == bool(entry.get("slow_reason")), entry["file"]
        assert set(entry.get("waits_for", [])) <= set(entry["layer_types"]), entry["file"]
        assert set(entry.get("input_values", {})) <= set(entry["input_shapes"]), entry["file"]
        assert "verify_outputs" not in entry, f"{entry['file']}: every wild net is verified whole"


@pytest.mark.parametrize("name", sorted(NETS))
def test_each_wild_prototxt_is_the_published_file(name):
    """Byte for byte as in the repository at the recorded commit (the sha256 was taken there)."""
    entry = NETS[name]
    assert hashlib.sha256((WILD / entry["file"]).read_bytes()).hexdigest() == entry["sha256"]


@pytest.mark.parametrize("name", sorted(NETS))
def test_wild_net_inspects(name):
    """Or, while some of its types are not registered, is refused naming exactly those."""
    check_inspect(WILD / NETS[name]["file"], NETS[name])


def check_inspect(path, entry: dict) -> None:
    result = CliRunner().invoke(main, ["inspect", str(path), *_shape_options(entry)])
    assert "Traceback" not in result.output
    waiting = waiting_types(entry)
    if not waiting:
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 2, result.output
    assert "UnsupportedLayerError" in result.output and all(f"{t} (" in result.output for t in waiting)
    with pytest.raises(UnsupportedLayerError) as refused:
        caffe2x.load_net(path)
    assert set(refused.value.by_type) == waiting


def test_a_waiting_net_is_refused_naming_exactly_the_types_it_waits_for(tmp_path):
    """The check a net listing "waits_for" gets until its types land (every issue-18 net had it
    until ROIPooling, PSROIPooling, Proposal and the YOLO types were merged), and that it fails
    when the net needs a type its entry does not list."""
    net = tmp_path / "waiting.prototxt"
    net.write_text('input: "data" input_shape { dim: 1 dim: 2 dim: 4 dim: 4 }\n'
                   'layer { name: "a" type: "NotYetWritten" bottom: "data" top: "a" }\n'
                   'layer { name: "b" type: "AlsoNotYet" bottom: "a" top: "b" }\n'
                   'layer { name: "c" type: "ReLU" bottom: "b" top: "c" }\n')
    entry = {"input_shapes": {"data": [1, 2, 4, 4]}, "waits_for": ["NotYetWritten", "AlsoNotYet", "ReLU"]}
    assert waiting_types(entry) == {"NotYetWritten", "AlsoNotYet"}  # ReLU is registered: no longer waited for
    check_inspect(net, entry)
    with pytest.raises(AssertionError):
        check_inspect(net, {**entry, "waits_for": ["NotYetWritten"]})  # AlsoNotYet missing from the entry


class WeightedNets:
    """The loaded, weighted graph of one net with its inputs and reference blobs, shared by
    the four targets (loading, calibrating and the reference run cost more than a target).
    Only the latest net is kept: every blob of a 473x473 PSPNet is over a gigabyte."""

    def __init__(self):
        self._cache: dict[str, tuple] = {}

    def get(self, name: str):
        if name not in self._cache:
            self._cache.clear()
            entry = NETS[name]
            shapes = {k: tuple(v) for k, v in entry["input_shapes"].items()}
            graph = caffe2x.load_net(WILD / entry["file"], input_shapes=shapes)
            graph = synthetic_weights(graph, 0)
            inputs = api.random_inputs(graph, 0)
            inputs.update({k: np.array(v, np.float32) for k, v in entry.get("input_values", {}).items()})
            reference = as_golden_blobs(graph, run(graph, inputs))
            _check_meaningful(graph, reference)
            self._cache[name] = (graph, inputs, reference)
        return self._cache[name]


def _check_meaningful(graph, reference: dict) -> None:
    """Verify compares NaNs in the same places as equal and a constant blob exactly, so a net
    whose random weights give NaN, infinity or a constant output would pass without showing
    anything: such weights are a failure of the weights, reported here."""
    for key, blob in reference.items():
        assert np.isfinite(blob).all(), f"{graph.name}: blob {key} is not finite with these random weights"
    outputs = {key for key, value in graph.blob_keys().items() if value in graph.outputs}
    for key in outputs & reference.keys():
        assert np.unique(reference[key]).size > 1, f"{graph.name}: output {key} is constant"


@pytest.fixture(scope="module")
def weighted_nets():
    return WeightedNets()


def _verify_params():
    for name in sorted(NETS):
        slow = NETS[name].get("slow_targets", [])
        for target in TARGETS:
            yield pytest.param(name, target, id=f"{name}-{target}",
                               marks=[pytest.mark.slow] if target in slow else [])


@pytest.mark.parametrize(("name", "target"), list(_verify_params()))
def test_wild_net_verifies_with_random_weights(name, target, weighted_nets):
    pytest.importorskip(IMPORTS[target])
    waiting = waiting_types(NETS[name])
    if waiting:  # refused up front, naming exactly the types it waits for
        with pytest.raises(UnsupportedLayerError) as refused:
            weighted_nets.get(name)
        assert set(refused.value.by_type) == waiting
        return
    graph, inputs, reference = weighted_nets.get(name)
    tolerance = NETS[name].get("tolerance", TOLERANCE)
    result = api.verify(graph, target, inputs, reference, tolerance=tolerance)
    assert result.passed, result.first_divergence
    assert result.records, "no blob was compared"


def test_random_weights_that_give_nan_or_a_constant_output_fail_the_wild_check(tmp_path):
    net = tmp_path / "tiny.prototxt"
    net.write_text('input: "data" input_shape { dim: 1 dim: 2 dim: 3 dim: 3 }\n'
                   'layer { name: "relu" type: "ReLU" bottom: "data" top: "out" }\n')
    graph = caffe2x.load_net(net)
    good = {"input:data": np.arange(18.0).reshape(1, 2, 3, 3), "relu:out": np.arange(18.0).reshape(1, 2, 3, 3)}
    _check_meaningful(graph, good)
    with pytest.raises(AssertionError, match="relu:out is not finite"):
        _check_meaningful(graph, {**good, "relu:out": np.full((1, 2, 3, 3), np.nan)})
    with pytest.raises(AssertionError, match="output relu:out is constant"):
        _check_meaningful(graph, {**good, "relu:out": np.zeros((1, 2, 3, 3))})
