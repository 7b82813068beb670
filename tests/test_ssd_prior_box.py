"""SSD's PriorBox against the real fork's blobs (ssd_layers, ssd_variants, mobilenet_ssd):
the reference kernel bit for bit, every target per layer, the shape rule, the fork's
parameter rules and its refusals.

Each golden PriorBox runs in a net of its own: Inputs shaped like its two bottoms, fed
Caffe's own bottoms (zeros where the fixture keeps only samples of a large backbone
blob: PriorBox reads only their shapes), and the layer as the golden prototxt has it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import FIXTURES

import caffe2x
import caffe2x.families.ssd.prior_box as prior_box
from caffe2x import api
from caffe2x.cli import main
from caffe2x.errors import ShapeError
from caffe2x.io.prototxt import parse_prototxt_text
from caffe2x.reference import REFERENCE

SSD_GOLDEN = FIXTURES / "golden"
SSD_CASES = ("ssd_layers", "ssd_variants", "mobilenet_ssd")
# Priors are exact arithmetic: every target gives Caffe's float32 values (measured: 0 error).
TOLERANCE = 1e-6


def _layer_blocks(text: str) -> list[str]:
    """The `layer { ... }` blocks of a prototxt, as written (braces balanced; the golden
    prototxts have no braces inside strings)."""
    blocks = []
    for start in (m.start() for m in re.finditer(r"^layer \{", text, re.M)):
        depth = 0
        for end in range(start, len(text)):
            depth += {"{": 1, "}": -1}.get(text[end], 0)
            if depth == 0 and text[end] == "}":
                blocks.append(text[start:end + 1])
                break
    return blocks


def _input_layer(top: str, shape) -> str:
    dims = " ".join(f"dim: {d}" for d in shape)
    return f'layer {{ name: "{top}__input" type: "Input" top: "{top}" input_param {{ shape {{ {dims} }} }} }}'


class PriorBoxCase:
    """Every PriorBox of one golden case, alone: the net text, Caffe's bottoms and tops."""

    def __init__(self, name: str):
        folder = SSD_GOLDEN / name
        manifest = json.loads((folder / "manifest.json").read_text())
        with np.load(folder / "blobs.npz") as data:
            blobs = {key: data[key] for key in data.files}
        layers = {layer["name"]: layer for layer in manifest["layers"]}
        shapes = {top: shape for layer in manifest["layers"] for top, shape in zip(layer["tops"], layer["shapes"])}
        key_of = {top: f"{layer['name']}:{top}" for layer in manifest["layers"] for top in layer["tops"]}
        key_of.update({name: f"input:{name}" for name in manifest["inputs"]})
        self.name, self.blocks, self.inputs, self.tops, self.shapes = name, [], {}, {}, {}
        for block in _layer_blocks((folder / "net.prototxt").read_text()):
            if 'type: "PriorBox"' not in block:
                continue
            layer = layers[re.search(r'name: "([^"]+)"', block).group(1)]
            # The prototxt's bottoms (Caffe's Split tops in the manifest) become net inputs.
            for bottom, caffe_bottom in zip(re.findall(r'bottom: "([^"]+)"', block), layer["bottoms"]):
                stored = blobs.get(key_of[caffe_bottom])
                self.inputs[bottom] = stored if stored is not None else np.zeros(shapes[caffe_bottom], np.float32)
            key = f"{layer['name']}:{layer['tops'][0]}"
            self.blocks.append(block)
            self.tops[key] = blobs[key]
            self.shapes[key] = tuple(layer["shapes"][0])

    @property
    def prototxt(self) -> str:
        return "\n".join([_input_layer(top, x.shape) for top, x in self.inputs.items()] + self.blocks)

    def graph(self, batch: int | None = None):
        shapes = {top: (batch or x.shape[0], *x.shape[1:]) for top, x in self.inputs.items()}
        return caffe2x.graph_from_net(parse_prototxt_text(self.prototxt), input_shapes=shapes)


_CASES: dict[str, PriorBoxCase] = {}


