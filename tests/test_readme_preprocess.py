"""The README's preprocessing walk-through (issue 16), run exactly as written.

The blocks marked `<!-- readme-test: preprocess NAME -->` run as test_readme_ssd runs its own:
the shell block through bash in a folder holding the outputs (with a link to `fixtures/`), the
Python blocks there after it. On the trained LeNet and the thin AlexNet golden net (mean image,
ImageNet names), ONNX and PyTorch, embedded and recorded, the top-5 names must be those of
Caffe's own transform of the same image through caffe2x's NumPy Caffe.
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
from conftest import FIXTURES, ROOT, golden_case

import caffe2x
from caffe2x.io.labels import read_labels
from caffe2x.io.mean import read_mean_binaryproto
from caffe2x.reference import run

pytest.importorskip("onnxruntime")
pytest.importorskip("torch")
pytest.importorskip("PIL")

BLOCK = re.compile(r"<!-- readme-test: preprocess (\S+) -->\n```\w+\n(.*?)\n```", re.S)
PREPROCESS = FIXTURES / "preprocess"


def readme_blocks() -> dict[str, str]:
    blocks: dict[str, str] = {}
    for name, code in BLOCK.findall((ROOT / "README.md").read_text()):
        assert name not in blocks, f"two README blocks marked 'preprocess {name}'"
        blocks[name] = code
    return blocks


BLOCKS = readme_blocks()


@pytest.fixture(scope="module")
def walkthrough(tmp_path_factory) -> tuple[Path, str]:
    work = tmp_path_factory.mktemp("preprocess_readme")
    (work / "fixtures").symlink_to(FIXTURES)
    shim = f'caffe2x() {{ "{sys.executable}" -m caffe2x "$@"; }}\nset -e\n'
    paths = [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    done = subprocess.run(["bash", "-c", shim + BLOCKS["commands"]], cwd=work, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return work, done.stdout


@pytest.fixture(scope="module")
def snippets(walkthrough) -> dict:
    """The Python blocks run in order in the walk-through's folder; their namespace."""
    work, _ = walkthrough
    namespace: dict = {}
    cwd = os.getcwd()
    os.chdir(work)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            for name in ("load", "embed", "record"):
                exec(compile(BLOCKS[name], f"README.md[preprocess {name}]", "exec"), namespace)
    finally:
        os.chdir(cwd)
    namespace["work"] = work
    return namespace


def caffe_top5(net: str, image: np.ndarray) -> list[str]:
    """Caffe's own transform of the image (written here, not caffe2x's): RGB -> BGR, H,W,C -> C,H,W,
    minus the mean image's center crop (AlexNet, offset (256 - 227) / 2 = 14), or x 1/256 (LeNet);
    then the net in caffe2x's NumPy Caffe (exact against the real Caffe: the golden tests)."""
    if net == "alexnet":
        case, names = golden_case("bvlc_alexnet_thin"), read_labels(PREPROCESS / "synset_words.txt")
        mean = read_mean_binaryproto(PREPROCESS / "mean.binaryproto")[:, 14:241, 14:241]
        x = image[0][..., ::-1].transpose(2, 0, 1) - mean
    else:
        case, names = golden_case("lenet_mnist_trained"), read_labels(PREPROCESS / "digits.txt")
        x = image[0].transpose(2, 0, 1) * np.float32(0.00390625)
    graph = caffe2x.load_net(case.prototxt, case.caffemodel, {"data": (1, *x.shape)})
    prob = run(graph, {"data": np.ascontiguousarray(x[None], np.float32)})[graph.outputs[0]]
    return [names[i] for i in np.argsort(-prob.reshape(-1), kind="stable")[:5]]


def test_readme_marks_every_block():
    assert set(BLOCKS) == {"commands", "output", "load", "embed", "record"}


def test_verify_prints_what_the_readme_shows(walkthrough):
    _, printed = walkthrough
    lines = {" ".join(line.split()) for line in printed.splitlines()}
    for line in BLOCKS["output"].splitlines():
        assert " ".join(line.split()) in lines, f"README shows {line!r}, verify did not print it"


@pytest.mark.parametrize("net", ["alexnet", "lenet"])
@pytest.mark.parametrize("how", ["onnx_top5", "torch_top5", "onnx_recorded_top5", "torch_recorded_top5"])
def test_top5_names_are_the_references(snippets, net, how):
    image = snippets["photo" if net == "alexnet" else "digit"]
    output = {"onnx_top5": f"{net}.onnx", "torch_top5": f"{net}_torch", "onnx_recorded_top5": f"{net}_recorded.onnx",
              "torch_recorded_top5": f"{net}_recorded_torch"}[how]
    got = snippets[how](str(snippets["work"] / output), image)
    assert got == caffe_top5(net, image)


def test_printed_names_in_the_readme_are_what_the_snippets_give(snippets):
    assert BLOCKS["embed"].count("# ['cock', 'ostrich, Struthio camelus',") == 1
    assert caffe_top5("alexnet", snippets["photo"])[:2] == ["cock", "ostrich, Struthio camelus"]
    assert f"# {caffe_top5('lenet', snippets['digit'])}" in BLOCKS["embed"]
