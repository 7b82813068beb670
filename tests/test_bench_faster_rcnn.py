"""bench/faster_rcnn.py on the thin real-fork ZF case (fixtures/golden/fork_faster_rcnn_zf_thin):
OpenCV's copy of the prototxt keeps py-faster-rcnn's Proposal parameters, the output comparison
counts what it says, and the conversion and speed steps run end to end (no timing asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import FIXTURES

import caffe2x
from caffe2x.reference import as_golden_blobs, run

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))
import faster_rcnn  # noqa: E402

THIN = FIXTURES / "golden" / "fork_faster_rcnn_zf_thin"
THIN_SHAPES = {"data": (1, 3, 224, 320), "im_info": (1, 3)}


def thin_graph(prototxt: Path = THIN / "net.prototxt"):
    return caffe2x.load_net(prototxt, THIN / "net.caffemodel", THIN_SHAPES)


def test_opencv_copy_changes_only_the_proposal_and_computes_the_same_rois(tmp_path):
    """The rewritten layer is OpenCV's `Proposal` type; caffe2x reads that type too, with the same
    parameters, so its reference must give the Python layer's ROIs exactly on the fork's input."""
    text = (THIN / "net.prototxt").read_text()
    graph = thin_graph()
    rewritten, param = faster_rcnn.opencv_prototxt(text, graph)
    start, end = faster_rcnn.layer_block(text, "proposal")
    assert text[:start] == rewritten[:start] and text[end:] == rewritten[len(rewritten) - (len(text) - end):]
    assert "Python" not in rewritten and 'type: "Proposal"' in rewritten
    assert "feat_stride: 16" in param and "min_size: 16" in param and "ratio: 0.5 ratio: 1 ratio: 2" in param
    (tmp_path / "opencv.prototxt").write_text(rewritten)
    cpp = thin_graph(tmp_path / "opencv.prototxt")
    python_node, cpp_node = (next(n for n in g.nodes if n.name == "proposal") for g in (graph, cpp))
    # proposal_param's nms_thresh is a proto float: 0.7 arrives as float32(0.7), as in OpenCV.
    assert cpp_node.type == "Proposal" and np.float32(cpp_node.params.nms_thresh) == np.float32(0.7)
    assert replace(cpp_node.params, nms_thresh=0.7) == python_node.params
    with np.load(THIN / "blobs.npz") as blobs:
        inputs = {k.removeprefix("input:"): blobs[k] for k in blobs.files if k.startswith("input:")}
        fork_rois = blobs["proposal:rois"]
    rois = [as_golden_blobs(g, run(g, inputs))["proposal:rois"] for g in (graph, cpp)]
    np.testing.assert_array_equal(rois[0], rois[1])
    np.testing.assert_allclose(rois[0], fork_rois, atol=1e-3)


def outputs(rois: np.ndarray, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    found = {"rois": rois, "cls_prob": rng.random((len(rois), 3)), "bbox_pred": rng.random((len(rois), 12))}
    return found | {k: np.ones((1, 2, 3, 4)) for k in faster_rcnn.RPN_BLOBS}


def test_compare_outputs_finds_the_extra_small_box_and_compares_the_rows_that_agree():
    boxes = np.array([[0, 0, 0, 99, 99], [0, 10, 10, 60, 80], [0, 5, 5, 40, 40], [0, 20, 30, 90, 70]], np.float32)
    small = np.array([[0, 50, 50, 55, 90]], np.float32)  # 6 px wide: under py-faster-rcnn's min size 16
    ours = outputs(boxes[:3], 0)
    theirs = outputs(np.concatenate([boxes[:2], small, boxes[2:3]]), 1)
    theirs["cls_prob"][[0, 1, 3]] = ours["cls_prob"]
    theirs["bbox_pred"][[0, 1, 3]] = ours["bbox_pred"] * (1 + 1e-7)
    found = faster_rcnn.compare_outputs(ours, theirs, 16.0)
    assert (found["rows_onnxruntime"], found["rows_opencv"]) == (3, 4)
    assert found["rois_leading_same_rows"] == found["rois_same_row"] == 2
    assert found["rois_same_box"] == 3
    assert (found["rois_below_min_size_opencv"], found["rois_below_min_size_onnxruntime"]) == (1, 0)
    assert found["rois_opencv_unmatched_not_below_min_size"] == 0
    assert found["cls_prob_normalized_error_same_box"] == 0.0
    assert 0 < found["bbox_pred_normalized_error_same_box"] < 1e-6
    assert found["rois_max_difference_px"] == pytest.approx(50.0)


def test_conversion_step_converts_and_verifies_the_thin_net():
    pytest.importorskip("onnxruntime")
    found = faster_rcnn.conversion(THIN / "net.prototxt", THIN / "net.caffemodel", THIN_SHAPES, ["onnx"], 1, True)
    assert set(found["convert"]) == {"onnx"} and found["convert"]["onnx"]["output_mb"] > 3
    verified = found["verify"]["onnx"]
    assert verified["passed"] and verified["rows"] == {"rois": 300, "cls_prob": 300, "bbox_pred": 300}
    assert verified["worst_normalized_error"] <= faster_rcnn.VERIFY_TOLERANCE


def in_fresh_process(code: str) -> subprocess.CompletedProcess:
    """Python code run with the bench folder importable, in a process of its own: TensorFlow's
    Keras imports whichever cv2 it finds, so a test process that collected TensorFlow tests holds
    that one (OpenCV 5 here, which cannot read Caffe files) and an OpenCV 4 beside it cannot load."""
    path = os.pathsep.join([str(BENCH.parent), str(BENCH), os.environ.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": path}, cwd=BENCH.parent)


def test_speed_step_against_opencv_on_the_thin_net():
    """Needs an OpenCV with its Caffe importer (OpenCV 4; see bench/opencv_caffe.py)."""
    pytest.importorskip("onnxruntime")
    available = in_fresh_process("from opencv_caffe import cv2_with_caffe; cv2_with_caffe()")
    if "has no Caffe importer" in available.stderr or "No module named 'cv2'" in available.stderr:
        pytest.skip(available.stderr.strip().splitlines()[-1])
    assert available.returncode == 0, available.stderr[-2000:]
    shapes = {k: list(v) for k, v in THIN_SHAPES.items()}
    ran = in_fresh_process(f"import json, faster_rcnn; from pathlib import Path; print(json.dumps(faster_rcnn.speed("
                           f"Path({str(THIN / 'net.prototxt')!r}), Path({str(THIN / 'net.caffemodel')!r}), "
                           f"{shapes!r}, 2, 1)))")
    assert ran.returncode == 0, ran.stderr[-2000:]
    found = json.loads(ran.stdout.strip().splitlines()[-1])
    agreement = found["agreement"]
    assert found["threads"] == 1 and found["onnxruntime_ms"] > 0 and found["opencv_ms"] > 0
    assert max(agreement["rpn_normalized_error"].values()) < 1e-4
    assert agreement["rows_onnxruntime"] == agreement["rows_opencv"] == 300
    # OpenCV's Proposal skips the min-size filter: small boxes in its rows, none in ours.
    assert agreement["rois_below_min_size_onnxruntime"] == 0 < agreement["rois_below_min_size_opencv"]
    assert agreement["rois_leading_same_rows"] > 0 and agreement["cls_prob_normalized_error_same_box"] < 1e-4
    assert agreement["bbox_pred_normalized_error_same_box"] < 1e-4
