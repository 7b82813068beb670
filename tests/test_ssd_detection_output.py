"""DetectionOutput (SSD fork) against the real fork's blobs, fed the fork's own bottoms.

Every DetectionOutput layer of the SSD golden cases (share_location true/false, background 0
or none, CENTER_SIZE / CORNER / CORNER_SIZE, variance in the target, adaptive eta, keep_top_k
cuts, the "no detection" rows) is run alone: its three bottoms are the Caffe blobs, and the
rows must match in count and order, values within 1e-5.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

import caffe2x
from caffe2x.errors import ShapeError
from caffe2x.families.ssd import detection_output
from caffe2x.io.prototxt import parse_prototxt_text
from caffe2x.parity import compare_blobs
from caffe2x.reference import REFERENCE, as_golden_blobs, run

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "fixtures" / "golden"
SSD_CASES = ("ssd_layers", "ssd_variants", "mobilenet_ssd")
TOLERANCE = 1e-5


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


def _verify(case: str, index: int, target: str):
    d = detector(case, index)
    graph = d.graph()
    result = caffe2x.verify(graph, target, d.inputs, {d.key: d.want}, reference_name="caffe", tolerance=TOLERANCE)
    assert [r.layer for r in result.records] == [d.name], result.as_dict()
    assert result.passed, result.records[0].note or result.as_dict()
    return result


@pytest.mark.parametrize("case,index", DETECTORS)
def test_pytorch_rows_match_the_fork(case, index):
    pytest.importorskip("torch")
    _verify(case, index, "pytorch")


BAD_PARAMS = [
    ("num_classes: 5 share_location: true background_label_id: -1", "aborts in the SSD fork"),
    ("share_location: true", "must give num_classes"),
    ("num_classes: 6", "conf has 13830 values per image, expected 2766 priors x 6 classes"),
    ("num_classes: 5 share_location: false", "loc has 11064 values per image, expected 2766 priors x 5 location classes"),
    ("num_classes: 5 nms_param { eta: 1.5 }", "eta must be in"),
]


@pytest.mark.parametrize("block,message", BAD_PARAMS)
def test_bad_parameters_are_shape_errors_naming_the_layer(block, message):
    d = detector("ssd_layers", 0)
    text = re.sub(r"detection_output_param\s*\{.*\}\s*\}\s*$", f"detection_output_param {{ {block} }} }}",
                  d.text, flags=re.S)
    bad = Detector.__new__(Detector)
    bad.__dict__.update(d.__dict__, text=text)
    with pytest.raises(ShapeError, match=message) as raised:
        bad.graph()
    assert "detection_out" in str(raised.value)


def test_clip_extension_clips_decoded_boxes_before_nms():
    """OpenCV's `clip: true`: boxes clipped to [0, 1] (their sizes too, as OpenCV computes them
    after clipping); without it the fork's boxes reach outside [0, 1]."""
    d = detector("ssd_layers", 0)
    params = d.graph().nodes[-1].params
    loc, conf, prior = (d.inputs[b] for b in d.bottoms)
    plain = detection_output.detect(loc, conf, prior, params)
    assert (plain[..., 3:] < 0).any() or (plain[..., 3:] > 1).any()
    clipped = detection_output.detect(loc, conf, prior, dataclasses.replace(params, clip=True))
    assert clipped[..., 3:].min() >= 0 and clipped[..., 3:].max() <= 1


def test_unknown_code_type_is_refused():
    """A name the fork's enum lacks is a prototxt error; a number it lacks (from a caffemodel, kept
    as an int by the typed reader) is refused by the layer."""
    from caffe2x.errors import PrototxtError
    from caffe2x.io.params import ParamValue

    d = detector("ssd_layers", 0)
    bad = Detector.__new__(Detector)
    bad.__dict__.update(d.__dict__, text=d.text.replace("code_type: CENTER_SIZE", "code_type: DIAGONAL"))
    with pytest.raises(PrototxtError, match="DIAGONAL"):
        bad.graph()
    message = caffe2x.fork_param(parse_prototxt_text(d.text).layer[0], "detection_output_param").message
    with pytest.raises(ShapeError, match="unknown code_type 7"):
        detection_output.build(ParamValue(message, {"num_classes": 5, "code_type": 7},
                                          frozenset({"num_classes", "code_type"})))


