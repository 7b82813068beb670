"""The TensorFlow target: Keras per layer, TFLite outputs, SavedModel and model.py standalone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import GOLDEN_CASES, MODELS, golden_case, random_model

import caffe2x
from caffe2x import api
from caffe2x.cli import main
from caffe2x.io.prototxt import parse_prototxt_text
from caffe2x.reference import as_golden_blobs, run
from caffe2x.weights import fill_random

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
tf = pytest.importorskip("tensorflow")
from caffe2x.targets.tensorflow import generate, write_saved_model  # noqa: E402
from caffe2x.targets.tensorflow.codegen import blob_keys  # noqa: E402
from caffe2x.targets.tensorflow.runner import with_row_taps  # noqa: E402

RESNET_TOLERANCE = 3e-4  # see test_golden_reference: Caffe's own fp32 rounding, amplified
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")


def _tolerance(name: str) -> float:
    return RESNET_TOLERANCE if name == "resnet50_thin" else 1e-4


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_keras_matches_real_caffe_per_layer(name):
    case = golden_case(name)
    result = api.verify(case.load(), "tensorflow", case.inputs, case.blobs, tolerance=_tolerance(name))
    assert len(result.records) >= 3
    assert result.passed, result.first_divergence


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_tflite_final_outputs_match_real_caffe(name):
    case = golden_case(name)
    graph = case.load()
    result = api.verify(graph, "tflite", case.inputs, case.blobs, tolerance=_tolerance(name))
    assert result.records and result.passed, result.first_divergence
    # TFLite exposes its outputs only, plus the rows of data-dependent layers and their bottoms
    # (the taps verify's row flips need), so nothing else is compared
    tapped = with_row_taps(graph)
    assert {r.top for r in result.records} <= set(case.manifest["outputs"]) | set(tapped.output_tops)


@pytest.mark.parametrize("model", sorted(p.name for p in MODELS.iterdir() if p.is_dir()))
def test_every_reference_model_converts_and_verifies_with_random_weights(model):
    graph, inputs, reference = random_model(MODELS / model / "deploy.prototxt")
    result = api.verify(graph, "tensorflow", inputs, reference)
    assert result.passed and len(result.records) > 5, result.first_divergence


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    root = tmp_path_factory.mktemp("tf_models")
    folders = {}
    for name in ("bvlc_googlenet_thin", "resnet50_thin"):
        case = golden_case(name)
        folders[name] = root / name
        write_saved_model(generate(case.load()), folders[name])
    return folders


def test_saved_model_folder_contents(saved):
    folder = saved["bvlc_googlenet_thin"]
    names = {p.name for p in folder.iterdir()}
    assert {"saved_model.pb", "variables", "model.py", "model.keras", "caffe2x.json", "example_inputs.npz"} <= names
    with np.load(folder / "example_inputs.npz") as examples:  # keyed and laid out as the signature takes them
        assert list(examples) == ["data"] and examples["data"].shape == (2, 224, 224, 3)
    meta = json.loads((folder / "caffe2x.json").read_text())
    assert meta == {**meta, "inputs": {"data": "data"}, "outputs": {"prob": "prob"}, "layout": "nhwc"}
    source = (folder / "model.py").read_text()
    assert "    # inception_4a\n" in source
    assert "layers.Concatenate(3, name='inception_3a_output')([inception_3a_1x1, inception_3a_3x3, " in source
    resnet = (saved["resnet50_thin"] / "model.py").read_text()
    assert "    # res2a\n" in resnet and "res2a = layers.Add(name='res2a')([res2a_branch1, res2a_branch2c])" in resnet


@pytest.mark.parametrize("name", ["bvlc_googlenet_thin", "resnet50_thin"])
def test_saved_model_and_model_py_run_without_caffe2x(saved, name, tmp_path):
    case = golden_case(name)
    folder = saved[name]
    np.save(tmp_path / "x.npy", case.inputs["data"].transpose(0, 2, 3, 1))
    script = textwrap.dedent(f"""
        import os, sys
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        sys.modules["caffe2x"] = None  # importing caffe2x now fails
        import numpy as np, tensorflow as tf
        x = np.load({str(tmp_path / "x.npy")!r})
        loaded = tf.saved_model.load({str(folder)!r})
        a = loaded.signatures["serving_default"](data=tf.constant(x))["prob"].numpy()
        sys.path.insert(0, {str(folder)!r})
        import model
        net = model.build_model()
        net.load_weights({str(folder / "model.keras")!r})
        b = net(x)["prob"].numpy()
        np.save({str(tmp_path / "out.npy")!r}, np.stack([a, b]))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    saved_out, script_out = np.load(tmp_path / "out.npy")
    want = case.blobs["prob:prob"]
    limit = 5e-5 if name == "resnet50_thin" else 1e-5
    assert np.abs(saved_out - want).max() / np.abs(want).max() < limit
    assert np.abs(script_out - want).max() / np.abs(want).max() < limit


