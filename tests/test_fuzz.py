"""Property tests. CI runs a bounded number of examples; for a long local run:

    CAFFE2X_FUZZ_EXAMPLES=2000 .venv/bin/python -m pytest tests/test_fuzz.py

- random valid nets: shape inference, the reference executor and every target agree;
- mutated prototxts and caffemodels: the readers only ever raise typed errors.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from conftest import golden_case
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from netgen import random_nets

import caffe2x
from caffe2x import api
from caffe2x.errors import Caffe2xError
from caffe2x.io.caffemodel import read_caffemodel
from caffe2x.io.prototxt import parse_prototxt_text
from caffe2x.reference import as_golden_blobs, run
from caffe2x.weights import fill_random

EXAMPLES = int(os.environ.get("CAFFE2X_FUZZ_EXAMPLES", "20"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))


def _graph_and_reference(text: str, seed: int = 0):
    graph = fill_random(caffe2x.graph_from_net(parse_prototxt_text(text)), seed)
    rng = np.random.default_rng(seed)
    inputs = {graph.values[v].top: rng.standard_normal(graph.values[v].shape).astype(np.float32)
              for v in graph.inputs}
    values = run(graph, inputs)  # asserts each kernel's output shape equals the inferred shape
    for name, value in graph.values.items():
        assert values[name].shape == value.shape
    return graph, inputs, as_golden_blobs(graph, values)


@pytest.mark.parametrize("target", ["onnx", "pytorch"])
@FUZZ
@given(text=random_nets())
def test_random_nets_agree_on_every_target(target, text):
    pytest.importorskip({"onnx": "onnxruntime", "pytorch": "torch"}[target])
    graph, inputs, reference = _graph_and_reference(text)
    result = api.verify(graph, target, inputs, reference, tolerance=1e-4)
    assert result.passed, (text, result.first_divergence)


@settings(max_examples=max(3, EXAMPLES // 4), deadline=None, suppress_health_check=list(HealthCheck))
@given(text=random_nets(max_layers=5))
def test_random_nets_agree_on_tensorflow(text):
    pytest.importorskip("tensorflow")
    graph, inputs, reference = _graph_and_reference(text)
    result = api.verify(graph, "tensorflow", inputs, reference, tolerance=1e-4)
    assert result.passed, (text, result.first_divergence)


def _mutate(data: bytes, draw) -> bytes:
    data = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        action = draw(st.sampled_from(["flip", "truncate", "delete", "duplicate"]))
        at = draw(st.integers(0, len(data) - 1))
        if action == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif action == "truncate":
            del data[at:]
        elif action == "delete":
            del data[at: at + draw(st.integers(1, 16))]
        else:
            data[at:at] = data[at: at + draw(st.integers(1, 16))]
    return bytes(data)


MUTATED = settings(max_examples=EXAMPLES * 10, deadline=None, suppress_health_check=list(HealthCheck))


@MUTATED
@given(data=st.data())
def test_mutated_caffemodels_only_raise_typed_errors(tmp_path_factory, data):
    case = golden_case(data.draw(st.sampled_from(["legacy_v1", "eltwise", "bn_scale"])))
    source = case.path / data.draw(st.sampled_from(["net.caffemodel", "net_v1.caffemodel"]
                                                   if case.name == "legacy_v1" else ["net.caffemodel"]))
    path = tmp_path_factory.mktemp("mutant") / "w.caffemodel"
    path.write_bytes(_mutate(source.read_bytes(), data.draw))
    try:
        weights = read_caffemodel(path)
        caffe2x.load_net(case.prototxt, weights, case.input_shapes)
    except Caffe2xError:
        pass


@MUTATED
@given(data=st.data())
def test_mutated_prototxts_only_raise_typed_errors(data):
    case = golden_case(data.draw(st.sampled_from(["bvlc_alexnet_thin", "legacy_v1", "softmax_crop", "misc"])))
    text = _mutate(case.prototxt.read_bytes(), data.draw).decode("utf-8", errors="replace")
    try:
        graph = caffe2x.graph_from_net(parse_prototxt_text(text, "mutant.prototxt"))
    except Caffe2xError:
        return
    # What still loads must also run, if it is small enough to be quick.
    if sum(int(np.prod(v.shape)) for v in graph.values.values()) < 2_000_000:
        fill_random(graph)
        run(graph, {graph.values[v].top: np.zeros(graph.values[v].shape, np.float32) for v in graph.inputs})