def test_pytorch_folder_exports_a_program_with_data_dependent_rows(tmp_path):
    """torch.export traces the NMS (a loop over the candidate positions, rows by one mask): the
    program, with a dynamic batch, gives the fork's rows; model.py imports only torch."""
    torch = pytest.importorskip("torch")

    d = detector("ssd_variants", 2)
    written = caffe2x.convert(d.graph(), "pytorch", tmp_path / "out")
    assert sorted(p.name for p in written) == ["caffe2x.json", "example_inputs.pt", "model.pt", "model.pt2", "model.py"]
    program = torch.export.load(tmp_path / "out" / "model.pt2").module()
    got = program(*[torch.from_numpy(d.inputs[b]) for b in d.bottoms])
    assert_rows(got.numpy(), d.want, "model.pt2")
    imports = [line for line in (tmp_path / "out" / "model.py").read_text().splitlines()
               if line.startswith(("import ", "from "))]
    assert imports == ["import torch", "from torch import nn"]


@pytest.mark.parametrize("case,index", DETECTORS)
def test_tensorflow_rows_match_the_fork(case, index):
    pytest.importorskip("tensorflow")
    _verify(case, index, "tensorflow")


@pytest.mark.parametrize("case,index", DETECTORS)
def test_onnx_rows_match_the_fork(case, index):
    pytest.importorskip("onnxruntime")
    _verify(case, index, "onnx")


@pytest.mark.parametrize("target", ["onnx", "pytorch", "tensorflow", "tflite"])
def test_targets_follow_the_clip_extension_and_adaptive_eta(target):
    """OpenCV's `clip` (not in the fork's schema, so set on the parsed node) and a strong adaptive
    eta with no keep_top_k: each target against the reference kernel, row by row."""
    pytest.importorskip({"onnx": "onnxruntime", "pytorch": "torch"}.get(target, "tensorflow"))
    d = detector("ssd_layers", 0)
    graph = d.graph()
    node = graph.nodes[-1]
    node.params = dataclasses.replace(node.params, clip=True, eta=0.7, keep_top_k=-1, top_k=300,
                                      confidence_threshold=0.05)
    want = as_golden_blobs(graph, run(graph, d.inputs))
    assert want[d.key].shape[2] != d.want.shape[2]  # a different configuration from the golden one
    result = caffe2x.verify(graph, target, d.inputs, want, tolerance=TOLERANCE)
    assert result.passed and [r.layer for r in result.records] == [d.name], result.records[0].note


@pytest.mark.parametrize("opset", [13, 21])
def test_onnx_model_checks_and_runs_at_both_ends_of_the_opset_range(opset, tmp_path):
    """onnx.checker (full) passes; the rows dim is declared as a named dim, and onnxruntime's
    rows match the fork's."""
    ort = pytest.importorskip("onnxruntime")
    import onnx

    d = detector("ssd_variants", 2)
    path = tmp_path / "det.onnx"
    caffe2x.convert(d.graph(), "onnx", path, opset=opset)
    dims = onnx.load(path).graph.output[0].type.tensor_type.shape.dim
    assert [x.dim_value or x.dim_param for x in dims] == [1, 1, "det_cornersize_vet_dim2", 7]
    session = ort.InferenceSession(str(path))
    (got,) = session.run(None, {x.name: d.inputs[x.name] for x in session.get_inputs()})
    assert_rows(got, d.want, "onnxruntime")


@pytest.mark.parametrize("case,index", DETECTORS)
def test_tflite_rows_match_the_fork(case, index):
    pytest.importorskip("tensorflow")
    _verify(case, index, "tflite")


