"""Output paths (issue #17): checked before any work, --force never deletes a user's
files, a wrong kind or suffix is a clear error (exit 2), replacing stays atomic."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from conftest import golden_case

from caffe2x.cli import main

LENET = golden_case("lenet_mnist_trained")
NET = ["-w", LENET.caffemodel]


def invoke(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output
    return result


def convert(target, output, *more):
    return invoke("convert", LENET.prototxt, *NET, "--to", target, "-o", output, *more)


def folder_state(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def no_work(monkeypatch):
    """Fails the test if the net is read or a batch is run: the output checks come first."""
    calls = []

    def refused(*args, **kwargs):
        calls.append(args)
        raise RuntimeError("the work started before the outputs were checked")

    monkeypatch.setattr("caffe2x.api.load_net", refused)
    monkeypatch.setattr("caffe2x.batch.run_batch", refused)
    return calls


# --- 3: --force never deletes what caffe2x did not write ---------------------------------------

def test_force_refuses_a_folder_holding_a_users_file(tmp_path):
    pytest.importorskip("torch")
    mine = tmp_path / "mine"
    assert convert("pytorch", mine).exit_code == 0
    (mine / "notes.txt").write_text("my notes")
    before = folder_state(mine)
    result = convert("pytorch", mine, "--force")
    assert result.exit_code == 2, result.output
    assert "did not write" in result.output and "notes.txt" in result.output
    assert folder_state(mine) == before


def test_force_refuses_a_folder_caffe2x_did_not_write(tmp_path, no_work):
    mine = tmp_path / "mine"
    (mine / "sub").mkdir(parents=True)
    (mine / "sub" / "model.py").write_text("# mine, not caffe2x's")
    result = convert("pytorch", mine, "--force")
    assert result.exit_code == 2 and "sub/model.py" in result.output, result.output
    assert (mine / "sub" / "model.py").read_text() == "# mine, not caffe2x's" and not no_work


def test_force_replaces_caffe2x_own_folder_and_an_empty_one(tmp_path):
    pytest.importorskip("torch")
    out = tmp_path / "out"
    out.mkdir()
    assert convert("pytorch", out, "--force").exit_code == 0  # empty: nothing to lose
    assert convert("pytorch", out, "--force").exit_code == 0  # caffe2x's own
    owned = json.loads((out / ".caffe2x-files.json").read_text())["files"]
    assert sorted(owned) == ["caffe2x.json", "example_inputs.pt", "model.pt", "model.pt2", "model.py"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_interrupted_replacement_leaves_the_old_folder(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    out = tmp_path / "out"
    assert convert("pytorch", out).exit_code == 0
    before = folder_state(out)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("caffe2x.io.atomic.write_owned_files", interrupted)  # every file written, not yet swapped
    assert convert("pytorch", out, "--force").exit_code == 130
    assert folder_state(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_failed_swap_puts_the_old_folder_back(tmp_path, monkeypatch):
    from caffe2x.io import atomic

    out = tmp_path / "out"
    with atomic.atomic_dir(out) as staging:
        (staging / "a.txt").write_text("old")
    real_replace, calls = os.replace, []

    def failing(src, dst):  # the old folder is moved aside; putting the new one in place fails
        calls.append(src)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", failing)
    with pytest.raises(KeyboardInterrupt), atomic.atomic_dir(out, force=True) as staging:
        (staging / "a.txt").write_text("new")
    assert (out / "a.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_convert_all_never_replaces_a_model_folder_holding_a_users_file(tmp_path, no_work):
    manifest = tmp_path / "zoo.yaml"
    manifest.write_text(yaml.safe_dump({"models": [{"name": "lenet", "prototxt": str(LENET.prototxt),
                                                    "weights": str(LENET.caffemodel), "targets": ["pytorch"]}]}))
    notes = tmp_path / "out" / "lenet" / "pytorch" / "notes.txt"
    notes.parent.mkdir(parents=True)
    notes.write_text("mine")
    result = invoke("convert-all", manifest, "-o", tmp_path / "out")
    assert result.exit_code == 2 and "notes.txt" in result.output, result.output
    assert notes.read_text() == "mine" and not no_work


# --- 4b: a path of the wrong kind is a clear error, even with --force ---------------------------

@pytest.mark.parametrize("target, existing, message", [
    ("onnx", "folder", "is a folder"), ("tflite", "folder", "is a folder"),
    ("pytorch", "file", "is a file"), ("tensorflow", "file", "is a file"),
])
def test_output_of_the_wrong_kind_exits_2(tmp_path, target, existing, message):
    out = tmp_path / "out"
    if existing == "folder":
        out.mkdir()
        (out / "keep.txt").write_text("mine")
    else:
        out.write_text("mine")
    result = convert(target, out, "--force")
    assert result.exit_code == 2 and message in result.output, result.output
    assert (out / "keep.txt" if existing == "folder" else out).read_text() == "mine"


# --- 5: every output is checked before the work ------------------------------------------------

def _exists(tmp_path, name):
    path = tmp_path / name
    path.write_text("old")
    return path


@pytest.mark.parametrize("command", [
    lambda t: ["convert", LENET.prototxt, *NET, "--to", "tflite", "-o", _exists(t, "v.tflite")],
    lambda t: ["convert", LENET.prototxt, *NET, "--to", "onnx", "-o", t / "missing" / "m.onnx"],
    lambda t: ["run", LENET.prototxt, *NET, "-o", _exists(t, "blobs.npz")],
    lambda t: ["synth-weights", LENET.prototxt, "-o", _exists(t, "w.caffemodel")],
    lambda t: ["verify", LENET.prototxt, *NET, "--to", "onnx", "--report", _exists(t, "r.json")],
    lambda t: ["verify", LENET.prototxt, *NET, "--to", "onnx", "--report", t / "r.txt"],
    lambda t: ["convert-all", _manifest(t), "-o", t / "out", "--report", _exists(t, "r.md")],
    lambda t: ["convert-all", _manifest(t), "-o", _exists(t, "out")],
], ids=["convert", "convert-no-folder", "run", "synth-weights", "verify-report", "verify-report-suffix",
        "convert-all-report", "convert-all-outdir-is-a-file"])
def test_outputs_are_checked_before_any_work(tmp_path, no_work, command):
    result = invoke(*command(tmp_path))
    assert result.exit_code == 2, result.output
    assert not no_work, "the net was read (or the batch run) before the output was refused"
    assert all(p.read_text() == "old" for p in tmp_path.iterdir() if p.is_file() and p.suffix != ".yaml")


def _manifest(tmp_path):
    path = tmp_path / "zoo.yaml"
    path.write_text(yaml.safe_dump({"models": [{"prototxt": str(LENET.prototxt), "weights": str(LENET.caffemodel),
                                                "targets": ["onnx"]}]}))
    return path


# --- 7a: the inputs file is named when its keys are not net inputs ------------------------------

@pytest.mark.parametrize("command", ["run", "verify"])
def test_inputs_file_with_a_foreign_key_is_named(tmp_path, command):
    inputs = tmp_path / "in.npz"
    np.savez(inputs, image=np.zeros((1, 1, 28, 28), np.float32))
    args = ["--to", "onnx"] if command == "verify" else []
    result = invoke(command, LENET.prototxt, *NET, *args, "--inputs", inputs)
    assert result.exit_code == 2, result.output
    assert f"--inputs {inputs} names 'image', which is not a net input" in result.output
    assert "--input-shape" not in result.output


# --- 8: no format under another format's name; no report overwritten without --force -------------

@pytest.mark.parametrize("target, name, right", [
    ("onnx", "model.tflite", "ending in .onnx"), ("tflite", "model.onnx", "ending in .tflite"),
    ("onnx", "model.pt", "ending in .onnx"), ("pytorch", "model.onnx", "writes a folder"),
])
def test_a_suffix_naming_another_format_is_refused(tmp_path, no_work, target, name, right):
    result = convert(target, tmp_path / name)
    assert result.exit_code == 2 and right in result.output, result.output
    assert list(tmp_path.iterdir()) == [] and not no_work


def test_an_unknown_suffix_is_accepted(tmp_path):
    pytest.importorskip("onnx")
    assert convert("onnx", tmp_path / "lenet.v2", "--batch", "1").exit_code == 0
    assert (tmp_path / "lenet.v2").stat().st_size > 0


def test_verify_replaces_a_report_only_with_force(tmp_path):
    pytest.importorskip("onnxruntime")
    report = _exists(tmp_path, "r.md")
    args = ["verify", LENET.prototxt, *NET, "--to", "onnx", "--report", report, "--quiet"]
    result = invoke(*args)
    assert result.exit_code == 2 and "--force" in result.output
    assert report.read_text() == "old"
    assert invoke(*args, "--force").exit_code == 0
    assert report.read_text().startswith("# caffe2x parity report")


def test_force_never_replaces_a_link_to_a_folder(tmp_path, no_work):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    result = convert("pytorch", tmp_path / "link", "--force")
    assert result.exit_code == 2 and "symbolic link" in result.output, result.output
    assert (tmp_path / "link").is_symlink() and real.is_dir() and not no_work


def test_convert_all_replaces_its_own_outputs_but_extra_reports_only_with_force(tmp_path):
    pytest.importorskip("onnxruntime")
    out, extra = tmp_path / "out", tmp_path / "extra.md"
    args = ["convert-all", _manifest(tmp_path), "-o", out, "--report", extra, "--report", out / "report.json"]
    assert invoke(*args).exit_code == 0
    again = invoke(*args)  # OUTDIR's own reports and outputs are caffe2x's; extra.md is not
    assert again.exit_code == 2 and f"--report {extra}: already exists" in again.output, again.output
    assert invoke(*args, "--force").exit_code == 0
    assert sorted(p.name for p in (out / "lenet_mnist_trained").iterdir()) == ["model.onnx", "result.json", "spec.json"]