def prior_box_case(name: str) -> PriorBoxCase:
    if name not in _CASES:
        _CASES[name] = PriorBoxCase(name)
    return _CASES[name]


def test_every_golden_case_has_its_prior_boxes():
    counts = {name: len(prior_box_case(name).tops) for name in SSD_CASES}
    assert counts == {"ssd_layers": 2, "ssd_variants": 3, "mobilenet_ssd": 6}


@pytest.mark.parametrize("name", SSD_CASES)
def test_reference_is_bit_exact_and_shapes_are_caffes(name):
    """The rule reproduces the fork's float32 values exactly, including 24.7 acting as 24,
    the prior order, a repeated and a 1.0 aspect ratio, clip, img_h/img_w and step_h/step_w."""
    case = prior_box_case(name)
    graph = case.graph()
    nodes = [node for node in graph.nodes if node.type == "PriorBox"]
    for node in nodes:
        key = f"{node.name}:{node.tops[0]}"
        assert graph.values[node.outputs[0]].shape == case.shapes[key]
        bottoms = [case.inputs[bottom] for bottom in node.bottoms]
        got = REFERENCE.get("PriorBox")(node, bottoms)[0]
        assert got.dtype == np.float32 and got.shape == case.tops[key].shape
        assert np.array_equal(got, case.tops[key]), f"{key}: max error {np.abs(got - case.tops[key]).max()}"
    assert len(nodes) == len(case.tops)


@pytest.mark.parametrize("target", ["onnx", "pytorch", "tensorflow"])
@pytest.mark.parametrize("name", SSD_CASES)
def test_every_target_matches_the_fork_per_layer(name, target):
    case = prior_box_case(name)
    result = api.verify(case.graph(), target, case.inputs, case.tops, reference_name="golden", tolerance=TOLERANCE)
    compared = {f"{r.layer}:{r.top}": r.error.normalized_max for r in result.records}
    assert set(compared) == set(case.tops), result.skipped
    assert result.passed, compared


@pytest.mark.parametrize("target", ["onnx", "pytorch", "tensorflow", "tflite"])
def test_a_batch_one_model_runs_any_batch_and_keeps_one_set_of_priors(target):
    """The top is 1 x 2 x (H*W*P*4) whatever the batch: MobileNet-SSD's priors (converted at
    batch 1, dynamic batch) are Caffe's own at batch 3."""
    from caffe2x.targets import TARGETS

    case = prior_box_case("mobilenet_ssd")
    inputs = {top: np.repeat(x, 3, axis=0) for top, x in case.inputs.items()}
    got = TARGETS.get(target).run(case.graph(), inputs)
    for key, want in case.tops.items():
        assert got[key].shape == want.shape and np.array_equal(got[key], want), key


def test_onnx_declares_the_priors_batch_as_one_in_a_batch_one_net():
    """A dynamic-batch ONNX model declares the batch of what follows it ("N") and 1 for the
    priors, which are 1 x 2 x ... whatever the batch, even where the net's batch is 1."""
    from caffe2x.targets.onnx import to_onnx

    model = to_onnx(prior_box_case("mobilenet_ssd").graph()).model
    first_dims = {o.name: o.type.tensor_type.shape.dim[0] for o in model.graph.output}
    assert len(first_dims) == 6
    assert all(dim.dim_value == 1 and not dim.dim_param for dim in first_dims.values()), first_dims
    assert all(i.type.tensor_type.shape.dim[0].dim_param == "N" for i in model.graph.input)


def _one_prior_box(block: str, feature=(1, 4, 3, 5), image=(1, 3, 60, 100)) -> np.ndarray:
    net = "\n".join([_input_layer("feat", feature), _input_layer("img", image),
                     f'layer {{ name: "pb" type: "PriorBox" bottom: "feat" bottom: "img" top: "pb" '
                     f"prior_box_param {{ {block} }} }}"])
    graph = caffe2x.graph_from_net(parse_prototxt_text(net))
    node = graph.nodes[-1]
    out = REFERENCE.get("PriorBox")(node, [np.zeros(feature, np.float32), np.zeros(image, np.float32)])[0]
    assert out.shape == graph.values[node.outputs[0]].shape
    return out


