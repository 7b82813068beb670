"""The YOLO layers against the real forks' blobs: the golden case fork_yolo (made by forkbuild18:
weiliu89/caffe ssd with eric612/MobileNet-YOLO@69b4441's Reorg, YoloDetectionOutput and
Yolov3DetectionOutput and lwplw/caffe_yolov2@f1796740's Region dropped in; commits in its
manifest). The whole net runs from its inputs in the reference and on every target; Reorg and
Region tops must match the fork's, detection rows by count first, then row by row."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import GOLDEN, golden_case, normalized_error

from caffe2x import api
from caffe2x.reference import as_golden_blobs, run

CASE = "fork_yolo"
TOLERANCE = 1e-5
TYPES = {"Reorg", "Region", "YoloDetectionOutput", "Yolov3DetectionOutput"}
DETECTIONS = {"YoloDetectionOutput", "Yolov3DetectionOutput"}

pytestmark = pytest.mark.skipif(not (GOLDEN / CASE / "manifest.json").exists(),
                                reason=f"the golden case {CASE} comes from the forkbuild18 branch")


@pytest.fixture(scope="module")
def case():
    golden = golden_case(CASE)
    return golden.load(), golden.blobs, golden.inputs


def test_the_case_holds_every_layer_type_with_rows(case):
    graph, want, _ = case
    assert TYPES <= {node.type for node in graph.nodes}
    rows = {node.name: want[f"{node.name}:{node.outputs[0]}"].shape[2] for node in graph.nodes
            if node.type in DETECTIONS}
    nothing = {name for name in rows if want[f"{name}:{name}"].reshape(-1, 7)[0, 1] == -1}
    assert nothing == {"yolo2_none", "yolo3_none"}, rows  # the fork's "no detection" rows
    assert all(count >= 30 for name, count in rows.items() if name not in nothing), rows


def test_the_reference_matches_the_fork_on_every_blob(case):
    graph, want, inputs = case
    got = as_golden_blobs(graph, run(graph, inputs))
    for node in graph.nodes:
        if node.type not in TYPES:
            continue
        key = f"{node.name}:{node.outputs[0]}"
        assert got[key].shape == want[key].shape, f"{key}: {got[key].shape} rows, the fork {want[key].shape}"
        if node.type in DETECTIONS:
            assert np.array_equal(got[key][..., :2], want[key][..., :2]), key
        assert normalized_error(got[key], want[key]) <= TOLERANCE, key


@pytest.mark.parametrize("target", ["onnx", "pytorch", "tensorflow", "tflite"])
def test_every_target_matches_the_fork(case, target):
    graph, want, inputs = case
    result = api.verify(graph, target, inputs, want, reference_name="YOLO forks", tolerance=TOLERANCE)
    compared = {record.layer for record in result.records}
    assert {node.name for node in graph.nodes if node.type in DETECTIONS} <= compared
    assert result.passed, result.first_divergence