def test_keras_file_loads_with_its_custom_layers(saved):
    import keras

    folder = saved["bvlc_googlenet_thin"]
    _import_model_py(folder)  # registers its custom layers
    loaded = keras.models.load_model(folder / "model.keras")
    case = golden_case("bvlc_googlenet_thin")
    out = loaded(case.inputs["data"].transpose(0, 2, 3, 1))["prob"]
    assert np.abs(np.asarray(out) - case.blobs["prob:prob"]).max() < 1e-5


def _import_model_py(folder):
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"generated_{folder.name}", folder / "model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # registers its custom layers
    return module


def test_each_weight_is_stored_once_and_every_documented_artefact_loads(tmp_path):
    """Issue #17: the SavedModel held every weight twice (the Keras variables and the tf.Variables
    inside them), and model.weights.h5 repeated the weights of model.keras."""
    import keras

    case = golden_case("lenet_mnist_trained")
    model = generate(case.load())
    folder = tmp_path / "lenet"
    write_saved_model(model, folder)
    weight_bytes = 4 * sum(np.asarray(w).size for arrays in model.weights.values() for w in arrays)
    reader = tf.train.load_checkpoint(str(folder / "variables" / "variables"))
    stored = [shape for key, shape in reader.get_variable_to_shape_map().items() if "VARIABLE_VALUE" in key]
    assert 4 * sum(int(np.prod(shape)) for shape in stored) == weight_bytes
    assert sum(p.stat().st_size for p in (folder / "variables").iterdir()) <= 1.2 * weight_bytes
    names = {p.name for p in folder.iterdir()}
    assert {"saved_model.pb", "variables", "model.py", "model.keras", "caffe2x.json"} <= names
    assert "model.weights.h5" not in names
    assert sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) <= 2.2 * weight_bytes
    x, want = case.inputs["data"].transpose(0, 2, 3, 1), case.blobs["prob:prob"]
    loaded = tf.saved_model.load(str(folder))
    assert len(loaded.variables) == len(loaded.trainable_variables) + len(loaded.non_trainable_variables) == len(stored)
    outputs = [loaded.signatures["serving_default"](data=tf.constant(x))["prob"]]
    net = _import_model_py(folder).build_model()
    net.load_weights(folder / "model.keras")
    outputs += [net(x)["prob"], keras.models.load_model(folder / "model.keras")(x)["prob"]]
    for out in outputs:
        assert np.abs(np.asarray(out) - want).max() < 1e-5


def test_nchw_layout_takes_and_returns_caffe_order(tmp_path):
    case = golden_case("conv_variants")
    folder = tmp_path / "nchw"
    write_saved_model(generate(case.load(), layout="nchw"), folder)
    signature = tf.saved_model.load(str(folder)).signatures["serving_default"]
    outputs = signature(data=tf.constant(case.inputs["data"]))
    for top in case.manifest["outputs"]:
        want = case.blobs[f"{top}:{top}"]
        assert outputs[top].shape == want.shape
        assert np.abs(outputs[top].numpy() - want).max() / np.abs(want).max() < 1e-5
    assert json.loads((folder / "caffe2x.json").read_text())["layout"] == "nchw"


def test_deconvolution_with_kernel_smaller_than_stride():
    """Found by the fuzzer: Keras' Conv2DTranspose would make 8 rows of a 4-row input where Caffe makes 7."""
    net = parse_prototxt_text('layer { name: "in" type: "Input" top: "data" input_param { shape { dim: 1 dim: 2 dim: 4 dim: 5 } } }\n'
                              'layer { name: "up" type: "Deconvolution" bottom: "data" top: "up" '
                              'convolution_param { num_output: 3 kernel_h: 1 kernel_w: 2 stride_h: 2 stride_w: 3 } }')
    graph = fill_random(caffe2x.graph_from_net(net), seed=4)
    x = {"data": np.random.default_rng(4).standard_normal((1, 2, 4, 5)).astype(np.float32)}
    result = api.verify(graph, "tensorflow", x, as_golden_blobs(graph, run(graph, x)))
    assert result.passed and result.records[0].shape == [1, 3, 7, 14]


