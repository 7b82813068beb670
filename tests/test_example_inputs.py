"""`python model.py` of a converted PyTorch or TensorFlow folder runs the net on inputs it
accepts: the folder's example inputs, drawn by caffe2x as run and verify draw random inputs.
Standard-normal inputs crashed BVLC's Embed (indices truncated to -1) and fed LSTM/RNN a
meaningless cont; the golden bvlc_recurrent net has both."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import golden_case, normalized_error

from caffe2x import api
from caffe2x.cli import main
from caffe2x.reference import as_golden_blobs, run

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")
CASE = "bvlc_recurrent"  # Embed (idx), LSTM and RNN (cont): inputs whose values matter
# What `python model.py` leaves in its globals: the outputs, as their own script prints them.
CAPTURE = textwrap.dedent("""
    import runpy, sys
    import numpy as np
    sys.modules["caffe2x"] = None  # the generated folder needs no caffe2x
    namespace = runpy.run_path(sys.argv[1], run_name="__main__")  # as `python model.py` runs it
    outputs = namespace["outputs"]
    items = outputs.items() if isinstance(outputs, dict) else enumerate(
        outputs if isinstance(outputs, tuple) else (outputs,))
    np.savez(sys.argv[2], **{str(key): np.asarray(value) for key, value in items})
""")


def _convert(target: str, folder):
    case = golden_case(CASE)
    result = CliRunner().invoke(main, ["convert", str(case.prototxt), "-w", str(case.caffemodel),
                                       "--to", target, "-o", str(folder)])
    assert result.exit_code == 0, result.output
    return case


def _expected(case) -> tuple[dict, dict]:
    """The inputs caffe2x draws (run's and verify's default seed) and the reference outputs on them."""
    graph = case.load()
    inputs = api.random_inputs(graph, 0)
    blobs = as_golden_blobs(graph, run(graph, inputs))
    outputs = {top: next(value for key, value in blobs.items() if key.endswith(f":{top}"))
               for top in case.manifest["outputs"]}
    return inputs, outputs


def _run_script(folder, tmp_path) -> dict:
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", CAPTURE, str(folder / "model.py"), str(tmp_path / "out.npz")],
                            capture_output=True, text=True, timeout=600, cwd=tmp_path, env=environment)
    assert result.returncode == 0, result.stderr[-3000:]
    with np.load(tmp_path / "out.npz") as saved:
        return dict(saved)


def _check_valid(inputs: dict) -> None:
    idx, cont = inputs["idx"], inputs["cont"]
    assert np.array_equal(idx, np.trunc(idx)) and idx.min() >= 0 and idx.max() < 10  # rows of the table
    assert np.array_equal(cont, [[0, 0], [1, 1], [1, 1]])  # Caffe's flags: a sequence starts, goes on


def test_pytorch_model_py_runs_on_valid_example_inputs(tmp_path):
    torch = pytest.importorskip("torch")
    folder = tmp_path / "pt"
    case = _convert("pytorch", folder)
    inputs, want = _expected(case)
    # The script as a user runs it: before, it crashed on two runs in three (an index of -1).
    result = subprocess.run([sys.executable, str(folder / "model.py")], capture_output=True, text=True,
                            timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split("\n")[:2] == ["(6, 4)", "(6, 4)"]
    got = _run_script(folder, tmp_path)  # forward returns the outputs in inspect's order
    for index, top in enumerate(case.manifest["outputs"]):
        assert normalized_error(got[str(index)], want[top]) <= 1e-5, top  # on caffe2x's inputs
    examples = torch.load(folder / "example_inputs.pt", weights_only=True)
    assert list(examples) == ["idx", "seq", "cont"]  # Caffe input names, in input order
    _check_valid({name: tensor.numpy() for name, tensor in examples.items()})
    assert all(np.array_equal(examples[name].numpy(), inputs[name]) for name in inputs)


def test_tensorflow_model_py_runs_on_valid_example_inputs(tmp_path):
    pytest.importorskip("tensorflow")
    folder = tmp_path / "tf"
    case = _convert("tensorflow", folder)
    inputs, want = _expected(case)
    got = _run_script(folder, tmp_path)  # one TensorFlow process: the script, its outputs kept
    assert sorted(got) == sorted(want)
    for top in want:
        assert normalized_error(got[top], want[top]) <= 1e-5, top  # before: other (random) inputs
    with np.load(folder / "example_inputs.npz") as saved:
        examples = dict(saved)
    assert list(examples) == ["idx", "seq", "cont"]  # signature keys, in input order (no 4-D input here)
    _check_valid(examples)
    assert all(np.array_equal(examples[name], inputs[name]) for name in inputs)
