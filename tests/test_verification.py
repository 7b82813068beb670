"""One verification pipeline: `verify` and `convert-all` choose the same reference and write the
same records; verdicts name their target; the progress label names the step in progress."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import rich.progress
from click.testing import CliRunner
from conftest import golden_case
from rich.console import Console

import caffe2x.report.terminal as terminal
from caffe2x.batch import ModelSpec
from caffe2x.batch_worker import run_model
from caffe2x.cli import main
from caffe2x.errors import VerificationTimeout
from caffe2x.reference import as_golden_blobs, pycaffe
from caffe2x.reference import run as forward
from caffe2x.targets.onnx import runner as onnx_runner

CASE = "lenet_mnist_trained"


def _verify_cli(*args):
    case = golden_case(CASE)
    return CliRunner().invoke(main, ["verify", str(case.prototxt), "-w", str(case.caffemodel), *map(str, args)])


def _batch_model(tmp_path, **spec):
    case = golden_case(CASE)
    folder = tmp_path / "batch"
    folder.mkdir()
    return run_model(ModelSpec("lenet", str(case.prototxt), str(case.caffemodel), **spec), folder)


def _records(target: dict) -> list[dict]:
    return target["blobs"]


@pytest.fixture
def fake_pycaffe(monkeypatch):
    """pycaffe "importable": a stand-in that computes Caffe's blobs with the NumPy reference."""
    calls = []

    def caffe_blobs(prototxt, weights, inputs):
        import caffe2x

        calls.append(str(prototxt))
        graph = caffe2x.load_net(prototxt, weights, {k: v.shape for k, v in inputs.items()})
        return as_golden_blobs(graph, forward(graph, inputs))

    monkeypatch.setattr(pycaffe, "available", lambda: True)
    monkeypatch.setattr(pycaffe, "caffe_blobs", caffe_blobs)
    return calls


def test_auto_reference_is_caffe_in_verify_and_convert_all_alike(tmp_path, fake_pycaffe):
    inputs = tmp_path / "in.npz"
    np.savez(inputs, **golden_case(CASE).inputs)
    result = _verify_cli("--to", "onnx", "--reference", "auto", "--inputs", inputs, "--json")
    assert result.exit_code == 0, result.output
    verified = json.loads(result.stdout)["models"][0]["targets"][0]
    batch = _batch_model(tmp_path, targets=["onnx"], reference="auto", inputs=str(inputs)).as_dict()["targets"][0]
    assert len(fake_pycaffe) == 2  # both ran the real Caffe
    assert verified["reference"] == batch["reference"] == "caffe"
    assert _records(verified) == _records(batch) and len(verified["blobs"]) == 8


def test_verify_and_convert_all_give_the_same_records_for_one_net(tmp_path):
    reference = str(golden_case(CASE).path / "blobs.npz")
    result = _verify_cli("--to", "onnx", "--reference", reference, "--tolerance", "5e-7", "--json")
    verified = json.loads(result.stdout)["models"][0]["targets"][0]
    batch = _batch_model(tmp_path, targets=["onnx"], reference=reference, tolerance=5e-7).as_dict()["targets"][0]
    assert verified["status"] == batch["status"] == "failed"  # pool2 is at 8e-7
    assert verified["reference"] == batch["reference"] == reference
    assert _records(verified) == _records(batch)
    assert verified["first_divergence"] == batch["first_divergence"]


def test_a_timeout_in_one_target_stops_verify(monkeypatch):
    """--timeout is not one target's error: it ends the run (exit 124), the next target does not start."""
    def expire(*args, **kwargs):
        raise VerificationTimeout("verification did not finish within --timeout 1 s.")

    monkeypatch.setattr(onnx_runner, "to_onnx", expire)
    result = _verify_cli("--to", "onnx", "--to", "pytorch", "--reference", "builtin")
    assert result.exit_code == 124, result.output
    assert "pytorch" not in result.output


@pytest.fixture
def shown_labels(monkeypatch):
    """The progress bar on a (fake) terminal; yields the list of descriptions it showed."""
    labels = []
    update = rich.progress.Progress.update

    def recording(self, task, **kwargs):
        if "description" in kwargs:
            labels.append(kwargs["description"])
        return update(self, task, **kwargs)

    monkeypatch.setattr(rich.progress.Progress, "update", recording)
    monkeypatch.setattr(terminal, "console", lambda stderr=False: Console(file=io.StringIO(), force_terminal=True))
    return labels


def test_verify_progress_names_the_step_in_progress(monkeypatch, shown_labels):
    seen = []
    to_onnx = onnx_runner.to_onnx

    def converting(*args, **kwargs):
        seen.append(shown_labels[-1] if shown_labels else None)
        return to_onnx(*args, **kwargs)

    monkeypatch.setattr(onnx_runner, "to_onnx", converting)
    assert _verify_cli("--to", "onnx", "--reference", "builtin").exit_code == 0
    assert seen == ["verifying onnx"]
    assert shown_labels[0] == "verifying reference"