def test_min_and_max_sizes_are_truncated_to_integers():
    assert np.array_equal(_one_prior_box("min_size: 24.7 max_size: 40.9"), _one_prior_box("min_size: 24 max_size: 40"))
    assert not np.array_equal(_one_prior_box("min_size: 24.7"), _one_prior_box("min_size: 25"))


def test_prior_order_and_values_by_hand():
    """One cell (1x1 map on a 100x100 image, center 50): min box 20, sqrt(20*80)=40 box,
    then ratio 2 (20*sqrt2 by 20/sqrt2) and its flip 0.5; 1.0 and the repeated 2 dropped."""
    out = _one_prior_box("min_size: 20 max_size: 80 aspect_ratio: 1 aspect_ratio: 2 aspect_ratio: 2 "
                         "variance: 0.1 variance: 0.1 variance: 0.2 variance: 0.2", (1, 1, 1, 1), (1, 3, 100, 100))
    half = [10.0, 20.0, 10 * 2 ** 0.5, 10 / 2 ** 0.5]
    widths, heights = half, [10.0, 20.0, 10 / 2 ** 0.5, 10 * 2 ** 0.5]
    want = [[(50 - w) / 100, (50 - h) / 100, (50 + w) / 100, (50 + h) / 100] for w, h in zip(widths, heights)]
    np.testing.assert_allclose(out[0, 0].reshape(-1, 4), want, rtol=1e-6)
    assert np.array_equal(out[0, 1].reshape(-1, 4), np.tile(np.float32([0.1, 0.1, 0.2, 0.2]), (4, 1)))


def test_aspect_ratio_list_is_the_forks():
    assert prior_box.fork_aspect_ratios([1.0, 2.0, 1.0, 3.0], True) == (1.0, 2.0, 0.5, 3.0, float(np.float32(1 / 3)))
    assert prior_box.fork_aspect_ratios([2.0, 0.5], True) == (1.0, 2.0, 0.5)  # 0.5 is already 2's flip
    assert prior_box.fork_aspect_ratios([2.0, 2.0000005], False) == (1.0, 2.0)  # within 1e-6: the same
    assert prior_box.fork_aspect_ratios([2.0, 2.00001], False) == (1.0, 2.0, float(np.float32(2.00001)))


def test_clip_offset_step_and_image_size():
    raw = _one_prior_box("min_size: 40 step: 20 offset: 0")  # the first centers are at 0
    clipped = _one_prior_box("min_size: 40 step: 20 offset: 0 clip: true")
    assert raw[0, 0].min() < 0 and clipped[0, 0].min() == 0 and clipped[0, 0].max() <= 1
    assert np.array_equal(np.clip(raw, 0, 1)[0, 0], clipped[0, 0])
    # Steps from the image bottom (60/3, 100/5 = 20) equal an explicit step_h/step_w of 20.
    assert np.array_equal(_one_prior_box("min_size: 10"), _one_prior_box("min_size: 10 step_h: 20 step_w: 20"))
    # img_h/img_w replace the image bottom's size.
    assert np.array_equal(_one_prior_box("min_size: 10", image=(1, 3, 60, 100)),
                          _one_prior_box("min_size: 10 img_h: 60 img_w: 100", image=(1, 3, 7, 7)))
    assert np.array_equal(_one_prior_box("min_size: 10 variance: 0.3")[0, 1], np.full(60, np.float32(0.3)))


@pytest.mark.parametrize("block, message", [
    ("", "at least one min_size"),
    ("min_size: 0", "min_size must be larger than 0"),
    ("min_size: 20 min_size: 30 max_size: 40", "one max_size per min_size"),
    ("min_size: 20 max_size: 20", "max_size must be larger"),
    ("min_size: 20 variance: 0.1 variance: 0.2", "1 or 4 variances"),
    ("min_size: 20 variance: 0", "variance must be larger than 0"),
    ("min_size: 20 img_size: 300 img_h: 300 img_w: 300", "img_size or img_h/img_w"),
    ("min_size: 20 img_h: 300", "img_h and img_w must both"),
    ("min_size: 20 step: 8 step_w: 8 step_h: 8", "step or step_h/step_w"),
    ("min_size: 20 step_w: 8", "step_h and step_w must both"),
    ("min_size: 20 aspect_ratio: -2", "aspect_ratio must be larger than 0"),
])
def test_bad_parameters_are_refused_naming_the_layer(block, message):
    with pytest.raises(ShapeError, match=message) as info:
        _one_prior_box(block)
    assert str(info.value).startswith("layer 'pb' (PriorBox): ")


