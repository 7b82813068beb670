"""bench/yolo_nms.py: its layer is MobileNet-YOLOv3-lite's as the wild deploy net declares it, every
target gives the reference's rows on its 30,000 candidates (the bench records an error otherwise),
and the committed RESULTS.md is what report.py makes of the committed results.json (no timing
asserted)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from conftest import FIXTURES

import caffe2x
from caffe2x.io.prototxt import parse_prototxt_text

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))
import report  # noqa: E402
import yolo_nms  # noqa: E402


def _detection(graph):
    return next(n for n in graph.nodes if n.type == "Yolov3DetectionOutput")


def test_the_bench_layer_is_mobilenet_yolov3_lites():
    wild = caffe2x.load_net(FIXTURES / "wild" / "mobilenet_yolov3_lite_deploy.prototxt")
    bench = caffe2x.graph_from_net(parse_prototxt_text(yolo_nms.net(0.00999999977648)))
    assert _detection(bench).params == _detection(wild).params
    assert {top: wild.values[v].shape for v in _detection(wild).inputs
            for top in [wild.values[v].top]} == yolo_nms.SHAPES


def test_every_target_gives_the_reference_rows_on_30000_candidates():
    measured = yolo_nms.measure(0.5, repeats=1)
    assert measured["rows"] > 100
    for target in ("onnxruntime", "pytorch", "keras", "tflite"):
        assert "error" not in measured[target] and measured[target]["ms"] > 0, (target, measured[target])


def test_the_committed_results_md_is_made_from_results_json(tmp_path):
    results = json.loads((BENCH / "results.json").read_text())
    assert results["yolo_nms"]["thresholds"]["0.5"]["rows"] > 100
    report.write_markdown(results, tmp_path / "RESULTS.md")
    assert (tmp_path / "RESULTS.md").read_text() == (BENCH / "RESULTS.md").read_text()
