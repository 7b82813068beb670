"""`caffe2x layers`: every type with its origin (one table, caffe2x/forks.py), each target's
support with the recorded reason, and the parameters honoured (read from the parse code,
checked here against what each parse really reads); the README's table is its output."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner
from conftest import FIXTURES, ROOT
from google.protobuf.message import Message

import caffe2x
import caffe2x.io.params as io_params
from caffe2x import forks
from caffe2x.catalog import DROPPED, INPUT, LAYER, REMOVED, UNKNOWN, Support, layer_catalog
from caffe2x.catalog.params import honoured_params
from caffe2x.catalog.render import markdown_table, text_table
from caffe2x.cli import main
from caffe2x.errors import Caffe2xError, UnsupportedLayerError
from caffe2x.extend import LayerDef, no_params, same_shape
from caffe2x.io.params import ParamValue
from caffe2x.io.prototxt import parse_prototxt_text, read_prototxt
from caffe2x.layers import DATA_TYPES, LAYERS, TRAINING_ONLY_TYPES
from caffe2x.reference import REFERENCE
from caffe2x.targets import TARGETS
from caffe2x.targets.emitters import UNSUPPORTED, emitter_registry

PLUGINS = ROOT / "examples" / "plugins"


def invoke(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


def test_json_is_the_documented_schema():
    result = invoke("layers", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert set(doc) == {"version", "targets", "layers"} and doc["version"] == 1
    assert doc["targets"] == TARGETS.names() == ["onnx", "pytorch", "tensorflow", "tflite"]
    for layer in doc["layers"]:
        assert set(layer) == {"type", "origin", "role", "reference", "support", "params"}, layer
        assert layer["role"] in {LAYER, INPUT, REMOVED, DROPPED}
        assert list(layer["support"]) == doc["targets"]
        for support in layer["support"].values():
            assert set(support) == {"supported", "reason"}
            assert (support["reason"] is None) == support["supported"]
        assert all(path.count(".") >= 1 for path in layer["params"])
    conv = next(layer for layer in doc["layers"] if layer["type"] == "Convolution")
    assert conv["origin"] == "BVLC master" and conv["role"] == LAYER and conv["reference"]
    assert {"convolution_param.num_output", "convolution_param.group", "convolution_param.dilation",
            "convolution_param.pad_h"} <= set(conv["params"])
    assert "convolution_param.weight_filler" not in conv["params"]  # read by training only


def test_every_type_caffe2x_reads_is_listed_once_with_its_role():
    entries = {e.type: e for e in layer_catalog()}
    assert set(entries) == set(LAYERS) | DATA_TYPES | TRAINING_ONLY_TYPES
    assert entries["Data"].role == INPUT and entries["Input"].role == INPUT
    assert entries["Split"].role == REMOVED and entries["SoftmaxWithLoss"].role == DROPPED
    assert entries["Normalize"].role == LAYER


def test_every_builtin_type_has_an_origin_in_the_forks_table():
    """A built-in type added without an origin entry shows "unknown": this fails until
    caffe2x/forks.py names where it comes from."""
    unknown = [e.type for e in layer_catalog(builtin_only=True) if e.origin == UNKNOWN]
    assert not unknown, f"add these types to caffe2x/forks.py (BVLC_LAYER_TYPES or FORK_ORIGINS): {unknown}"
    for entry in layer_catalog(builtin_only=True):
        assert entry.origin == forks.origin(entry.type)


@pytest.mark.parametrize("layer_type, source", [
    ("Normalize", "weiliu89/caffe@4817bf8"), ("DetectionOutput", "weiliu89/caffe@4817bf8"),
    ("Interp", "hszhao/PSPNet"), ("BN", "hszhao/PSPNet"), ("BN", "alexgkendall/caffe-segnet"),
    ("Upsample", "alexgkendall/caffe-segnet"), ("Upsample", "YOLO"), ("Unpooling", "unpooling"),
    ("MaxUnpool", "unpooling"), ("DenseImageData", "alexgkendall/caffe-segnet"), ("ImageSegData", "DeepLab"),
    ("ShuffleChannel", "farmingyard/ShuffleNet"), ("ConvolutionDepthwise", "farmingyard/caffe-mobilenet"),
    ("DepthwiseConvolution", "yonghenglh6/DepthwiseConvolution"), ("Axpy", "hujie-frank/SENet"),
    ("ReLU6", "MobileNet v2"), ("Mish", "Mish"), ("Clip", "BVLC master"), ("Swish", "BVLC master"),
    ("AnnotatedData", "weiliu89/caffe"), ("ROIPooling", "rbgirshick/caffe-fast-rcnn@0dcd397"),
    ("PSROIPooling", "daijifeng001/caffe-rfcn@543f8f6"), ("BoxAnnotatorOHEM", "R-FCN"),
])
def test_the_origin_table_names_each_forks_source(layer_type, source):
    assert source in forks.origin(layer_type)


def test_plugin_layers_are_listed_with_their_module(monkeypatch):
    monkeypatch.delenv("CAFFE2X_PLUGINS", raising=False)
    result = invoke("layers", "--json", "--plugin", PLUGINS / "clipped_gain", "--plugin", PLUGINS / "hard_swish.py")
    assert result.exit_code == 0, result.output
    by_type = {layer["type"]: layer for layer in json.loads(result.output)["layers"]}
    gain, swish = by_type["ClippedGain"], by_type["HardSwish"]
    assert gain["origin"] == "plugin clipped_gain" and swish["origin"] == "plugin hard_swish"
    assert {"clipped_gain_param.gain", "clipped_gain_param.clip.min", "clipped_gain_param.mode"} <= set(gain["params"])
    assert swish["params"] == [] and all(s["supported"] for s in swish["support"].values())
    text = invoke("layers", "--plugin", PLUGINS / "hard_swish.py").output
    assert "plugin hard_swish" in text
    assert all(e.type not in {"ClippedGain", "HardSwish"} for e in layer_catalog(builtin_only=True))


@pytest.fixture
def half_supported():
    """A plugin type that the tensorflow family cannot express, with its reason."""
    name = "TestHalfSupported"
    caffe2x.register_layer(name, LayerDef(no_params, same_shape), lambda node, inputs: inputs,
                           onnx=lambda *a: [], pytorch=lambda *a: None,
                           unsupported={"tensorflow": "no Keras op keeps its rounding"})
    yield name
    for registry in (LAYERS, REFERENCE, emitter_registry("onnx"), emitter_registry("pytorch")):
        registry.unregister(name)
    UNSUPPORTED.pop(("tensorflow", name), None)


def test_a_target_that_cannot_express_a_type_shows_the_recorded_reason(half_supported):
    entry = next(e for e in layer_catalog() if e.type == half_supported)
    assert entry.origin == f"plugin {__name__}"
    assert entry.support["onnx"] == entry.support["pytorch"] == Support(True)
    assert entry.support["tensorflow"] == entry.support["tflite"] == Support(False, "no Keras op keeps its rounding")
    row = next(line for line in markdown_table([entry]).splitlines() if half_supported in line)
    assert row.count("no: no Keras op keeps its rounding") == 2
    assert f"{half_supported} on tflite: no Keras op keeps its rounding" in text_table([entry])


def test_json_and_markdown_together_are_refused():
    result = invoke("layers", "--json", "--markdown")
    assert result.exit_code == 2 and "cannot be used together" in result.output


# --- The parameters honoured against what each parse step really reads -------------------

class _Forwarding(type):
    """type(recorded) answers what type(message) would (type(p).PoolMethod.Name(...))."""

    def __getattr__(cls, name):
        return getattr(cls.wrapped_type, name)


class _Recorded:
    """A protobuf message or ParamValue that notes every field read through it."""

    def __init__(self, wrapped, path: str, seen: set[str]):
        self._wrapped, self._path, self._seen = wrapped, path, seen

    def __getattr__(self, name):
        if name in ("HasField", "has"):  # presence tests read the field too
            method = getattr(self._wrapped, name)
            return lambda field: self._seen.add(self._path + field) or method(field)
        value = getattr(self._wrapped, name)
        if name not in _field_names(self._wrapped):  # a method or property, not a field
            return value
        self._seen.add(self._path + name)
        return _recorded(value, f"{self._path}{name}.", self._seen)


def _field_names(wrapped) -> set[str]:
    if isinstance(wrapped, ParamValue):
        return set(wrapped.message.fields)
    return set(wrapped.DESCRIPTOR.fields_by_name)


def _recorded(value, path: str, seen: set[str]):
    if not isinstance(value, Message | ParamValue):
        return value
    cls = _Forwarding("Recorded", (_Recorded,), {"wrapped_type": type(value)})
    return cls(value, path, seen)


def _fixture_layers():
    for path in sorted(FIXTURES.rglob("*.prototxt")):
        try:
            net = read_prototxt(path)
        except Caffe2xError:
            continue
        yield from ((path, layer) for layer in net.layer if layer.type in LAYERS)


def test_the_parameters_listed_cover_every_field_each_parse_reads_on_the_fixture_nets(monkeypatch):
    real_fork_param = io_params.fork_param

    def recording_fork_param(layer, name, *args):
        value = real_fork_param(getattr(layer, "_wrapped", layer), name, *args)
        return _recorded(value, f"{name}.", seen)

    monkeypatch.setattr(io_params, "fork_param", recording_fork_param)
    checked = set()
    for path, layer in _fixture_layers():
        seen: set[str] = set()
        try:
            LAYERS.get(layer.type).parse(_recorded(layer, "", seen))
        except Caffe2xError:
            pass  # a layer some fixture refuses on purpose: what it read before counts all the same
        read = {field for field in seen if "." in field}  # block.field, not the layer's own name/type
        missing = read - set(honoured_params(layer.type))
        assert not missing, f"{path.name}: {layer.type} '{layer.name}' reads {sorted(missing)}, not listed"
        checked.add(layer.type)
    assert {"Convolution", "Pooling", "BatchNorm", "Scale", "Eltwise", "LRN", "Normalize", "PriorBox",
            "DetectionOutput", "Permute", "Reshape", "Crop", "Slice"} <= checked


def test_a_field_read_by_a_helper_of_the_parse_module_is_listed():
    # Pooling's parse reads pad_h/pad_w through a helper that builds the names at run time.
    assert {"pooling_param.pad_h", "pooling_param.kernel_w", "pooling_param.ceil_mode"} <= set(
        honoured_params("Pooling"))
    assert "pooling_param.engine" not in honoured_params("Pooling")


# --- The README's table ----------------------------------------------------------------------

def _tool():
    spec = importlib.util.spec_from_file_location("gen_layer_table", ROOT / "tools" / "gen_layer_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_table_is_what_the_command_generates_now():
    """A layer type added (or its support or parameters changed) without regenerating the
    README's table fails here: run `python tools/gen_layer_table.py`."""
    env = {k: v for k, v in os.environ.items() if k != "CAFFE2X_PLUGINS"}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_layer_table.py"), "--check"],
                            capture_output=True, text=True, env=env, cwd=ROOT)
    assert result.returncode == 0, result.stderr


