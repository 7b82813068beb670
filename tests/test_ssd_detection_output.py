"""DetectionOutput (SSD fork) against the real fork's blobs, fed the fork's own bottoms.

Every DetectionOutput layer of the SSD golden cases (share_location true/false, background 0
or none, CENTER_SIZE / CORNER / CORNER_SIZE, variance in the target, adaptive eta, keep_top_k
cuts, the "no detection" rows) is run alone: its three bottoms are the Caffe blobs, and the
rows must match in count and order, values within 1e-5.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import caffe2x
from caffe2x.io.prototxt import parse_prototxt_text
from caffe2x.parity import compare_blobs
from caffe2x.reference import REFERENCE, as_golden_blobs, run

ROOT = Path(__file__).resolve().parent.parent
# TODO(lead): one path: fixtures/golden once ssd-core has imported the SSD cases.
GOLDEN = next(p for p in (ROOT / "fixtures" / "golden", Path("/work/shared/golden"))
              if (p / "mobilenet_ssd" / "blobs.npz").exists())
SSD_CASES = ("ssd_layers", "ssd_variants", "mobilenet_ssd")
TOLERANCE = 1e-5


@pytest.fixture(scope="module", autouse=True)
def fork_schema():
    """The fork's parameter blocks (TODO(lead): ssd-core's ssd.proto declares them on import)."""
    caffe2x.load_proto(ROOT / "fixtures" / "proto" / "caffe_ssd_fork.proto")


def _layer_texts(prototxt: str) -> list[str]:
    """The text of every `layer { ... }` block of type DetectionOutput."""
    blocks, depth, start = [], 0, None
    for match in re.finditer(r"\blayer\s*\{|[{}]", prototxt):
        if match.group().startswith("layer") and depth == 0:
            start = match.start()
        depth += -1 if match.group() == "}" else 1
        if depth == 0 and start is not None:
            blocks.append(prototxt[start:match.end()])
            start = None
    return [b for b in blocks if re.search(r'type:\s*"DetectionOutput"', b)]


class Detector:
    """One golden DetectionOutput layer alone: a net of three inputs (its bottoms) and the layer."""

    def __init__(self, case: str, text: str):
        self.case, self.text = case, text
        self.name = re.search(r'name:\s*"([^"]+)"', text).group(1)
        blobs = np.load(GOLDEN / case / "blobs.npz", allow_pickle=False)
        bottoms = re.findall(r'bottom:\s*"([^"]+)"', text)
        top = re.search(r'top:\s*"([^"]+)"', text).group(1)
        self.inputs = {b: np.asarray(blobs[_key(blobs, b)]) for b in bottoms}
        self.want = np.asarray(blobs[f"{self.name}:{top}"])
        self.key = f"{self.name}:{top}"
        self.bottoms = bottoms

    def net_text(self) -> str:
        inputs = [f'layer {{ name: "{b}" type: "Input" top: "{b}" input_param {{ shape {{ '
                  + " ".join(f"dim: {d}" for d in x.shape) + " } } }" for b, x in self.inputs.items()]
        return "\n".join(inputs + [self.text])

    def graph(self):
        return caffe2x.graph_from_net(parse_prototxt_text(self.net_text()))


def _key(blobs, top: str) -> str:
    keys = [k for k in blobs.files if k.endswith(f":{top}") and "@" not in k]
    assert len(keys) == 1, f"blob {top}: {keys}"
    return keys[0]


def detectors() -> list[Detector]:
    return [Detector(case, text) for case in SSD_CASES
            for text in _layer_texts((GOLDEN / case / "net.prototxt").read_text())]


DETECTORS = [pytest.param(case, i, id=f"{case}-{i}") for case in SSD_CASES
             for i in range(len(_layer_texts((GOLDEN / case / "net.prototxt").read_text())))]


def detector(case: str, index: int) -> Detector:
    return Detector(case, _layer_texts((GOLDEN / case / "net.prototxt").read_text())[index])


def assert_rows(got: np.ndarray, want: np.ndarray, where: str) -> None:
    assert got.shape == want.shape, f"{where}: {got.shape[2]} rows, Caffe {want.shape[2]}"
    rows_got, rows_want = got.reshape(-1, 7), want.reshape(-1, 7)
    assert np.array_equal(rows_got[:, :2], rows_want[:, :2]), f"{where}: image/label columns differ"
    error = float(np.abs(rows_got - rows_want).max() / np.abs(rows_want).max())
    assert error <= TOLERANCE, f"{where}: normalized error {error:.2e}"


def test_every_golden_detector_is_found():
    """The cases hold the six DetectionOutput layers the golden README describes."""
    found = {(d.case, d.name): d.want.shape[2] for d in detectors()}
    assert found == {("ssd_layers", "detection_out"): 100, ("ssd_variants", "det_nosl"): 80,
                     ("ssd_variants", "det_nobg_corner"): 215, ("ssd_variants", "det_cornersize_vet"): 50,
                     ("ssd_variants", "det_none"): 2, ("mobilenet_ssd", "detection_out"): 100}


@pytest.mark.parametrize("case,index", DETECTORS)
def test_reference_kernel_matches_the_fork(case, index):
    d = detector(case, index)
    graph = d.graph()
    node = graph.nodes[-1]
    (got,) = REFERENCE.get("DetectionOutput")(node, [d.inputs[b] for b in d.bottoms])
    assert_rows(np.asarray(got, np.float32), d.want, d.key)


@pytest.mark.parametrize("case,index", DETECTORS)
def test_reference_executor_and_verify_rows(case, index):
    """The executor accepts the data-dependent row count; parity compares it row by row."""
    d = detector(case, index)
    graph = d.graph()
    blobs = as_golden_blobs(graph, run(graph, d.inputs))
    result = compare_blobs(graph, "builtin", "caffe", blobs, {d.key: d.want})
    assert [r.layer for r in result.records] == [d.name] and result.passed, result.as_dict()


def _golden_detector_graph():
    d = detector("ssd_layers", 0)
    return d, d.graph()


def test_verify_reports_a_different_row_count_with_the_first_differing_row():
    """One row fewer on the target side: a failing record naming both counts and the row, no crash."""
    d, graph = _golden_detector_graph()
    fewer = np.delete(d.want, 3, axis=2)
    result = compare_blobs(graph, "onnx", "caffe", {d.key: fewer}, {d.key: d.want})
    (record,) = result.records
    assert not result.passed and record.error.normalized_max == float("inf")
    assert record.note.startswith("the onnx model gives 99 rows, the reference 100; first differing row 3:")
    assert record.as_dict()["note"] == record.note


def test_verify_names_the_first_row_whose_values_differ():
    d, graph = _golden_detector_graph()
    changed = d.want.copy()
    changed[0, 0, 7, 2] += 0.01  # a score
    result = compare_blobs(graph, "pytorch", "caffe", {d.key: changed}, {d.key: d.want})
    assert not result.passed and "first differing row 7:" in result.records[0].note
    same = compare_blobs(graph, "pytorch", "caffe", {d.key: d.want.copy()}, {d.key: d.want})
    assert same.passed and same.records[0].note is None


def test_other_blobs_still_refuse_a_shape_mismatch():
    """Only the layer declaring data-dependent rows is compared by rows; a plain blob of another
    shape stays an error."""
    from caffe2x.errors import Caffe2xError

    d = detector("ssd_layers", 0)
    relu = f'layer {{ name: "relu" type: "ReLU" bottom: "{d.bottoms[0]}" top: "loc_relu" }}'
    graph = caffe2x.graph_from_net(parse_prototxt_text(d.net_text() + "\n" + relu))
    loc = d.inputs[d.bottoms[0]]
    with pytest.raises(Caffe2xError, match="gives shape"):
        compare_blobs(graph, "onnx", "caffe", {"relu:loc_relu": loc[:1]}, {"relu:loc_relu": loc})
    with pytest.raises(Caffe2xError, match="only dim 2"):
        compare_blobs(graph, "onnx", "caffe", {d.key: d.want[..., :6]}, {d.key: d.want})
