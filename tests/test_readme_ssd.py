"""The README's MobileNet-SSD walkthrough, run exactly as written.

The README marks each block of the walkthrough with `<!-- readme-test: ssd NAME -->`.
The shell block runs through bash in a folder that holds the outputs (and a link to
`fixtures/`, as the checkout's root does); each Python block runs there too, after
the input block, as a script beside the outputs would. The detections every
framework's snippet gives must be the real SSD fork's rows.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import FIXTURES, ROOT, golden_case, normalized_error

pytest.importorskip("onnxruntime")
pytest.importorskip("torch")
pytest.importorskip("tensorflow")
# The README's TFLite snippet uses tf.lite.Interpreter, which TensorFlow 2.21 warns is moving to LiteRT.
pytestmark = pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated:UserWarning")

BLOCK = re.compile(r"<!-- readme-test: ssd (\S+) -->\n```\w+\n(.*?)\n```", re.S)
FRAMEWORK_SNIPPETS = ["onnx", "pytorch", "pytorch-export", "savedmodel", "keras", "tflite"]
GENERATED_PACKAGES = ("ssd_torch", "ssd_tf")  # the output folders the snippets import from


def readme_blocks() -> dict[str, str]:
    blocks: dict[str, str] = {}
    for name, code in BLOCK.findall((ROOT / "README.md").read_text()):
        assert name not in blocks, f"two README blocks marked 'ssd {name}'"
        blocks[name] = code
    return blocks


BLOCKS = readme_blocks()


def golden_detections() -> np.ndarray:
    return golden_case("mobilenet_ssd").blobs["detection_out:detection_out"]


@pytest.fixture(scope="module")
def walkthrough(tmp_path_factory) -> tuple[Path, str]:
    """The README's commands run once: the folder they wrote into, and what they printed."""
    work = tmp_path_factory.mktemp("ssd_readme")
    (work / "fixtures").symlink_to(FIXTURES)
    # `caffe2x` as installed runs `python -m caffe2x`: the same, in this checkout and interpreter.
    shim = f'caffe2x() {{ "{sys.executable}" -m caffe2x "$@"; }}\nset -e\n'
    paths = [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    done = subprocess.run(["bash", "-c", shim + BLOCKS["commands"]], cwd=work, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return work, done.stdout


@contextlib.contextmanager
def beside_the_outputs(work: Path, monkeypatch):
    """Run as a script in `work` does: cwd there and on sys.path; generated modules forgotten after."""
    monkeypatch.chdir(work)
    monkeypatch.syspath_prepend(str(work))
    try:
        yield
    finally:
        for name in [m for m in sys.modules if m.split(".")[0] in GENERATED_PACKAGES]:
            del sys.modules[name]


def run_snippet(work: Path, monkeypatch, *names: str) -> dict:
    namespace: dict = {}
    with beside_the_outputs(work, monkeypatch):
        for name in names:
            exec(compile(BLOCKS[name], f"README.md[ssd {name}]", "exec"), namespace)
    return namespace


def test_readme_marks_every_block():
    assert set(BLOCKS) == {"commands", "output", "input", "rows", *FRAMEWORK_SNIPPETS}


def test_commands_print_what_the_readme_shows(walkthrough):
    _, printed = walkthrough
    printed_lines = {" ".join(line.split()) for line in printed.splitlines()}
    for line in BLOCKS["output"].splitlines():
        assert " ".join(line.split()) in printed_lines, f"README shows {line!r}, the commands did not print it"


@pytest.mark.parametrize("snippet", FRAMEWORK_SNIPPETS)
def test_snippet_gives_the_forks_detections(walkthrough, monkeypatch, snippet):
    work, _ = walkthrough
    got = np.asarray(run_snippet(work, monkeypatch, "input", snippet)["detections"])
    want = golden_detections()
    assert got.dtype == np.float32
    assert got.shape == want.shape, f"{snippet}: {got.shape[2]} rows, the fork has {want.shape[2]}"
    assert normalized_error(got, want) <= 1e-4
    np.testing.assert_array_equal(got[..., 1], want[..., 1])  # labels, row by row in Caffe's order


def test_input_is_the_golden_input_and_preprocess_matches_mobilenet_ssd(walkthrough, monkeypatch):
    work, _ = walkthrough
    namespace = run_snippet(work, monkeypatch, "input")
    np.testing.assert_array_equal(namespace["x"], golden_case("mobilenet_ssd").inputs["data"])
    bgr = np.random.default_rng(0).integers(0, 256, (300, 300, 3), dtype=np.uint8)
    x = namespace["preprocess"](bgr)
    assert x.shape == (1, 3, 300, 300) and x.dtype == np.float32
    # chuanqi305's demo: (pixel - 127.5) * 0.007843, BGR, channels first.
    assert x[0, 2, 10, 20] == pytest.approx((float(bgr[10, 20, 2]) - 127.5) * 0.007843, rel=1e-6)


def test_rows_snippet_prints_each_confident_detection(walkthrough, monkeypatch):
    work, _ = walkthrough
    want = golden_detections()[0, 0]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        run_snippet(work, monkeypatch, "input", "onnx", "rows")
    lines = printed.getvalue().splitlines()
    rows = [[float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", line)] for line in lines]
    confident = want[want[:, 2] > 0.5]
    readme = (ROOT / "README.md").read_text()
    assert f"({len(confident)} rows here, the first `{lines[0]}`" in readme, f"the snippet prints {lines[0]!r} first"
    assert len(rows) == len(confident)
    # Printed as "image I: label L, score S, box XMIN YMIN XMAX YMAX", 3 decimals.
    np.testing.assert_allclose(np.array(rows), confident, atol=6e-4, rtol=0)
