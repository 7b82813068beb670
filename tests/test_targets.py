"""The target registry: one list behind the CLI, the API, convert-all and the reports;
missing frameworks named with their pip extra before any work."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml
from click.testing import CliRunner
from conftest import ROOT, golden_case

import caffe2x
from caffe2x import api
from caffe2x.batch import ModelSpec, load_manifest
from caffe2x.cli import main
from caffe2x.compare import DEFAULT_TOLERANCE
from caffe2x.errors import Caffe2xError
from caffe2x.report import schema
from caffe2x.targets import FILE, FOLDER, TARGETS

NAMES = ["onnx", "pytorch", "tensorflow", "tflite"]


def _choices(command: str, option: str) -> list[str]:
    return list(next(p for p in main.commands[command].params if p.name == option).type.choices)


def test_every_list_of_targets_is_the_registry():
    assert TARGETS.names() == NAMES
    assert _choices("verify", "targets") == NAMES
    assert _choices("convert", "target") == [*NAMES, "all"]  # convert --to all: every target at once
    assert ModelSpec("m", "net.prototxt").targets == NAMES
    assert schema()["$defs"]["target"]["properties"]["target"]["enum"] == NAMES


def test_each_target_describes_its_extra_output_and_options():
    pyproject = (ROOT / "pyproject.toml").read_text()
    extras = pyproject[pyproject.index("[project.optional-dependencies]"):].split("\n\n")[0]
    for target in TARGETS:
        assert f"\n{target.extra} = [" in extras and target.modules, target.name
        assert target.output_kind in (FILE, FOLDER)
        assert bool(target.suffixes) == (target.output_kind == FILE), target.name
    assert TARGETS.get("onnx").suffixes == (".onnx",) and TARGETS.get("tflite").suffixes == (".tflite",)
    assert TARGETS.get("onnx").options == ("opset", "dynamic_batch", "keep_intermediate")
    assert TARGETS.get("tensorflow").options == ("layout",)
    assert TARGETS.get("tflite").options == ("layout", "quantize", "calibration")
    assert len({t.batch_output for t in TARGETS}) == len(TARGETS)
    with pytest.raises(Caffe2xError, match="unknown target 'caffe3'; choose from onnx, pytorch"):
        TARGETS.get("caffe3")


def test_the_default_tolerance_is_defined_once():
    tolerance = next(p for p in main.commands["verify"].params if p.name == "tolerance")
    assert tolerance.default == DEFAULT_TOLERANCE
    assert ModelSpec("m", "net.prototxt").tolerance == DEFAULT_TOLERANCE
    assert api.verify.__kwdefaults__["tolerance"] == DEFAULT_TOLERANCE


def test_manifest_default_tolerance_is_the_default(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump({"models": [{"prototxt": "a.prototxt", "random_weights": True}]}))
    assert load_manifest(path)[0].tolerance == DEFAULT_TOLERANCE


def test_convert_and_verify_are_exported_with_docstrings(tmp_path):
    assert caffe2x.convert is api.convert and caffe2x.verify is api.verify
    assert "pip extra" in caffe2x.convert.__doc__ and "reference" in caffe2x.verify.__doc__
    case = golden_case("lenet_mnist_trained")
    graph = case.load()
    assert caffe2x.convert(graph, "onnx", tmp_path / "m.onnx") == [tmp_path / "m.onnx"]
    assert caffe2x.verify(graph, "onnx", case.inputs, case.blobs).passed


@pytest.mark.parametrize("target, option", [("pytorch", ["--opset", "13"]), ("tensorflow", ["--batch", "2"]),
                                            ("onnx", ["--layout", "nchw"]), ("pytorch", ["--keep-intermediate"])])
def test_an_option_of_another_target_is_refused(tmp_path, target, option):
    case = golden_case("lenet_mnist_trained")
    result = CliRunner().invoke(main, ["convert", str(case.prototxt), "-w", str(case.caffemodel), "--to", target,
                                       "-o", str(tmp_path / "out"), *option])
    assert result.exit_code == 2, result.output
    assert f"{option[0]} cannot be used with --to {target}" in result.output
    assert not (tmp_path / "out").exists()


def test_api_convert_refuses_an_option_of_another_target(tmp_path):
    with pytest.raises(Caffe2xError, match="--layout applies to tensorflow, tflite only"):
        caffe2x.convert(golden_case("lenet_mnist_trained").load(), "onnx", tmp_path / "m.onnx", layout="nchw")


# A Python whose `import MODULE` fails, as when the extra is not installed.
BLOCKER = "import sys; [sys.modules.__setitem__(m, None) for m in sys.argv[1].split(',')]; " \
          "sys.argv = ['caffe2x', *sys.argv[2:]]; from caffe2x.cli import main; main()"


def _without(modules: str, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCKER, modules, *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)


@pytest.mark.parametrize("command, target, modules, extra", [
    ("convert", "onnx", "onnx", "onnx"),
    ("verify", "onnx", "onnxruntime", "onnx"),
    ("convert", "pytorch", "torch", "torch"),
    ("verify", "pytorch", "torch", "torch"),
    ("convert", "tensorflow", "keras", "tensorflow"),
    ("verify", "tflite", "tensorflow,keras", "tensorflow"),
])
def test_a_missing_framework_names_its_extra_before_any_work(tmp_path, command, target, modules, extra):
    case = golden_case("lenet_mnist_trained")
    # The caffemodel does not exist: the extra is checked before it would be read.
    args = [command, case.prototxt, "-w", tmp_path / "missing.caffemodel", "--to", target]
    result = _without(modules, *args, *(["-o", tmp_path / "out"] if command == "convert" else []))
    assert result.returncode == 2, result.stderr
    assert f"pip install 'caffe2x[{extra}]'" in result.stderr and "MissingExtraError" in result.stderr
    assert "internal error" not in result.stderr and "missing.caffemodel" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_convert_all_checks_every_extra_before_running_a_model(tmp_path):
    case = golden_case("lenet_mnist_trained")
    manifest = tmp_path / "m.yaml"
    manifest.write_text(yaml.safe_dump({"models": [{"prototxt": str(case.prototxt), "weights": str(case.caffemodel),
                                                    "targets": ["onnx", "pytorch"]}]}))
    result = _without("torch", "convert-all", manifest, "-o", tmp_path / "out")
    assert result.returncode == 2, result.stderr
    assert "the pytorch target needs" in result.stderr and "pip install 'caffe2x[torch]'" in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_missing_framework_with_real_weights_is_not_an_internal_error(tmp_path):
    case = golden_case("lenet_mnist_trained")
    result = _without("onnx", "convert", case.prototxt, "-w", case.caffemodel, "--to", "onnx", "-o",
                      tmp_path / "m.onnx")
    assert result.returncode == 2 and "pip install 'caffe2x[onnx]'" in result.stderr, result.stderr