def test_a_stale_table_is_reported(tmp_path, monkeypatch):
    tool = _tool()
    readme = tmp_path / "README.md"
    current = (ROOT / "README.md").read_text()
    readme.write_text("\n".join(line for line in current.splitlines(keepends=False)
                                if not line.startswith("| `Convolution`")) + "\n")
    monkeypatch.setattr(tool, "README", readme)
    assert tool.main(["--check"]) == 1
    assert tool.main([]) == 0 and tool.main(["--check"]) == 0
    assert "| `Convolution` |" in readme.read_text()


def test_the_golden_cases_column_names_the_cases_that_hold_each_type(tmp_path):
    tool = _tool()
    cases = tool.golden_cases_by_type()
    assert {"ssd_layers", "ssd_variants"} <= set(cases["Normalize"])
    assert "resnet50_thin" in cases["BatchNorm"]
    case = tmp_path / "one_case"
    case.mkdir()
    (case / "manifest.json").write_text(json.dumps({"layers": [{"type": "Input"}, {"type": "Interp"}]}))
    assert tool.golden_cases_by_type(tmp_path) == {"Input": ["one_case"], "Interp": ["one_case"]}
    assert tool._cases_cell([]) == "none: reference from the source"
    assert tool._cases_cell(["a", "b", "c", "d", "e"]) == "a, b, c (+2)"


