"""Intel's PriorBoxClustered (openvinotoolkit/training_toolbox_caffe@5e543a4,
prior_box_clustered_layer.cpp): the reference kernel and all four targets against a port of the
fork's Forward_cpu written here from the source (the fork is not built here), the shape rule,
the parameter block (the SSD fork's prior_box_param plus width/height), and the refusals."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

import caffe2x
from caffe2x import api
from caffe2x.cli import main
from caffe2x.errors import ShapeError
from caffe2x.io.prototxt import parse_prototxt_text

F32 = np.float32
TARGETS = ["onnx", "pytorch", "tensorflow", "tflite"]
IMPORTS = {"onnx": "onnxruntime", "pytorch": "torch", "tensorflow": "tensorflow", "tflite": "tensorflow"}


def fork_priors(feature_hw, image_hw, widths, heights, *, clip=False, variances=(0.1,), img_hw=(0, 0),
                step_hw=(0.0, 0.0), offset=0.5) -> np.ndarray:
    """PriorBoxClusteredLayer::Forward_cpu, line for line: float centers, double coordinates
    stored as float, clip, then the variances."""
    layer_h, layer_w = feature_hw
    img_h, img_w = img_hw if img_hw[0] and img_hw[1] else image_hw
    if step_hw[0] == 0 or step_hw[1] == 0:
        step_w, step_h = F32(img_w) / F32(layer_w), F32(img_h) / F32(layer_h)
    else:
        step_h, step_w = F32(step_hw[0]), F32(step_hw[1])
    dim = layer_h * layer_w * len(widths) * 4
    top = np.zeros((1, 2, dim), F32)
    idx = 0
    for h in range(layer_h):
        for w in range(layer_w):
            center_x = (F32(w) + F32(offset)) * step_w
            center_y = (F32(h) + F32(offset)) * step_h
            for box_w, box_h in zip(widths, heights):
                box_w, box_h = float(F32(box_w)), float(F32(box_h))
                for value in ((float(center_x) - box_w / 2.0) / img_w, (float(center_y) - box_h / 2.0) / img_h,
                              (float(center_x) + box_w / 2.0) / img_w, (float(center_y) + box_h / 2.0) / img_h):
                    top[0, 0, idx] = value
                    idx += 1
    if clip:
        top[0, 0] = np.minimum(np.maximum(top[0, 0], F32(0)), F32(1))
    top[0, 1] = np.resize(np.array(variances, F32), dim)
    return top


def _net(feature_shape, image_shape, param: str) -> str:
    def input_layer(name, shape):
        dims = " ".join(f"dim: {d}" for d in shape)
        return f'layer {{ name: "{name}" type: "Input" top: "{name}" input_param {{ shape {{ {dims} }} }} }}\n'

    return (input_layer("fm", feature_shape) + input_layer("data", image_shape)
            + f'layer {{ name: "pb" type: "PriorBoxClustered" bottom: "fm" bottom: "data" top: "priors" '
              f'prior_box_param {{ {param} }} }}\n')


# face-detection-retail-0044's block (training_toolbox_caffe models/face_detection/deploy.prototxt,
# fc7_mbox_priorbox: a 19x19 map on a 300x300 image there; 5x5 on 80x80 here, with its step 16).
WIDTHS = (9.4, 25.1, 14.7, 34.7, 143.0, 77.4, 128.8, 51.1, 75.6)
HEIGHTS = (15.0, 39.6, 25.5, 63.2, 227.5, 162.9, 124.5, 105.1, 72.6)
FACE = ("clip: false variance: 0.1 variance: 0.1 variance: 0.2 variance: 0.2 step: 16.0 offset: 0.5 "
        + " ".join(f"width: {w}" for w in WIDTHS) + " " + " ".join(f"height: {h}" for h in HEIGHTS))
CASES = {
    # name: (feature shape, image shape, param, fork_priors keywords)
    "face_detection": ((1, 8, 5, 5), (1, 3, 80, 80), FACE,
                       dict(widths=WIDTHS, heights=HEIGHTS, variances=(0.1, 0.1, 0.2, 0.2), step_hw=(16, 16))),
    "clip_step_rectangular": ((1, 4, 3, 7), (1, 3, 50, 90), "width: 30 width: 7.5 height: 20 height: 45 "
                              "clip: true step_h: 16 step_w: 13 offset: 0.25 variance: 0.2",
                              dict(widths=(30, 7.5), heights=(20, 45), clip=True, step_hw=(16, 13), offset=0.25,
                                   variances=(0.2,))),
    "img_size_and_default_variance": ((1, 4, 4, 6), (1, 3, 33, 47), "width: 11 height: 5 img_h: 100 img_w: 120",
                                      dict(widths=(11,), heights=(5,), img_hw=(100, 120))),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_reference_is_the_forks_arithmetic_bit_for_bit(name):
    feature, image, param, keywords = CASES[name]
    graph = caffe2x.graph_from_net(parse_prototxt_text(_net(feature, image, param)))
    inputs = {"fm": np.zeros(feature, F32), "data": np.zeros(image, F32)}
    got = caffe2x.reference.run(graph, inputs)[graph.nodes[-1].outputs[0]]
    want = fork_priors(feature[2:], image[2:], **keywords)
    assert got.dtype == np.float32 and got.shape == want.shape == (1, 2, feature[2] * feature[3] * 4 * len(
        keywords["widths"]))
    assert np.array_equal(got, want), np.abs(got - want).max()


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_every_target_gives_the_forks_priors(name, target):
    pytest.importorskip(IMPORTS[target])
    feature, image, param, keywords = CASES[name]
    graph = caffe2x.graph_from_net(parse_prototxt_text(_net(feature, image, param)))
    rng = np.random.default_rng(0)
    inputs = {"fm": rng.standard_normal(feature).astype(F32), "data": rng.standard_normal(image).astype(F32)}
    want = {"input:fm": inputs["fm"], "input:data": inputs["data"],
            "pb:priors": fork_priors(feature[2:], image[2:], **keywords)}
    result = api.verify(graph, target, inputs, want, reference_name="fork source", tolerance=1e-7)
    assert {f"{r.layer}:{r.top}" for r in result.records} == {"pb:priors"}
    assert result.passed, result.first_divergence


def test_the_block_is_the_ssd_forks_with_width_and_height_so_ssd_nets_still_read():
    """intel.proto declares prior_box_param as the SSD fork's message plus width (14) and
    height (15), at the same number (203): SSD's PriorBox keeps its fields and defaults."""
    from caffe2x.io.params.declare import declared

    block = declared("prior_box_param")
    assert block.number == 203
    fields = block.message.fields
    assert (fields["width"].number, fields["height"].number) == (14, 15)
    assert fields["clip"].default is False and fields["offset"].default == 0.5
    from caffe2x.families.ssd import SCHEMA

    assert caffe2x.api.load_proto(str(SCHEMA))  # the SSD schema loads again over it


