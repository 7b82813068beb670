"""A written .tflite carries caffe2x's metadata (preprocessing, its NumPy snippet, labels) in
the flatbuffer's `metadata` table, read back by caffe2x.tflite_metadata, and still runs
exactly as the same conversion without it (float32, float16 and int8)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from conftest import FIXTURES, golden_case

import caffe2x
from caffe2x.errors import Caffe2xError
from caffe2x.frontend.preprocess import PreprocessingOptions

tf = pytest.importorskip("tensorflow")

from caffe2x.targets import tensorflow as keras_target  # noqa: E402
from caffe2x.targets.tensorflow.export import tflite_bytes  # noqa: E402
from caffe2x.targets.tensorflow.tflite_metadata import ENTRY, LABELS_ENTRY  # noqa: E402

DIGITS = FIXTURES / "preprocess" / "digits.txt"
MODES = [None, "float16", "int8"]  # --quantize


def lenet_with_metadata():
    """The trained LeNet with a mean, a scale, the snippet and ten class names recorded."""
    case = golden_case("lenet_mnist_trained")
    graph = caffe2x.load_net(case.prototxt, case.caffemodel, {"data": (1, 1, 28, 28)})
    caffe2x.attach_preprocessing(graph, case.prototxt, PreprocessingOptions(mean_values=(33.0,), scale=0.00390625))
    caffe2x.record_preprocessing_snippet(graph)
    caffe2x.attach_labels(graph, DIGITS)
    return graph


@pytest.fixture(scope="module")
def lenet():
    return lenet_with_metadata()


@pytest.fixture(scope="module")
def written(lenet, tmp_path_factory):
    """quantize mode -> (the written file, the same conversion's bytes without metadata)."""
    from caffe2x.frontend.calibration import read_calibration

    folder = tmp_path_factory.mktemp("tflite_metadata")
    calibration = folder / "calibration.npz"
    np.savez(calibration, data=np.random.default_rng(2).uniform(0, 1, (4, 1, 28, 28)).astype(np.float32))
    files = {}
    for mode in MODES:
        path = folder / f"lenet_{mode or 'float32'}.tflite"
        given = calibration if mode == "int8" else None
        caffe2x.convert(lenet, "tflite", path, quantize=mode, calibration=given)
        samples = read_calibration(given, lenet) if given else None
        files[mode] = (path, tflite_bytes(keras_target.generate(lenet, "nhwc"), mode, samples))
    return files


def metadata_entries(content: bytes) -> dict[str, bytes]:
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.Model.GetRootAs(bytearray(content), 0)
    entries = {}
    for i in range(model.MetadataLength()):
        entry = model.Metadata(i)
        entries[entry.Name().decode()] = bytes(model.Buffers(entry.Buffer()).DataAsNumpy())
    return entries


def signature_outputs(content: bytes, x: np.ndarray) -> dict[str, np.ndarray]:
    runner = tf.lite.Interpreter(model_content=content).get_signature_runner("serving_default")
    (name,) = runner.get_input_details()
    return runner(**{name: x})


@pytest.mark.parametrize("mode", MODES)
def test_the_metadata_round_trips(lenet, written, mode):
    path, _ = written[mode]
    got = caffe2x.tflite_metadata(path)
    assert got == {"producer": "caffe2x", "version": caffe2x.__version__, **lenet.metadata}
    assert got["preprocessing"]["mean"] == [33.0] and got["preprocessing"]["scale"] == [0.00390625]
    assert "def preprocess(" in got["preprocessing_snippet"]
    assert got["labels"] == ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    # The labels also as a label file: one name per line.
    assert metadata_entries(path.read_bytes())[LABELS_ENTRY].decode().splitlines() == got["labels"]


def test_the_recorded_spec_applies_as_the_model_says(written):
    spec = caffe2x.tflite_metadata(written[None][0])["preprocessing"]
    image = np.full((1, 1, 28, 28), 255.0, np.float32)  # the spec's layout: N,C,H,W, 0-255
    x = caffe2x.apply_preprocessing(spec, image)
    assert np.array_equal(x, np.full((1, 1, 28, 28), (255 - 33) / 256, np.float32))


@pytest.mark.parametrize("mode", MODES)
def test_outputs_are_bit_identical_to_the_file_without_metadata(written, mode):
    path, plain = written[mode]
    assert ENTRY not in metadata_entries(plain)
    x = np.random.default_rng(3).uniform(-1, 2, (2, 28, 28, 1)).astype(np.float32)
    want, got = signature_outputs(plain, x), signature_outputs(path.read_bytes(), x)
    assert set(got) == set(want)
    for name in want:
        assert got[name].dtype == want[name].dtype and np.array_equal(got[name], want[name]), name


def test_no_labels_no_labels_entry_and_no_metadata_reads_empty(tmp_path, written):
    from caffe2x.targets.tensorflow.tflite_metadata import add_metadata

    plain = written[None][1]
    content = add_metadata(plain, SimpleNamespace(metadata={}))
    assert set(metadata_entries(content)) == set(metadata_entries(plain)) | {ENTRY}  # TensorFlow's kept
    assert len(metadata_entries(plain)) >= 1  # min_runtime_version: there is something to keep
    path = tmp_path / "plain.tflite"
    path.write_bytes(plain)
    assert caffe2x.tflite_metadata(path) == {}


def test_a_model_with_weights_past_the_flatbuffer_is_left_as_converted(written, lenet):
    """Over 2 GB the converter stores the weights after the flatbuffer and marks it with a
    "buffer_location" entry: rebuilding it in one flatbuffer would break the 2 GB limit."""
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    from caffe2x.targets.tensorflow.tflite_metadata import add_metadata

    model = flatbuffer_utils.read_model_from_bytearray(written[None][1])
    mark = schema.MetadataT()
    mark.name, mark.buffer = "buffer_location", 0
    model.metadata.append(mark)
    marked = flatbuffer_utils.convert_object_to_bytearray(model)
    assert add_metadata(marked, lenet) is marked


def test_a_file_that_is_not_tflite_is_a_typed_error(tmp_path):
    other = tmp_path / "model.tflite"
    other.write_bytes(b"\x08\x07onnx graph, not a flatbuffer")
    with pytest.raises(Caffe2xError, match="not a TFLite model"):
        caffe2x.tflite_metadata(other)
    with pytest.raises(Caffe2xError, match="cannot read the TFLite file"):
        caffe2x.tflite_metadata(tmp_path / "missing.tflite")


def test_a_failure_while_adding_it_writes_nothing(tmp_path, monkeypatch, written, lenet):
    from caffe2x.targets.tensorflow import export

    def fail(content, graph):
        raise OSError("disk full")

    monkeypatch.setattr(export, "tflite_bytes", lambda *args, **kwargs: written[None][1])
    monkeypatch.setattr(export, "add_metadata", fail)
    with pytest.raises(OSError, match="disk full"):
        export.write_tflite(keras_target.generate(lenet, "nhwc"), tmp_path / "model.tflite")
    assert list(tmp_path.iterdir()) == []
