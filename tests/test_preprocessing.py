"""Preprocessing and labels, read and recorded (issue 16): a data layer's transform_param and
the command line's options become one spec, written into every converted model's metadata
with the class names; applying the recorded spec to an image as users hold it gives the
same top classes as Caffe's own transform on the same image."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import golden_case

import caffe2x
from caffe2x.cli import main
from caffe2x.errors import PreprocessingError
from caffe2x.frontend.preprocess import Preprocessing, apply_preprocessing, crop_mean_image
from caffe2x.io.labels import read_labels
from caffe2x.io.mean import read_mean_binaryproto
from caffe2x.reference import run
from caffe2x.schema import BlobProto


def _mean_file(path, mean: np.ndarray):
    blob = BlobProto(num=1, channels=mean.shape[0], height=mean.shape[1], width=mean.shape[2])
    blob.data.extend(mean.ravel().tolist())
    path.write_bytes(blob.SerializeToString())
    return path


def test_mean_file_reads_and_center_crops_as_caffe(tmp_path):
    mean = np.arange(3 * 6 * 8, dtype=np.float32).reshape(3, 6, 8)
    read = read_mean_binaryproto(_mean_file(tmp_path / "mean.binaryproto", mean))
    assert np.array_equal(read, mean)
    values, image = crop_mean_image(read, 4, 4, False, "mean")
    assert values == () and np.array_equal(image, mean[:, 1:5, 2:6])  # offsets (6-4)/2, (8-4)/2
    values, image = crop_mean_image(read, 4, 4, True, "mean")
    assert image is None and np.allclose(values, mean.reshape(3, -1).mean(1))
    with pytest.raises(PreprocessingError, match="smaller than the 7x7 input.*--mean-per-channel"):
        crop_mean_image(read, 7, 7, False, "mean")
    (tmp_path / "bad").write_bytes(b"\xff\xff\xff")
    with pytest.raises(PreprocessingError, match="not a Caffe mean file"):
        read_mean_binaryproto(tmp_path / "bad")


def test_labels_from_synset_words_and_a_labelmap(tmp_path):
    (tmp_path / "synset_words.txt").write_text("n01440764 tench, Tinca tinca\nn01443537 goldfish, Carassius auratus\n")
    assert read_labels(tmp_path / "synset_words.txt") == ["tench, Tinca tinca", "goldfish, Carassius auratus"]
    (tmp_path / "labelmap.prototxt").write_text(
        'item { name: "none_of_the_above" label: 0 display_name: "background" }\n'
        'item { name: "aeroplane" label: 1 display_name: "aeroplane" }\nitem { name: "cat" label: 3 }\n')
    assert read_labels(tmp_path / "labelmap.prototxt") == ["background", "aeroplane", "2", "cat"]


def test_apply_follows_the_documented_order():
    spec = Preprocessing(mean=(1.0, 2.0, 3.0), scale=(0.5,), raw_scale=255.0, channel_order="rgb",
                         input_layout="nhwc")
    image = np.random.default_rng(0).random((1, 2, 2, 3)).astype(np.float32)
    want = (image[0].transpose(2, 0, 1)[::-1] * 255 - np.array([1, 2, 3], np.float32)[:, None, None]) * 0.5
    assert np.allclose(apply_preprocessing(spec, image)[0], want, rtol=1e-6)
    assert Preprocessing.from_dict(spec.to_dict()) == spec


def test_transform_param_is_read_and_options_override_it(tmp_path):
    net = tmp_path / "net.prototxt"
    net.write_text(
        'layer { name: "data" type: "Data" top: "data" top: "label" include { phase: TEST }\n'
        '  transform_param { scale: 0.017 mean_value: 103.94 mean_value: 116.78 mean_value: 123.68 }\n'
        '  data_param { source: "lmdb" batch_size: 1 } }\n'
        'layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 2 kernel_size: 1 } }\n')
    graph = caffe2x.load_net(net, input_shapes={"data": (1, 3, 8, 8)})
    spec = caffe2x.attach_preprocessing(graph, net)
    assert spec.mean == (pytest.approx(103.94), pytest.approx(116.78), pytest.approx(123.68))
    assert spec.scale == (pytest.approx(0.017),) and "transform_param of layer 'data'" in spec.source
    from caffe2x.frontend.preprocess import PreprocessingOptions

    spec = caffe2x.attach_preprocessing(graph, net, PreprocessingOptions(std=(58.4, 57.1, 57.4), channel_order="rgb"))
    assert spec.scale == pytest.approx((1 / 58.4, 1 / 57.1, 1 / 57.4)) and spec.channel_order == "rgb"
    assert graph.metadata["preprocessing"]["channel_order"] == "rgb"
    with pytest.raises(PreprocessingError, match="--scale or --std"):
        caffe2x.attach_preprocessing(graph, net, PreprocessingOptions(scale=1.0, std=(2.0,)))


@pytest.fixture(scope="module")
def classic(tmp_path_factory):
    """The thin AlexNet golden net with a 256x256 mean image and ten class names."""
    case = golden_case("bvlc_alexnet_thin")
    folder = tmp_path_factory.mktemp("classic")
    rng = np.random.default_rng(7)
    mean = _mean_file(folder / "mean.binaryproto", rng.uniform(90, 130, (3, 256, 256)).astype(np.float32))
    labels = folder / "synset_words.txt"
    labels.write_text("".join(f"n{10000000 + i} class number {i}\n" for i in range(10)))
    image = rng.integers(0, 256, (1, 227, 227, 3)).astype(np.uint8)  # RGB, 0-255, NHWC: as users hold it
    return case, mean, labels, image


def _caffe_input(mean_path, image):
    """Caffe's own transform at TEST: BGR, C,H,W, minus the mean image's center crop
    (offset (256 - 227) / 2 = 14)."""
    mean = read_mean_binaryproto(mean_path)[:, 14:241, 14:241]
    return image[0].astype(np.float32)[..., ::-1].transpose(2, 0, 1) - mean


def _caffe_top5(case, mean_path, image):
    """What Caffe computes on its own transform of the image."""
    x = _caffe_input(mean_path, image)
    graph = caffe2x.load_net(case.prototxt, case.caffemodel, {"data": (1, 3, 227, 227)})
    prob = run(graph, {"data": np.ascontiguousarray(x[None])})[graph.outputs[0]]
    return list(np.argsort(-prob[0], kind="stable")[:5])


@pytest.mark.parametrize("target", ["onnx", "pytorch"])
def test_recorded_preprocessing_and_labels_give_caffes_top5(tmp_path, classic, target):
    pytest.importorskip({"onnx": "onnxruntime", "pytorch": "torch"}[target])
    case, mean, labels, image = classic
    out = tmp_path / ("m.onnx" if target == "onnx" else "torch")
    result = CliRunner().invoke(main, ["convert", str(case.prototxt), "-w", str(case.caffemodel), "--to", target,
                                       "-o", str(out), "--mean", str(mean), "--channel-order", "rgb",
                                       "--input-layout", "nhwc", "--labels", str(labels)])
    assert result.exit_code == 0, result.output
    if target == "onnx":
        import onnx
        import onnxruntime

        meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
        spec, names = json.loads(meta["caffe2x.preprocessing"]), json.loads(meta["caffe2x.labels"])
        session = onnxruntime.InferenceSession(str(out))
        prob = session.run(None, {"data": caffe2x.apply_preprocessing(spec, image)})[0]
    else:
        import torch

        from caffe2x.targets.torch.export import load_module_class

        meta = json.loads((out / "caffe2x.json").read_text())
        spec, names = meta["preprocessing"], meta["labels"]
        model = load_module_class(out / "model.py", meta["class"])()
        model.load_state_dict(torch.load(out / "model.pt", weights_only=True))
        with torch.no_grad():
            prob = model(torch.from_numpy(caffe2x.apply_preprocessing(spec, image))).numpy()
    assert np.allclose(caffe2x.apply_preprocessing(spec, image)[0], _caffe_input(mean, image), atol=1e-5)
    got = [names[i] for i in np.argsort(-prob.reshape(1, -1)[0], kind="stable")[:5]]
    want = [f"class number {i}" for i in _caffe_top5(case, mean, image)]
    assert got == want
