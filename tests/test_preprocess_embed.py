"""convert --preprocess embed|record and verify --image (issue 16, items 1 and 2): the steps as
ordinary Caffe layers in front of the net on every target, bit for bit apply_preprocessing's
numbers; the recorded snippet gives the embedded model's numbers; bad inputs are typed errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import FIXTURES, golden_case

import caffe2x
from caffe2x.cli import main
from caffe2x.errors import PreprocessingError
from caffe2x.frontend.preprocess import Preprocessing, apply_preprocessing, preprocessing_steps
from caffe2x.io.image import resize_bilinear
from caffe2x.passes.preprocess import embed_preprocessing, preprocessed_blob
from caffe2x.reference import run
from caffe2x.schema import BlobProto
from caffe2x.targets import TARGETS

NET = """name: "tiny"
input: "data" input_shape { dim: 2 dim: 3 dim: 6 dim: 5 }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
        convolution_param { num_output: 4 kernel_size: 3 } }
layer { name: "ip" type: "InnerProduct" bottom: "conv" top: "ip" inner_product_param { num_output: 5 } }
layer { name: "prob" type: "Softmax" bottom: "ip" top: "prob" }
"""
RNG = np.random.default_rng(3)
MEAN_IMAGE = RNG.uniform(90, 130, (3, 6, 5)).astype(np.float32)
SPECS = {
    "rgb_nhwc_raw_mean_image_std": Preprocessing(mean_image=MEAN_IMAGE, scale=(1 / 58.4, 1 / 57.1, 1 / 57.4),
                                                 raw_scale=255.0, channel_order="rgb", input_layout="nhwc"),
    "bgr_nchw_mean_values_scale": Preprocessing(mean=(103.94, 116.78, 123.68), scale=(0.017,)),
    "rgb_nchw_one_mean": Preprocessing(mean=(127.5,), scale=(0.007843,), channel_order="rgb"),
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny") / "net.prototxt"
    path.write_text(NET)
    return caffe2x.weights.synthetic_weights(caffe2x.load_net(path), 0)


def _image(spec: Preprocessing, shape=(2, 3, 6, 5)) -> np.ndarray:
    n, c, h, w = shape
    held = (n, h, w, c) if spec.input_layout == "nhwc" else shape
    return np.random.default_rng(1).uniform(0, 255 / spec.raw_scale, held).astype(np.float32)


@pytest.mark.parametrize("name", SPECS)
def test_embedded_layers_compute_apply_preprocessing_bit_for_bit(tiny, name):
    spec = SPECS[name]
    embedded = embed_preprocessing(tiny, spec)
    added = [n for n in embedded.nodes if n.name.startswith("preprocess_")]
    assert {n.type for n in added} <= {"Permute", "Slice", "Concat", "Power", "Bias", "Scale"}
    assert len(added) == sum(2 if s.kind == "channels" else 1 for s in preprocessing_steps(spec, 3))
    image = _image(spec)
    assert embedded.shape("data") == image.shape and embedded.values["data"].image_layout == spec.input_layout
    values = run(embedded, {"data": image})
    layer, top = preprocessed_blob(embedded).split(":")
    inner = dict(zip(embedded.node(layer).tops, embedded.node(layer).outputs))[top]
    np.testing.assert_array_equal(values[inner], apply_preprocessing(spec, image))
    plain = run(tiny, {"data": apply_preprocessing(spec, image)})
    np.testing.assert_array_equal(values["prob"], plain["prob"])
    assert embedded.metadata["preprocessing"]["input"] == {"name": "data", "shape": list(image.shape),
                                                           "layout": spec.input_layout,
                                                           "channel_order": spec.channel_order}
    assert tiny.shape("data") == (2, 3, 6, 5) and "preprocessing" not in tiny.metadata  # the input graph unchanged


@pytest.mark.parametrize("target", ["onnx", "pytorch", "tensorflow", "tflite"])
def test_every_target_takes_the_image_as_held(tiny, target):
    pytest.importorskip({"onnx": "onnxruntime", "pytorch": "torch"}.get(target, "tensorflow"))
    spec = SPECS["rgb_nhwc_raw_mean_image_std"]
    embedded = embed_preprocessing(tiny, spec)
    image = _image(spec)
    got = TARGETS.get(target).run(embedded, {"data": image}, "cpu")
    want = run(tiny, {"data": apply_preprocessing(spec, image)})
    np.testing.assert_allclose(got["prob:prob"], want["prob"], rtol=0, atol=1e-6)
    if target != "tflite":  # TFLite gives its outputs only
        np.testing.assert_array_equal(got[preprocessed_blob(embedded)], apply_preprocessing(spec, image))


def test_tensorflow_signature_takes_nhwc_images_as_held(tiny, tmp_path):
    pytest.importorskip("tensorflow")
    import tensorflow as tf

    spec = SPECS["rgb_nhwc_raw_mean_image_std"]
    caffe2x.convert(embed_preprocessing(tiny, spec), "tensorflow", tmp_path / "tf", layout="nchw")
    serve = tf.saved_model.load(str(tmp_path / "tf")).signatures["serving_default"]
    assert serve.structured_input_signature[1]["data"].shape.as_list() == [None, 6, 5, 3]
    image = _image(spec)
    want = run(tiny, {"data": apply_preprocessing(spec, image)})["prob"]
    np.testing.assert_allclose(serve(data=tf.constant(image))["prob"].numpy(), want, rtol=0, atol=1e-6)


def _mean_file(path, mean: np.ndarray):
    blob = BlobProto(num=1, channels=mean.shape[0], height=mean.shape[1], width=mean.shape[2])
    blob.data.extend(mean.ravel().tolist())
    path.write_bytes(blob.SerializeToString())
    return str(path)


def _convert(net, out, *options):
    return CliRunner().invoke(main, ["convert", str(net), "--random-weights", "--to", "onnx", "-o", str(out),
                                     *options])


def test_recorded_snippet_gives_the_embedded_models_numbers(tmp_path):
    pytest.importorskip("onnxruntime")
    import onnx
    import onnxruntime

    net = tmp_path / "net.prototxt"
    net.write_text(NET)
    mean = _mean_file(tmp_path / "mean.binaryproto", RNG.uniform(90, 130, (3, 8, 9)).astype(np.float32))
    options = ["--mean", mean, "--channel-order", "rgb", "--input-layout", "nhwc", "--raw-scale", "255",
               "--std", "58.4,57.1,57.4"]
    for mode in ("record", "embed"):
        result = _convert(net, tmp_path / f"{mode}.onnx", *options, "--preprocess", mode)
        assert result.exit_code == 0, result.output
    meta = {p.key: p.value for p in onnx.load(str(tmp_path / "record.onnx")).metadata_props}
    spec = json.loads(meta["caffe2x.preprocessing"])
    namespace: dict = {}
    exec(json.loads(meta["caffe2x.preprocessing_snippet"]), namespace)  # the snippet as a user runs it
    image = np.random.default_rng(5).uniform(0, 1, (2, 6, 5, 3)).astype(np.float32)
    x = namespace["preprocess"](image, spec)
    np.testing.assert_array_equal(x, caffe2x.apply_preprocessing(spec, image))
    recorded = onnxruntime.InferenceSession(str(tmp_path / "record.onnx")).run(None, {"data": x})[0]
    embedded_session = onnxruntime.InferenceSession(str(tmp_path / "embed.onnx"))
    embedded = embedded_session.run(None, {"data": image})[0]
    assert embedded_session.get_inputs()[0].shape[1:] == [6, 5, 3]
    np.testing.assert_allclose(embedded, recorded, rtol=0, atol=1e-6)
    embed_meta = {p.key: p.value for p in onnx.load(str(tmp_path / "embed.onnx")).metadata_props}
    assert json.loads(embed_meta["caffe2x.preprocessing"])["embedded"] is True
    assert "caffe2x.preprocessing_snippet" not in embed_meta  # nothing left to apply


@pytest.mark.parametrize("case", ["not_a_blobproto", "two_channel_mean", "two_mean_values", "nothing_to_embed"])
def test_bad_preprocessing_inputs_exit_2_and_write_nothing(tmp_path, case):
    net = tmp_path / "net.prototxt"
    net.write_text(NET)
    bad = tmp_path / "bad.binaryproto"
    bad.write_bytes(b"\xff\xff\xff\x00garbage")
    options = {"not_a_blobproto": ["--mean", str(bad)],
               "two_channel_mean": ["--mean", _mean_file(tmp_path / "m2.binaryproto", np.ones((2, 6, 5), np.float32))],
               "two_mean_values": ["--mean-values", "1,2"],
               "nothing_to_embed": ["--preprocess", "embed"]}[case]
    result = _convert(net, tmp_path / "out.onnx", *options)
    assert result.exit_code == 2, result.output
    assert "PreprocessingError" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out.onnx").exists()


def test_resize_is_caffe_io_bilinear():
    """caffe.io.resize_image: range to [0, 1], skimage order-1 resize (centres aligned, zero outside),
    range back; checked against the 2-D bilinear formula written out per pixel."""
    image = np.random.default_rng(2).uniform(0, 255, (4, 5, 3)).astype(np.float32)
    got = resize_bilinear(image, 7, 3)
    low, high = image.min(), image.max()
    unit = (image.astype(np.float64) - low) / (high - low)

    def pixel(y, x):
        return unit[y, x] if 0 <= y < 4 and 0 <= x < 5 else np.zeros(3)

    want = np.zeros((7, 3, 3))
    for i in range(7):
        for j in range(3):
            sy, sx = (i + 0.5) * 4 / 7 - 0.5, (j + 0.5) * 5 / 3 - 0.5
            y0, x0 = int(np.floor(sy)), int(np.floor(sx))
            fy, fx = sy - y0, sx - x0
            want[i, j] = ((1 - fy) * (1 - fx) * pixel(y0, x0) + (1 - fy) * fx * pixel(y0, x0 + 1)
                          + fy * (1 - fx) * pixel(y0 + 1, x0) + fy * fx * pixel(y0 + 1, x0 + 1))
    np.testing.assert_allclose(got, want * (high - low) + low, rtol=1e-5)
    np.testing.assert_array_equal(resize_bilinear(image, 4, 5), image)
    assert np.all(resize_bilinear(np.full((3, 3, 1), 7.0), 5, 5) == 7.0)


def test_verify_image_on_lenet_names_the_digit(tmp_path):
    pytest.importorskip("PIL")
    pytest.importorskip("onnxruntime")
    case = golden_case("lenet_mnist_trained")
    labels = tmp_path / "digits.txt"
    labels.write_text("".join(f"digit {i}\n" for i in range(10)))
    result = CliRunner().invoke(main, [
        "verify", str(case.prototxt), "-w", str(case.caffemodel), "--input-shape", "data=1,1,28,28",
        "--to", "onnx", "--image", str(FIXTURES / "preprocess" / "digit.png"), "--scale", "0.00390625",
        "--input-layout", "nhwc", "--preprocess", "embed", "--labels", str(labels)])
    assert result.exit_code == 0, result.output
    assert "top-5 of item 0: 1 'digit 1'" in result.output


@pytest.mark.parametrize("content", [b"", b"not an image at all"])
def test_verify_refuses_an_image_it_cannot_read(tmp_path, content):
    pytest.importorskip("PIL")
    case = golden_case("lenet_mnist_trained")
    (tmp_path / "broken.png").write_bytes(content)
    result = CliRunner().invoke(main, ["verify", str(case.prototxt), "-w", str(case.caffemodel), "--to", "onnx",
                                       "--image", str(tmp_path / "broken.png"), "--report",
                                       str(tmp_path / "r.json")])
    assert result.exit_code == 2 and "PreprocessingError" in result.output and "cannot be read" in result.output
    assert not (tmp_path / "r.json").exists()


def test_image_without_pillow_names_the_extra(monkeypatch, tmp_path):
    import builtins

    from caffe2x.errors import MissingExtraError
    from caffe2x.io.image import load_image

    real_import = builtins.__import__

    def no_pillow(name, *args, **kwargs):
        if name == "PIL" or name.startswith("PIL."):
            raise ImportError("No module named 'PIL'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pillow)
    with pytest.raises(MissingExtraError, match=r"caffe2x\[image\]"):
        load_image(tmp_path / "x.png")


def test_preprocessing_steps_refuse_a_mean_of_another_channel_count():
    with pytest.raises(PreprocessingError, match="2 channels"):
        preprocessing_steps(Preprocessing(mean_image=np.zeros((2, 6, 5), np.float32)), 3)


def test_run_names_ssd_detections_from_a_labelmap(tmp_path):
    case = golden_case("mobilenet_ssd")
    (tmp_path / "labelmap.prototxt").write_text(
        "".join(f'item {{ name: "c{i}" label: {i} display_name: "class {i}" }}\n' for i in range(21)))
    np.savez(tmp_path / "in.npz", data=case.inputs["data"])
    result = CliRunner().invoke(main, ["run", str(case.prototxt), "-w", str(case.caffemodel), "--inputs",
                                       str(tmp_path / "in.npz"), "--labels", str(tmp_path / "labelmap.prototxt")])
    assert result.exit_code == 0, result.output
    # The fork's most confident row (README, MobileNet-SSD): label 4, score 0.589.
    assert "100 detections, the most confident: 4 'class 4' 0.589 at [0.528 0.416 1.241 0.749]" in result.output


@pytest.mark.parametrize("color", [True, False])
def test_image_input_is_a_fresh_c_array(color):
    """A grey image in BGR order once came back as a reversed view (negative stride), which
    torch.from_numpy refuses: verify --image --to pytorch failed on LeNet."""
    pytest.importorskip("PIL")
    from caffe2x.io.image import image_input

    path = FIXTURES / "preprocess" / ("image.png" if color else "digit.png")
    x = image_input(path, Preprocessing(input_layout="nhwc"), (1, 3 if color else 1, 9, 7))
    assert x.shape == (1, 9, 7, 3 if color else 1) and all(s > 0 for s in x.strides) and x.flags.c_contiguous


def test_verify_embed_with_nothing_to_embed_is_refused(tmp_path):
    net = tmp_path / "net.prototxt"
    net.write_text(NET)
    result = CliRunner().invoke(main, ["verify", str(net), "--random-weights", "--to", "onnx", "--reference",
                                       "builtin", "--preprocess", "embed"])
    assert result.exit_code == 2 and "nothing to embed" in result.output, result.output


def test_verify_embed_checks_the_embedded_steps_against_apply_preprocessing(tmp_path):
    pytest.importorskip("onnxruntime")
    net = tmp_path / "net.prototxt"
    net.write_text(NET)
    result = CliRunner().invoke(main, ["verify", str(net), "--random-weights", "--to", "onnx", "--json",
                                       "--preprocess", "embed", "--mean-values", "104,117,123", "--raw-scale", "255",
                                       "--channel-order", "rgb", "--input-layout", "nhwc"])
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)["models"][0]["targets"][0]["blobs"]
    compared = {r["layer"] for r in records}
    assert "preprocess_mean" in compared and "prob" in compared