def test_convert_all_progress_names_the_models_in_progress(tmp_path, monkeypatch, shown_labels):
    import yaml

    import caffe2x.batch as batch
    from caffe2x.report import ModelResult

    seen = {}

    def run_one(spec, outdir):
        seen[spec.name] = shown_labels[-1] if shown_labels else None
        return ModelResult(spec.name, spec.prototxt, spec.weights, error="not run")

    monkeypatch.setattr(batch, "run_one", run_one)
    manifest = tmp_path / "m.yaml"
    manifest.write_text(yaml.safe_dump({"models": [{"name": n, "prototxt": "a.prototxt", "random_weights": True,
                                                    "targets": ["onnx"]} for n in ("first", "second")]}))
    CliRunner().invoke(main, ["convert-all", str(manifest), "-o", str(tmp_path / "out")])
    assert seen == {"first": "models first", "second": "models second"}


def test_steps_label_lists_the_running_steps():
    shown = []
    steps = terminal.Steps("models", lambda text, finished: shown.append((text, finished)))
    steps.start("a")
    steps.start("b")
    steps.done("a")
    steps.next("c")
    assert shown == [("models a", 0), ("models a, b", 0), ("models b", 1), ("models c", 2)]


@pytest.fixture(scope="module")
def onnx_fails_tflite_passes():
    """ONNX compares conv1 (held to 1e-12: it fails); TFLite compares only the output (it passes)."""
    reference = golden_case(CASE).path / "blobs.npz"
    args = ["--to", "onnx", "--to", "tflite", "--reference", reference, "--layer-tolerance", "conv1=1e-12"]
    return _verify_cli(*args), _verify_cli(*args, "--quiet")


def test_every_verdict_names_its_target_and_the_last_line_is_overall(onnx_fails_tflite_passes):
    result, _ = onnx_fails_tflite_passes
    assert result.exit_code == 1
    lines = result.stdout.strip().splitlines()
    verdicts = [line.strip() for line in lines if not line.startswith(tuple("┏┃┡│└")) and (
        "PASS" in line or "FAIL" in line or "first divergence" in line)]
    assert all(v.startswith(("onnx", "tflite", "overall")) for v in verdicts), verdicts
    assert any(line.startswith("onnx: FAIL: first divergence: layer 'conv1' top 'conv1'") for line in lines)
    assert "tflite: PASS: every blob within tolerance" in lines
    summary = lines[lines.index("summary:") + 1:]
    assert [row.split()[0] for row in summary[:-1]] == ["onnx", "tflite"]
    assert lines[-1] == "overall: FAIL (onnx did not pass; 1 of 2 targets pass)"


def test_quiet_still_names_each_failing_target(onnx_fails_tflite_passes):
    _, quiet = onnx_fails_tflite_passes
    assert quiet.exit_code == 1 and quiet.stdout == ""
    lines = quiet.stderr.strip().splitlines()
    assert len(lines) == 1 and "onnx: FAIL: first divergence: layer 'conv1'" in lines[0], quiet.stderr


def test_a_blob_whose_reference_is_nan_fails_verification(tmp_path):
    """NaN on both sides compares as equal; a net whose every blob is NaN must not pass
    (seen with a fork BN given negative random variances)."""
    import caffe2x
    from caffe2x import api
    from caffe2x.reference import as_golden_blobs, run

    pytest.importorskip("onnxruntime")
    net = tmp_path / "net.prototxt"
    net.write_text('input: "data" input_shape { dim: 1 dim: 4 }\n'
                   'layer { name: "log" type: "Log" bottom: "data" top: "log" }\n')
    graph = caffe2x.load_net(net)
    inputs = {"data": np.array([[-1.0, 2.0, 3.0, 4.0]], np.float32)}  # log(-1) is NaN on every side
    result = api.verify(graph, "onnx", inputs, as_golden_blobs(graph, run(graph, inputs)))
    assert not result.passed
    (record,) = [r for r in result.records if r.layer == "log"]
    assert not record.passed and "1 NaN value(s) of 4" in record.note


def test_blob_errors_do_not_depend_on_the_number_of_blas_threads():
    """The same comparison gave cosines differing in the 16th digit under 1 and 2 BLAS threads
    (np.vdot's summation order follows its threads), so a Ray task's report differed from the
    process pool's; every statistic is now summed in one fixed order."""
    import os
    import subprocess
    import sys

    script = ("import numpy as np; from caffe2x.compare import compare; r = np.random.default_rng(0); "
              "a = r.normal(size=1_000_003); print(repr(compare(a + r.normal(size=a.size) * 1e-6, a)))")
    printed = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                              env={**os.environ, "OMP_NUM_THREADS": threads,
                                   "OPENBLAS_NUM_THREADS": threads}).stdout
               for threads in ("1", "2")}
    assert len(printed) == 1, printed


def test_rows_on_axis_0_that_differ_in_count_fail_with_a_note_not_a_crash():
    """A Proposal's R x 5 rois keep their data-dependent rows on axis 0; a target that kept 52
    rows where the reference kept 53 crashed verify (rows assumed on axis 2: an AxisError)."""
    from caffe2x.parity import compare_rows

    rng = np.random.default_rng(0)
    want = rng.uniform(0, 100, (53, 5)).astype(np.float32)
    got = np.delete(want, 7, axis=0)
    record = compare_rows("proposal", "rois", 3, "pytorch", got, want, 1e-4, axis=0)
    assert not record.passed and "gives 52 rows, the reference 53; first differing row 7" in record.note
    same = compare_rows("proposal", "rois", 3, "pytorch", want.copy(), want, 1e-4, axis=0)
    assert same.passed and same.note is None