@pytest.mark.parametrize("target", ["onnx", "pytorch", "tensorflow", "tflite"])
def test_nothing_to_keep_gives_the_no_detection_rows(target):
    """nms top_k 0 (the fork keeps no candidate) and a net with only the background class: one
    [image, -1, ...] row per image on every target."""
    pytest.importorskip({"onnx": "onnxruntime", "pytorch": "torch"}.get(target, "tensorflow"))
    d = detector("ssd_layers", 0)
    graph = d.graph()
    node = graph.nodes[-1]
    node.params = dataclasses.replace(node.params, top_k=0)
    want = as_golden_blobs(graph, run(graph, d.inputs))
    assert want[d.key].reshape(-1, 7).tolist() == [[0.0] + [-1.0] * 6, [1.0] + [-1.0] * 6]
    result = caffe2x.verify(graph, target, d.inputs, want, tolerance=TOLERANCE)
    assert result.passed and len(result.records) == 1, result.records[0].note


def test_save_output_param_is_ignored_with_a_warning():
    d = detector("ssd_layers", 0)
    text = d.text.replace("keep_top_k: 50", 'keep_top_k: 50 save_output_param { output_directory: "/tmp/voc" }')
    bad = Detector.__new__(Detector)
    bad.__dict__.update(d.__dict__, text=text)
    with pytest.warns(UserWarning, match="save_output_param is ignored"):
        graph = bad.graph()
    assert graph.nodes[-1].params == d.graph().nodes[-1].params


def _tied_inputs(seed: int, batch: int = 2, priors: int = 60, classes: int = 4):
    """Random priors and predictions whose scores come in steps of 0.125 (exact in float32):
    many exact ties, at the NMS order and at the keep_top_k cut."""
    rng = np.random.default_rng(seed)
    centers, sizes = rng.uniform(0.1, 0.9, (priors, 2)), rng.uniform(0.05, 0.4, (priors, 2))
    boxes = np.concatenate([centers - sizes / 2, centers + sizes / 2], axis=1)
    variances = np.tile([0.1, 0.1, 0.2, 0.2], (priors, 1))
    prior = np.stack([boxes.reshape(-1), variances.reshape(-1)])[None].astype(np.float32)
    loc = (rng.standard_normal((batch, priors * 4)) * 0.5).astype(np.float32)
    conf = (np.round(rng.uniform(0, 1, (batch, priors * classes)) * 8) / 8).astype(np.float32)
    return {"loc": loc, "conf": conf, "prior": prior}


TIED = ('layer { name: "det" type: "DetectionOutput" bottom: "loc" bottom: "conf" bottom: "prior" top: "det" '
        "detection_output_param { num_classes: 4 background_label_id: 0 code_type: CENTER_SIZE "
        "nms_param { nms_threshold: 0.7 top_k: 25 eta: 0.8 } keep_top_k: 30 confidence_threshold: 0.25 } }")


@pytest.mark.parametrize("target", ["onnx", "pytorch", "tensorflow"])
@pytest.mark.parametrize("seed", [0, 1])
def test_exact_score_ties_are_broken_as_the_reference(target, seed):
    """Ties order by the lower prior in NMS and by label, then NMS order at the keep_top_k cut,
    on every target as in the reference (the fork's stable sort and our documented cut)."""
    pytest.importorskip({"onnx": "onnxruntime", "pytorch": "torch"}.get(target, "tensorflow"))
    inputs = _tied_inputs(seed)
    lines = [f'layer {{ name: "{k}" type: "Input" top: "{k}" input_param {{ shape {{ '
             + " ".join(f"dim: {d}" for d in x.shape) + " } } }" for k, x in inputs.items()]
    graph = caffe2x.graph_from_net(parse_prototxt_text("\n".join(lines + [TIED])))
    want = as_golden_blobs(graph, run(graph, inputs))
    rows = want["det:det"].reshape(-1, 7)
    assert len(rows) == 60 and len(np.unique(rows[:, 2])) < 10  # both images cut at 30, scores tied
    result = caffe2x.verify(graph, target, inputs, want, tolerance=TOLERANCE)
    assert result.passed, result.records[0].note
