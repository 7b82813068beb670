"""Hostile and broken inputs (tests/hostile, made by tools/make_hostile.py): each gives
its typed error as one paragraph with exit code 2, no traceback, nothing written;
and a name-injection net converts to every target with nothing executed."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FIXTURES

from caffe2x.cli import main

HOSTILE = Path(__file__).parent / "hostile"
CASES = json.loads((HOSTILE / "cases.json").read_text(encoding="utf-8"))


def test_there_are_at_least_40_distinct_cases():
    assert len(CASES) >= 40 and len({c["name"] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_hostile_case_gives_its_documented_error(case, tmp_path):
    args = [a for a in case["args"] if not a.startswith("convert:")]
    command = ["inspect", str(HOSTILE / case["prototxt"])]
    if any(a.startswith("convert:") for a in case["args"]):
        target = next(a for a in case["args"] if a.startswith("convert:")).split(":")[1]
        command = ["convert", str(HOSTILE / case["prototxt"]), "--random-weights", "--to", target,
                   "-o", str(tmp_path / "out")]
    if "weights" in case:
        command += ["-w", str(HOSTILE / case["weights"])]
    result = CliRunner().invoke(main, command + args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.output.count("caffe2x: error (") == 1
    message = result.output.split("caffe2x: error (", 1)[1]
    error_class, text = message.split("): ", 1)
    assert error_class == case["error"] or case["error"] == "Caffe2xError", error_class
    assert case["match"] in text, text
    assert "\n" not in text.rstrip("\n"), "the message must be one paragraph"
    assert list(tmp_path.iterdir()) == []


INJECTION = FIXTURES / "nets" / "name_injection.prototxt"
MARKER = Path("/tmp/caffe2x_pwned")  # what the injected names try to create


@pytest.mark.parametrize("target", ["onnx", "pytorch", "tensorflow", "tflite"])
def test_name_injection_converts_and_executes_nothing(target, tmp_path):
    pytest.importorskip({"onnx": "onnxruntime", "pytorch": "torch"}.get(target, "tensorflow"))
    MARKER.unlink(missing_ok=True)
    out = tmp_path / ("model.onnx" if target == "onnx" else "model.tflite" if target == "tflite" else "out")
    result = CliRunner().invoke(main, ["convert", str(INJECTION), "--random-weights", "--to", target, "-o", str(out)])
    assert result.exit_code == 0, result.output
    verify = CliRunner().invoke(main, ["verify", str(INJECTION), "--random-weights", "--to", target,
                                       "--reference", "builtin"])
    assert verify.exit_code == 0, verify.output
    assert not MARKER.exists(), "an injected name was executed"
    from caffe2x import load_net

    graph = load_net(INJECTION)
    originals = {layer.name for layer in graph.caffe_layers}
    if target in ("pytorch", "tensorflow"):
        source = (out / "model.py").read_text(encoding="utf-8")
        tree = ast.parse(source)  # valid Python
        mapping = next(node.value for node in tree.body if isinstance(node, ast.Assign)
                       and getattr(node.targets[0], "id", "") == "CAFFE_LAYERS")
        from caffe2x.passes import TRAINABLE_PASSES, run_passes
        from caffe2x.weights import fill_random

        emitted = {n.name for n in run_passes(fill_random(graph), TRAINABLE_PASSES).nodes if n.type != "Input"}
        assert set(ast.literal_eval(mapping).values()) == emitted  # every original name, exactly
    if target == "onnx":
        import onnx

        model = onnx.load(str(out))
        assert model.graph.input[0].name == next(n for n in originals if n.startswith('data"'))
        layer_nodes = {n.name for n in model.graph.node}
        assert "print" in layer_nodes and "conv\n1 = __import__('os').system('touch /tmp/caffe2x_pwned')  #" in layer_nodes
        assert all(n.rsplit("_", 1)[0] in originals or n in originals for n in layer_nodes)


def test_ctrl_c_exits_130_and_leaves_nothing(tmp_path, monkeypatch):
    pytest.importorskip("onnx")
    from caffe2x.io.wire_writer import Chunks

    def interrupted(self, handle):  # Ctrl-C halfway through writing the model
        handle.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(Chunks, "write_to", interrupted)
    from conftest import golden_case

    case = golden_case("lenet_mnist_trained")
    result = CliRunner().invoke(main, ["convert", str(case.prototxt), "-w", str(case.caffemodel), "--to", "onnx",
                                       "-o", str(tmp_path / "lenet.onnx")])
    assert result.exit_code == 130 and "interrupted" in result.output
    assert list(tmp_path.iterdir()) == []


def test_existing_output_is_kept_without_force(tmp_path):
    pytest.importorskip("onnx")
    from conftest import golden_case

    case = golden_case("lenet_mnist_trained")
    target = tmp_path / "lenet.onnx"
    target.write_bytes(b"precious")
    command = ["convert", str(case.prototxt), "-w", str(case.caffemodel), "--to", "onnx", "-o", str(target)]
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 2 and "--force" in result.output
    assert target.read_bytes() == b"precious"
    assert CliRunner().invoke(main, [*command, "--force"]).exit_code == 0
    assert target.read_bytes() != b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lenet.onnx"]


def test_inputs_are_never_modified(tmp_path):
    pytest.importorskip("onnx")
    from conftest import golden_case

    case = golden_case("legacy_v1")
    before = {p: p.read_bytes() for p in (case.prototxt, case.caffemodel)}
    CliRunner().invoke(main, ["convert", str(case.prototxt), "-w", str(case.caffemodel), "--to", "onnx",
                              "-o", str(tmp_path / "m.onnx")])
    assert {p: p.read_bytes() for p in before} == before


def test_verify_timeout_exits_124():
    from conftest import MODELS

    result = CliRunner().invoke(main, ["verify", str(MODELS / "bvlc_alexnet" / "deploy.prototxt"), "--random-weights",
                                       "--to", "onnx", "--reference", "builtin", "--timeout", "0.05"])
    assert result.exit_code == 124, result.output
    assert "did not finish within --timeout 0.05 s" in result.output