@pytest.mark.parametrize("layer", ["Scale", "Bias"])
def test_a_second_bottom_spanning_channels_height_and_width(layer):
    """A Scale/Bias whose second bottom is C x H x W (no batch axis) crashed the Keras model:
    the NHWC transpose needs four axes and the operand had three."""
    net = parse_prototxt_text(
        'layer { name: "in" type: "Input" top: "data" input_param { shape { dim: 2 dim: 3 dim: 4 dim: 5 } } }\n'
        'layer { name: "w" type: "Input" top: "w" input_param { shape { dim: 3 dim: 4 dim: 5 } } }\n'
        f'layer {{ name: "s" type: "{layer}" bottom: "data" bottom: "w" top: "s" }}')
    graph = caffe2x.graph_from_net(net)
    rng = np.random.default_rng(5)
    x = {"data": rng.standard_normal((2, 3, 4, 5)).astype(np.float32),
         "w": rng.standard_normal((3, 4, 5)).astype(np.float32)}
    for target in ("tensorflow", "tflite"):
        result = api.verify(graph, target, x, as_golden_blobs(graph, run(graph, x)))
        assert result.passed and result.records[-1].shape == [2, 3, 4, 5], target


def test_signature_keys_follow_the_documented_rule():
    net = parse_prototxt_text(
        'input: "data/in" input_shape { dim: 1 dim: 3 }\n'
        'input: "1st" input_shape { dim: 1 dim: 3 }\n'
        'layer { name: "a" type: "Eltwise" bottom: "data/in" bottom: "1st" top: "data:in" }\n'
        'layer { name: "b" type: "ReLU" bottom: "data:in" top: "out-1" }\n'
        'layer { name: "c" type: "TanH" bottom: "data:in" top: "out_1" }')
    graph = caffe2x.graph_from_net(net)
    inputs, outputs = blob_keys(graph)
    assert inputs == {"data/in": "data_in", "1st": "_1st"}
    assert outputs == {"out-1": "out_1", "out_1": "out_1_2"}
    model = generate(graph)
    x = {"data/in": np.ones((1, 3), np.float32), "1st": -2 * np.ones((1, 3), np.float32)}
    got = api.verify(graph, "tensorflow", x, as_golden_blobs(graph, run(graph, x)))
    assert got.passed and model.output_keys == outputs


def test_cli_convert_tensorflow_and_tflite(tmp_path):
    case = golden_case("lenet_mnist_trained")
    base = ["convert", str(case.prototxt), "-w", str(case.caffemodel)]
    result = CliRunner().invoke(main, [*base, "--to", "tensorflow", "-o", str(tmp_path / "saved")])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, [*base, "--to", "tflite", "-o", str(tmp_path / "lenet.tflite")])
    assert result.exit_code == 0, result.output
    interpreter = tf.lite.Interpreter(model_path=str(tmp_path / "lenet.tflite"))
    runner = interpreter.get_signature_runner("serving_default")
    out = runner(data=case.inputs["data"].transpose(0, 2, 3, 1))["prob"]
    assert np.abs(out - case.blobs["prob:prob"]).max() < 1e-5
    for target in ("tensorflow", "tflite"):
        result = CliRunner().invoke(main, ["verify", str(case.prototxt), "-w", str(case.caffemodel), "--to", target,
                                           "--reference", str(case.path / "blobs.npz")])
        assert result.exit_code == 0, result.output


POOLS = {  # pooling_param -> the Keras layer it must become (SAME/VALID only where exact)
    "pool: MAX kernel_size: 3 stride: 2": "padding='same'",  # ceil mode, 1 extra at the end
    "pool: MAX kernel_size: 3 stride: 1 pad: 1": "padding='same'",  # inception's pool
    "pool: MAX kernel_size: 2 stride: 2": "padding='valid'",
    "pool: AVE kernel_size: 3 stride: 2": "padding='same'",  # no pad: SAME's divisor is Caffe's
    "pool: AVE kernel_size: 3 stride: 1 pad: 1": "CaffePooling2D",  # Caffe counts pad cells
    "pool: MAX kernel_size: 3 stride: 2 pad: 1": "CaffePooling2D",  # Caffe has 6 windows, SAME 5
    "pool: MAX kernel_size: 2 stride: 3": "padding='same'",  # ceil mode: 4 windows, the last one short
    "pool: MAX kernel_size: 2 stride: 3 round_mode: FLOOR": "padding='valid'",  # the last row never read
}


@pytest.mark.parametrize("params", POOLS)
def test_pooling_uses_keras_padding_only_where_exact(params):
    net = caffe2x.graph_from_net(parse_prototxt_text(
        'input: "data" input_shape { dim: 2 dim: 3 dim: 10 dim: 10 }\n'
        f'layer {{ name: "pool" type: "Pooling" bottom: "data" top: "pool" pooling_param {{ {params} }} }}'))
    line = next(line for line in generate(net).source.splitlines() if "name='pool'" in line)
    assert POOLS[params].replace("padding=", "") in line, line
    x = {"data": np.random.default_rng(5).standard_normal((2, 3, 10, 10)).astype(np.float32)}
    result = api.verify(net, "tensorflow", x, as_golden_blobs(net, run(net, x)), tolerance=1e-6)
    assert result.passed, result.records