@pytest.mark.parametrize(("param", "message"), [
    ("clip: true", "needs at least one width"),
    ("width: 4 width: 5", "one height per width"),  # the fork would read an empty heights_ vector
    ("width: 4 height: 0", "every height must be larger than 0"),
    ("width: -1 height: 2", "every width must be larger than 0"),
    ("width: 4 height: 4 variance: 0.1 variance: 0.2", "give 1 or 4 variances"),
    ("width: 4 height: 4 img_size: 100 img_h: 100 img_w: 90", "either img_size or img_h/img_w"),
    ("width: 4 height: 4 step: 8 step_w: 8", "either step or step_h/step_w"),
])
def test_what_the_fork_check_fails_is_a_typed_error(param, message):
    with pytest.raises(ShapeError, match=message):
        caffe2x.graph_from_net(parse_prototxt_text(_net((1, 2, 3, 3), (1, 3, 30, 30), param)))


def test_the_cli_refuses_it_in_one_paragraph_and_writes_nothing(tmp_path):
    net = tmp_path / "net.prototxt"
    net.write_text(_net((1, 2, 3, 3), (1, 3, 30, 30), "width: 4 width: 5"))
    out = tmp_path / "pt"
    result = CliRunner().invoke(main, ["convert", str(net), "--random-weights", "--to", "pytorch", "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert "layer 'pb' (PriorBoxClustered)" in result.output and "one height per width" in result.output
    assert "Traceback" not in result.output and not out.exists()