def _write_net(folder: Path, block: str) -> Path:
    path = folder / "net.prototxt"
    path.write_text("\n".join([
        _input_layer("data", (1, 3, 32, 32)),
        'layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1" '
        "convolution_param { num_output: 4 kernel_size: 3 stride: 2 pad: 1 } }",
        'layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "relu1" }',
        f'layer {{ name: "conv1_priorbox" type: "PriorBox" bottom: "conv1" bottom: "data" top: "conv1_priorbox" '
        f"prior_box_param {{ {block} }} }}"]))
    return path


def _cli(*args):
    return CliRunner().invoke(main, list(args))


def test_cli_refuses_a_prior_box_without_min_size(tmp_path):
    net = _write_net(tmp_path, "max_size: 60 aspect_ratio: 2")
    result = _cli("convert", str(net), "--to", "onnx", "-o", str(tmp_path / "out.onnx"), "--random-weights")
    assert result.exit_code == 2, result.output
    assert "conv1_priorbox" in result.output and "min_size" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out.onnx").exists()


def test_cli_verify_tflite_with_a_prior_box_output(tmp_path):
    """End to end through TFLite: the priors are a net output, batch 1, beside the conv."""
    net = _write_net(tmp_path, "min_size: 8 max_size: 16 aspect_ratio: 2 clip: true "
                     "variance: 0.1 variance: 0.1 variance: 0.2 variance: 0.2 offset: 0.5")
    report = tmp_path / "report.json"
    result = _cli("verify", str(net), "--random-weights", "--reference", "builtin", "--to", "tflite",
                  "--tolerance", str(TOLERANCE), "--layer-tolerance", "relu1=1e-5", "--report", str(report))
    assert result.exit_code == 0, result.output
    blobs = {b["layer"]: b for b in json.loads(report.read_text())["models"][0]["targets"][0]["blobs"]}
    assert set(blobs) == {"relu1", "conv1_priorbox"}
    assert blobs["conv1_priorbox"]["shape"] == [1, 2, 16 * 16 * 4 * 4] and blobs["conv1_priorbox"]["passed"]


def test_torch_module_refuses_another_input_size():
    import torch

    from caffe2x.families.ssd.prior_box_torch import PriorBox

    module = PriorBox(8, (2, 1), (60, 100))
    assert module(torch.zeros(3, 4, 2, 1), torch.zeros(3, 3, 60, 100)).shape == (1, 2, 8)
    with pytest.raises(ValueError, match="convert the net again"):
        module(torch.zeros(1, 4, 4, 2), torch.zeros(1, 3, 120, 200))
    fixed_image = PriorBox(8, (2, 1), None)  # img_size given: the image bottom's size does not matter
    assert fixed_image(torch.zeros(1, 4, 2, 1), torch.zeros(1, 3, 7, 7)).shape == (1, 2, 8)


@pytest.mark.parametrize("name", SSD_CASES)
def test_caffemodel_parameters_equal_the_prototxts(name):
    """The fork saves prior_box_param (field 203) in the caffemodel too: read by its wire
    form, it gives the same parameters as the prototxt."""
    from caffe2x.io.caffemodel import read_caffemodel

    weights = read_caffemodel(SSD_GOLDEN / name / "net.caffemodel")
    nodes = [node for node in prior_box_case(name).graph().nodes if node.type == "PriorBox"]
    for node in nodes:
        assert prior_box.build(weights.fork_param(node.name, "prior_box_param")) == node.params, node.name
    assert nodes
