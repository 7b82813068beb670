"""Every public reference prototxt (and its legacy V1 twin) gets Caffe's shapes."""

from __future__ import annotations

import pytest
from conftest import FIXTURES, MODELS

import caffe2x
from caffe2x.summary import summarize

# Landmark tops of each net with the shapes Caffe gives them (well known from
# the papers and Caffe's own logs), at the deploy files' declared batch sizes.
LANDMARKS = {
    "bvlc_alexnet": {"conv1": [10, 96, 55, 55], "pool2": [10, 256, 13, 13], "pool5": [10, 256, 6, 6],
                     "fc6": [10, 4096], "prob": [10, 1000]},
    "bvlc_reference_caffenet": {"pool1": [10, 96, 27, 27], "pool5": [10, 256, 6, 6], "prob": [10, 1000]},
    "bvlc_googlenet": {"pool1/3x3_s2": [10, 64, 56, 56], "pool2/3x3_s2": [10, 192, 28, 28],
                       "inception_3b/output": [10, 480, 28, 28], "pool4/3x3_s2": [10, 832, 7, 7],
                       "pool5/7x7_s1": [10, 1024, 1, 1], "prob": [10, 1000]},
    "lenet_mnist": {"pool2": [64, 50, 4, 4], "prob": [64, 10]},
    "resnet50": {"pool1": [1, 64, 56, 56], "res2c": [1, 256, 56, 56], "res3d": [1, 512, 28, 28],
                 "res4f": [1, 1024, 14, 14], "res5c": [1, 2048, 7, 7], "pool5": [1, 2048, 1, 1],
                 "prob": [1, 1000]},
    "squeezenet_v1.1": {"pool1": [10, 64, 56, 56], "fire9/concat": [10, 512, 14, 14],
                        "pool10": [10, 1000, 1, 1], "prob": [10, 1000, 1, 1]},
    "mobilenet_v1": {"conv6/sep": [1, 1024, 7, 7], "pool6": [1, 1024, 1, 1], "prob": [1, 1000, 1, 1]},
    "densenet121": {"pool1": [1, 64, 56, 56], "pool5": [1, 1024, 1, 1], "fc6": [1, 1000, 1, 1]},
}
# Parameter counts everyone quotes for these nets (weights and biases).
PARAMS = {"bvlc_alexnet": 60_965_224, "bvlc_reference_caffenet": 60_965_224,
          "bvlc_googlenet": 6_998_552, "squeezenet_v1.1": 1_235_496, "lenet_mnist": 431_080}


def _top_shapes(summary: dict) -> dict[str, list[int]]:
    shapes = {}
    for layer in summary["layers"]:
        for top, shape in zip(layer["tops"], layer["shapes"]):
            shapes[top] = shape  # the last writer of an in-place top wins, as in Caffe
    return shapes


@pytest.mark.parametrize("model", sorted(LANDMARKS))
def test_reference_model_shapes(model):
    summary = summarize(caffe2x.load_net(MODELS / model / "deploy.prototxt"))
    shapes = _top_shapes(summary)
    for top, shape in LANDMARKS[model].items():
        assert shapes[top] == shape, f"{model} {top}"
    if model in PARAMS:
        assert summary["total_params"] == PARAMS[model]
    assert summary["flops"] > 0


LEGACY = sorted(p.stem for p in (FIXTURES / "legacy_v1").glob("*.prototxt"))


@pytest.mark.parametrize("model", LEGACY)
def test_legacy_v1_twins_match_current_format(model):
    current_path = MODELS / model / "deploy.prototxt"
    if not current_path.exists():
        current_path = FIXTURES / "golden" / model / "net.prototxt"
    legacy = summarize(caffe2x.load_net(FIXTURES / "legacy_v1" / f"{model}.prototxt"))
    current = summarize(caffe2x.load_net(current_path))
    assert _top_shapes(legacy) == _top_shapes(current)
    assert legacy["total_params"] == current["total_params"]
    assert legacy["outputs"] == current["outputs"] and legacy["inputs"] == current["inputs"]
    assert "CONVOLUTION" in (FIXTURES / "legacy_v1" / f"{model}.prototxt").read_text()


def test_batch_override_on_a_reference_model():
    graph = caffe2x.load_net(MODELS / "resnet50" / "deploy.prototxt", input_shapes={"data": (4, 3, 224, 224)})
    assert graph.shape("prob") == (4, 1000)