def test_the_markdown_table_has_one_row_per_builtin_type():
    table = _tool().generated_table()
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == [e.type for e in layer_catalog(builtin_only=True)]
    assert invoke("layers", "--markdown").exit_code == 0


# --- inspect on a net with unsupported types: the same origin table --------------------------

UNSUPPORTED_NET = """name: "faster_rcnn_bits" input: "data" input_shape { dim: 1 dim: 3 dim: 32 dim: 32 }
layer { name: "unpool" type: "MaxUnpool" bottom: "data" top: "rois" }
layer { name: "ohem5" type: "BoxAnnotatorOHEM" bottom: "data" bottom: "rois" top: "pool5" }
layer { name: "ohem6" type: "BoxAnnotatorOHEM" bottom: "data" bottom: "rois" top: "pool6" }
layer { name: "mine" type: "NoSuchLayer" bottom: "pool6" top: "mine" }
"""


def test_inspect_lists_every_unsupported_type_grouped_with_its_fork_from_the_table(tmp_path):
    net = tmp_path / "net.prototxt"
    net.write_text(UNSUPPORTED_NET)
    result = invoke("inspect", net)
    assert result.exit_code == 2
    assert "BoxAnnotatorOHEM (2, from the " + forks.origin("BoxAnnotatorOHEM") + "): 'ohem5', 'ohem6'" in result.output
    assert "MaxUnpool (1, from the " + forks.origin("MaxUnpool") + "): 'unpool'" in result.output
    assert "NoSuchLayer (1): 'mine'" in result.output
    with pytest.raises(UnsupportedLayerError) as info:
        caffe2x.graph_from_net(parse_prototxt_text(UNSUPPORTED_NET))
    assert info.value.forks == {t: forks.FORK_ORIGINS[t] for t in ("MaxUnpool", "BoxAnnotatorOHEM")}
