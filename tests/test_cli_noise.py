"""The terminal shows caffe2x's own output: framework logs hidden unless --verbose,
kept and shown when the framework fails; --version names every framework's version."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner
from conftest import GOLDEN

from caffe2x.cli import main
from caffe2x.targets.quiet import quiet_framework_logs

LENET = GOLDEN / "lenet_mnist_trained"


def test_version_names_caffe2x_and_each_framework():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].startswith("caffe2x ") and lines[1].startswith("python ")
    for framework in ("onnx", "onnxruntime", "torch", "tensorflow", "keras"):
        assert any(line.split()[0] == framework for line in lines[2:]), framework


def test_native_logs_are_hidden_and_kept_for_a_failure(capfd, monkeypatch):
    monkeypatch.delenv("CAFFE2X_VERBOSE", raising=False)
    with quiet_framework_logs():
        os.write(2, b"I0000 port.cc:153] oneDNN custom operations are on\n")
    assert capfd.readouterr().err == ""
    with pytest.raises(RuntimeError), quiet_framework_logs():
        os.write(2, b"E0000 converter.cc:1] the reason it failed\n")
        raise RuntimeError("conversion failed")
    assert "the reason it failed" in capfd.readouterr().err
    monkeypatch.setenv("CAFFE2X_VERBOSE", "1")
    with quiet_framework_logs():
        os.write(2, b"shown as it comes\n")
    assert "shown as it comes" in capfd.readouterr().err


@pytest.mark.parametrize("verbose", [False, True])
def test_a_tflite_verify_prints_no_tensorflow_logs_unless_verbose(verbose):
    pytest.importorskip("tensorflow")
    command = [sys.executable, "-m", "caffe2x", *(["--verbose"] if verbose else []), "verify",
               str(LENET / "net.prototxt"), "-w", str(LENET / "net.caffemodel"), "--to", "tflite"]
    env = {k: v for k, v in os.environ.items() if k not in ("CAFFE2X_VERBOSE", "TF_CPP_MIN_LOG_LEVEL")}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "overall: PASS" in done.stdout
    if verbose:
        assert "XNNPACK" in done.stderr or "oneDNN" in done.stderr
    else:
        assert done.stderr == ""
