"""TFLite post-training quantization (issue 16): --quantize float16 | int8 --calibration, verify
holding the model to the stated, looser bound of its mode (caffe2x.targets.quantize.TOLERANCES)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import golden_case

from caffe2x import api
from caffe2x.cli import main
from caffe2x.targets.quantize import FLOAT16, INT8, TOLERANCES


def _calibration(case, path, copies: int = 4):
    """Inputs of the verify batch's distribution: the batch shuffled and rescaled a little."""
    rng = np.random.default_rng(1)
    arrays = {name: np.concatenate([value * rng.uniform(0.8, 1.2) for _ in range(copies)])
              for name, value in case.inputs.items()}
    np.savez(path, **arrays)
    return path


def test_float16_tflite_is_within_its_stated_tolerance_and_not_exact():
    pytest.importorskip("tensorflow")
    case = golden_case("nin_thin")
    result = api.verify(case.load(), "tflite", case.inputs, case.blobs, quantize=FLOAT16)
    bound = TOLERANCES[FLOAT16].bound
    assert result.passed and [r.tolerance for r in result.records] == [bound]
    error = result.records[0].error.normalized_max
    assert 1e-6 < error <= bound / 10  # rounded (not float32's ~1e-7), and well inside the bound
    assert "--quantize float16: stated tolerance 0.01" in result.tolerance_note


def test_convert_float16_halves_the_file_and_verify_says_the_tolerance(tmp_path):
    pytest.importorskip("tensorflow")
    case = golden_case("lenet_mnist_trained")
    base = ["convert", str(case.prototxt), "-w", str(case.caffemodel), "--to", "tflite"]
    assert CliRunner().invoke(main, [*base, "-o", str(tmp_path / "f32.tflite")]).exit_code == 0
    result = CliRunner().invoke(main, [*base, "-o", str(tmp_path / "f16.tflite"), "--quantize", "float16"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "f16.tflite").stat().st_size < 0.6 * (tmp_path / "f32.tflite").stat().st_size


def test_verify_int8_with_calibration_from_an_npz(tmp_path):
    pytest.importorskip("tensorflow")
    case = golden_case("lenet_mnist_trained")
    calibration = _calibration(case, tmp_path / "cal.npz")
    args = ["verify", str(case.prototxt), "-w", str(case.caffemodel), "--reference", str(case.path / "blobs.npz"),
            "--to", "tflite", "--quantize", "int8", "--calibration", str(calibration), "--json"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    target = json.loads(result.output)["models"][0]["targets"][0]
    blob = target["blobs"][0]
    assert blob["tolerance"] == TOLERANCES[INT8].bound and blob["note"].startswith("--quantize int8")
    assert 1e-4 < blob["normalized_max"] <= TOLERANCES[INT8].bound  # quantized, within the stated bound
    assert blob["top5"] == 1.0


@pytest.mark.parametrize("extra, message", [
    (["--to", "onnx", "--quantize", "float16"], "--quantize cannot be used with --to onnx"),
    (["--to", "tflite", "--quantize", "int8"], "--quantize int8 needs --calibration"),
    (["--to", "tflite", "--quantize", "float16", "--calibration", "x.npz"], "--calibration applies to --quantize int8"),
    (["--to", "tflite", "--quantize", "int8", "--calibration", "{bad}"], "has no array for the net input(s) 'data'"),
    (["--to", "tflite", "--quantize", "int8", "--calibration", "{missing}"], "no such file or folder"),
    (["--to", "tflite", "--quantize", "int8", "--calibration", "{folder}"], "the folder holds no image"),
])
def test_bad_quantization_options_exit_2_and_write_nothing(tmp_path, extra, message):
    case = golden_case("lenet_mnist_trained")
    np.savez(tmp_path / "bad.npz", image=np.zeros((2, 1, 28, 28), np.float32))
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "notes.txt").write_text("no image here")
    extra = [e.format(bad=tmp_path / "bad.npz", missing=tmp_path / "none.npz", folder=tmp_path / "images")
             for e in extra]
    out = tmp_path / ("m.onnx" if "onnx" in extra else "m.tflite")
    result = CliRunner().invoke(main, ["convert", str(case.prototxt), "-w", str(case.caffemodel), "-o", str(out),
                                       *extra])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.npz", "images"]


def test_verify_quantize_needs_a_tflite_target():
    case = golden_case("lenet_mnist_trained")
    result = CliRunner().invoke(main, ["verify", str(case.prototxt), "-w", str(case.caffemodel), "--to", "onnx",
                                       "--quantize", "float16"])
    assert result.exit_code == 2 and "applies to --to tflite only" in result.output


def test_int8_calibration_from_a_folder_of_images_through_the_recorded_preprocessing(tmp_path):
    pytest.importorskip("tensorflow")
    image = pytest.importorskip("PIL.Image")
    case = golden_case("lenet_mnist_trained")
    rng = np.random.default_rng(2)
    folder = tmp_path / "digits"
    folder.mkdir()
    for i in range(8):  # the verify batch's distribution (uniform), at the input size (resizing smooths it)
        image.fromarray(rng.integers(0, 256, (28, 28) if i else (20, 24), dtype=np.uint8)).save(folder / f"{i}.png")
    graph = case.load()
    graph.metadata["preprocessing"] = {"raw_scale": 1.0, "scale": [0.00390625], "input_layout": "nhwc"}
    from caffe2x.frontend.calibration import read_calibration

    samples = read_calibration(folder, graph)
    assert len(samples) == 8 and samples[0]["data"].shape == (1, 1, 28, 28)
    assert 0.0 <= samples[0]["data"].min() and samples[0]["data"].max() <= 1.0  # 0-255 scaled as recorded
    result = api.verify(graph, "tflite", case.inputs, case.blobs, quantize=INT8, calibration=folder)
    assert result.passed and result.records[0].tolerance == TOLERANCES[INT8].bound
