"""The package as users install it: a wheel built from the sources, installed without the
checkout, imports, finds its schemas (BVLC's and each fork family's .proto) and converts;
building it prints no warning about our pyproject."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The wheel of a copy of the sources (the build writes build/ and *.egg-info next to
    pyproject.toml: never into the checkout), installed into a folder of its own."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT / "caffe2x", source / "caffe2x", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation",
                            "-w", str(work / "dist")], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    wheel, = (work / "dist").glob("caffe2x-*.whl")
    target = work / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(target), str(wheel)],
                   capture_output=True, text=True, check=True)
    return target, build.stdout + build.stderr


def _run(site: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    # The venv's dependencies, the wheel's caffe2x: PYTHONPATH comes before the editable
    # install's finder, and the working directory is not the checkout.
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=cwd, env=env)


def test_building_the_wheel_warns_about_nothing_of_ours(installed):
    _, log = installed
    lines = [line for line in log.splitlines() if "warning" in line.lower() or "deprecat" in line.lower()]
    assert not lines, lines


def test_the_installed_wheel_imports_its_own_copy_with_every_schema(installed, tmp_path):
    site, _ = installed
    probe = _run(site, "-c", "import caffe2x, caffe2x.schema; print(caffe2x.__file__)", cwd=tmp_path)
    assert probe.returncode == 0 and probe.stdout.strip().startswith(str(site)), probe.stdout + probe.stderr
    listing = _run(site, "-m", "caffe2x", "layers", "--json", cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    for fork_type in ("Interp", "ReLU6", "DetectionOutput", "BN"):  # types read from the families' .proto files
        assert f'"{fork_type}"' in listing.stdout, fork_type


def test_the_installed_wheel_converts_and_verifies(installed, tmp_path):
    site, _ = installed
    case = FIXTURES / "golden" / "lenet_mnist_trained"
    result = _run(site, "-m", "caffe2x", "verify", str(case / "net.prototxt"), "-w", str(case / "net.caffemodel"),
                  "--reference", str(case / "blobs.npz"), "--to", "onnx", "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    version = _run(site, "-m", "caffe2x", "--version", cwd=tmp_path)
    assert version.returncode == 0 and "caffe2x 0.1.0" in version.stdout, version.stdout
