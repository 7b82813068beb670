"""Parameter blocks of Caffe forks: kept generically without a declaration, typed with
one (Python or the fork's .proto), from the prototxt and from the caffemodel; every
unsupported fork layer reported at once."""

from __future__ import annotations

import functools
import json
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FIXTURES
from hypothesis import given
from hypothesis import strategies as st
from test_fuzz import MUTATED, _mutate

import caffe2x
from caffe2x.cli import main
from caffe2x.errors import PrototxtError, RegistryError, SchemaError, UnsupportedLayerError, WeightsError
from caffe2x.forks import likely_fork
from caffe2x.io.caffemodel import read_caffemodel
from caffe2x.io.params import PARAMS, Enum, Field, ParamMessage, fork_blocks, fork_param
from caffe2x.io.params.proto_file import read_proto
from caffe2x.io.prototxt import parse_prototxt_text, read_prototxt
from caffe2x.io.wire_writer import Chunks, varint

SSD_PROTO = FIXTURES / "proto" / "caffe_ssd_fork.proto"
SSD_NETS = FIXTURES / "nets" / "ssd"
FORK_MIX = FIXTURES / "nets" / "fork_mix.prototxt"
MY_OP_NET = """
input: "a" input_shape { dim: 1 dim: 3 }
layer { name: "x" type: "MyOp" bottom: "a" top: "x"
        my_op_param { alpha: 2 mode: FAST shape { dim: 3 } } }
"""

MODE = Enum("Mode", {"SLOW": 0, "FAST": 1})
SHAPE = ParamMessage("Shape", Field("dim", 1, "int64", repeated=True))
MY_OP = ParamMessage("MyOpParameter", ("alpha", 1, float, 1.0), Field("mode", 2, MODE),
                     Field("shape", 3, SHAPE), Field("beta", 4, "uint32", default=7), ("tag", 5, str))


@pytest.fixture(autouse=True)
def clean_registries():
    """Declarations and plugin layers are process-wide: each test starts and ends without them."""
    params, layers = dict(PARAMS), set(caffe2x.LAYERS)
    yield
    PARAMS.clear()
    PARAMS.update(params)
    for layer_type in set(caffe2x.LAYERS) - layers:
        caffe2x.LAYERS.unregister(layer_type)
    sys.modules.pop("plugins.ssd_normalize", None)


def invoke(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


def by_name(net) -> dict:
    return {layer.name: layer for layer in net.layer}


# ---- without any declaration: parsed, kept generically, every fork layer reported ------------


def test_an_unknown_block_on_a_custom_type_parses_and_is_kept_as_a_generic_tree():
    layer = by_name(parse_prototxt_text(MY_OP_NET))["x"]
    block = fork_blocks(layer)["my_op_param"]
    assert block.value.to_dict() == {"alpha": "2", "mode": "FAST", "shape": {"dim": "3"}}
    assert (block.line, block.column) == (4, 9)
    assert [f.kind for f in block.value.fields] == ["number", "identifier", "message"]
    assert layer.type == "MyOp" and list(layer.bottom) == ["a"]  # the rest is protobuf's as ever


def test_fork_mix_reports_every_unsupported_fork_type_at_once_through_the_cli():
    result = invoke("inspect", FORK_MIX)
    assert result.exit_code == 2, result.output
    assert "3 layer(s) of 2 unsupported type(s)" in result.output  # Normalize is built in (caffe2x.families.ssd)
    assert f"MaxUnpool (2, from the {likely_fork('MaxUnpool')}): 'unpool', 'unpool2'" in result.output
    assert "BoxAnnotatorOHEM (1, from the R-FCN fork" in result.output and "'ohem'" in result.output
    assert result.output.count("caffe2x: error (UnsupportedLayerError)") == 1


@pytest.mark.parametrize("command", [["convert", "--to", "onnx", "-o", "x.onnx"], ["verify", "--to", "onnx"]])
def test_convert_and_verify_give_the_same_grouped_error(command, tmp_path):
    result = invoke(command[0], FORK_MIX, "--random-weights", *command[1:3],
                    *[tmp_path / c if c.endswith(".onnx") else c for c in command[3:]])
    assert result.exit_code == 2, result.output
    assert "UnsupportedLayerError" in result.output and "MaxUnpool (2" in result.output


def test_inspect_reads_the_real_mobilenet_ssd():
    """Once a protobuf error at its first `permute_param`; now every SSD layer is built in."""
    result = invoke("inspect", SSD_NETS / "mobilenet_ssd.prototxt")
    assert result.exit_code == 0, result.output
    assert "DetectionOutput" in result.output and "PriorBox" in result.output


def test_the_error_object_names_the_forks():
    with pytest.raises(UnsupportedLayerError) as info:
        caffe2x.load_net(FORK_MIX)
    assert info.value.by_type == {"MaxUnpool": ["unpool", "unpool2"], "BoxAnnotatorOHEM": ["ohem"]}
    assert info.value.forks["BoxAnnotatorOHEM"] == likely_fork("BoxAnnotatorOHEM") and "R-FCN" in likely_fork("BoxAnnotatorOHEM")


@pytest.mark.parametrize("text, field, line", [
    ('layer { name: "c" type: "Convolution" bottom: "a" top: "c"\n  foo_param { } }', "foo_param", 2),
    ('layer { name: "c" type: "Convolution" bottom: "a" top: "c"\n\n  convolution_param { foo: 1 } }', "foo", 3),
    ('layer { name: "x" type: "MyOp" bottom: "a" top: "x"\n  foo: 1 }', "foo", 2),  # not a block
    ('layer { name: "x" type: "MyOp" bottom: "a" top: "x"\n  my_op_param { a: 1 }\n  bar_block { } }', "bar_block", 3),
])
def test_unknown_fields_on_bvlc_types_remain_errors_naming_field_and_line(text, field, line):
    with pytest.raises(PrototxtError) as info:
        parse_prototxt_text(text, "net.prototxt")
    assert f'"{field}"' in str(info.value) and f"net.prototxt: line {line}" in str(info.value)


def test_a_syntax_error_inside_a_fork_block_is_protobufs_error_with_its_line():
    with pytest.raises(PrototxtError, match=r"net.prototxt: line 2"):
        parse_prototxt_text('layer { name: "x" type: "MyOp"\n my_op_param { alpha: } }', "net.prototxt")


def test_lines_after_a_cut_block_keep_their_numbers():
    text = 'layer { name: "x" type: "MyOp"\n my_op_param {\n a: 1\n }\n bottom: 3 }'
    with pytest.raises(PrototxtError, match=r"line 5, column 10"):
        parse_prototxt_text(text, "net.prototxt")


# ---- declared in Python -------------------------------------------------------------------------


def test_a_python_declaration_gives_a_typed_object_with_defaults():
    caffe2x.register_param("my_op_param", 1234, MY_OP)
    params = caffe2x.fork_param(by_name(parse_prototxt_text(MY_OP_NET))["x"], "my_op_param")
    assert params.alpha == 2.0 and isinstance(params.alpha, float)
    assert params.mode == "FAST" and params.shape.dim == (3,)
    assert params.beta == 7 and params.tag == ""  # defaults: declared, and proto2's
    assert params.has("alpha") and not params.has("beta")
    with pytest.raises(AttributeError):
        params.gamma  # noqa: B018
    absent = caffe2x.fork_param(parse_prototxt_text('layer { name: "y" type: "MyOp" }').layer[0], "my_op_param")
    assert absent.alpha == 1.0 and absent.mode == "SLOW" and absent.shape.dim == ()


@pytest.mark.parametrize("block, message", [
    ("my_op_param { alpha: 1 gamma: 2 }", "line 2, column 34: my_op_param: MyOpParameter has no field named 'gamma'"),
    ("my_op_param { mode: MEDIUM }", "'MEDIUM' is not a value of enum Mode"),
    ("my_op_param { beta: -1 }", "field 'beta' is a uint32, not '-1'"),
    ("my_op_param { alpha: 1 alpha: 2 }", "alpha is given twice"),
    ("my_op_param { shape: 3 }", "is a message (Shape)"),
    ("my_op_param { tag: abc }", "write it in quotes"),
])
def test_a_declared_block_that_does_not_fit_names_the_field_and_line(block, message):
    caffe2x.register_param("my_op_param", 1234, MY_OP)
    with pytest.raises(PrototxtError) as info:
        parse_prototxt_text(f'layer {{ name: "x" type: "Conv2"\n          {block} }}', "net.prototxt")
    assert message in str(info.value)


def test_declarations_that_clash_are_refused():
    caffe2x.register_param("my_op_param", 1234, MY_OP)
    caffe2x.register_param("my_op_param", 1234, MY_OP)  # the same again: fine (a schema loaded twice)
    with pytest.raises(RegistryError, match="already declared"):
        caffe2x.register_param("my_op_param", 1235, MY_OP)
    with pytest.raises(RegistryError, match="number 1234 is already 'my_op_param'"):
        caffe2x.register_param("other_param", 1234, MY_OP)
    with pytest.raises(RegistryError, match="BVLC's LayerParameter already uses that name"):
        caffe2x.register_param("convolution_param", 4000, MY_OP)
    with pytest.raises(RegistryError, match="already uses that field number"):
        caffe2x.register_param("new_param", 106, MY_OP)
    with pytest.raises(RegistryError, match="unknown type 'float32'"):
        Field("x", 1, "float32")
    with pytest.raises(RegistryError, match="no declaration for the fork block 'nope_param'"):
        caffe2x.fork_param(parse_prototxt_text("").layer.add(), "nope_param")


def _wire_my_op() -> bytes:
    shape = Chunks().field_bytes(1, varint(3) + varint(4))  # packed int64 dims
    body = (Chunks().raw(varint(1 << 3 | 5) + struct.pack("<f", 0.1)).field_varint(2, 1)
            .field_message(3, shape).field_varint(4, 2**32 - 1).field_bytes(5, "é".encode()))
    return b"".join(p if isinstance(p, bytes) else p.tobytes() for p in body.parts)


def _write_caffemodel(path: Path, layers: list[tuple[str, str, dict[int, bytes]]]) -> Path:
    net = Chunks().field_bytes(1, b"net")
    for name, layer_type, blocks in layers:
        layer = Chunks().field_bytes(1, name.encode()).field_bytes(2, layer_type.encode())
        for number, payload in blocks.items():
            layer.field_bytes(number, payload)
        net.field_message(100, layer)
    with open(path, "wb") as handle:
        net.write_to(handle)
    return path


def test_a_caffemodel_keeps_unknown_layer_fields_by_number_and_reads_them_by_declaration(tmp_path):
    path = _write_caffemodel(tmp_path / "w.caffemodel", [("x", "MyOp", {1234: _wire_my_op()}), ("y", "MyOp", {})])
    weights = read_caffemodel(path)
    assert weights.unknown_fields == {"x": {1234: [_wire_my_op()]}}
    caffe2x.register_param("my_op_param", 1234, MY_OP)
    params = weights.fork_param("x", "my_op_param")
    assert params.alpha == pytest.approx(0.1, rel=1e-7) and params.alpha == float(struct.unpack("<f", struct.pack("<f", 0.1))[0])
    assert params.mode == "FAST" and params.shape.dim == (3, 4) and params.beta == 2**32 - 1 and params.tag == "é"
    assert weights.fork_param("y", "my_op_param") is None


def test_a_damaged_fork_field_in_a_caffemodel_is_a_weights_error(tmp_path):
    path = _write_caffemodel(tmp_path / "w.caffemodel", [("x", "MyOp", {1234: b"\x0d\x00"})])
    caffe2x.register_param("my_op_param", 1234, MY_OP)
    with pytest.raises(WeightsError, match=r"layer 'x': my_op_param \(field 1234\) is not a valid MyOpParameter"):
        read_caffemodel(path).fork_param("x", "my_op_param")


# ---- the SSD fork's own schema ------------------------------------------------------------------


def test_the_ssd_fork_schema_declares_its_blocks():
    declared = {p.name: (p.number, p.message.name) for p in caffe2x.load_proto(SSD_PROTO)}
    assert declared == {
        "annotated_data_param": (200, "AnnotatedDataParameter"), "multibox_loss_param": (201, "MultiBoxLossParameter"),
        "permute_param": (202, "PermuteParameter"), "prior_box_param": (203, "PriorBoxParameter"),
        "detection_output_param": (204, "DetectionOutputParameter"),
        "detection_evaluate_param": (205, "DetectionEvaluateParameter"), "norm_param": (206, "NormalizeParameter"),
        "video_data_param": (207, "VideoDataParameter")}
    caffe2x.load_proto(SSD_PROTO)  # loading it again is harmless
    output = PARAMS["detection_output_param"].message
    assert output.fields["code_type"].type.values == {"CORNER": 1, "CENTER_SIZE": 2, "CORNER_SIZE": 3}
    assert output.fields["nms_param"].type.name == "NonMaximumSuppressionParameter"
    assert PARAMS["norm_param"].message.fields["eps"].default_value() == pytest.approx(1e-10)


def test_ssd_layers_blocks_come_out_typed_from_the_prototxt():
    caffe2x.load_proto(SSD_PROTO)
    layers = by_name(read_prototxt(SSD_NETS / "ssd_layers.prototxt"))
    norm = caffe2x.fork_param(layers["conv4_3_norm"], "norm_param")
    assert (norm.across_spatial, norm.channel_shared, norm.eps) == (False, False, pytest.approx(1e-10))
    assert norm.scale_filler.type == "constant" and norm.scale_filler.value == 20.0
    assert caffe2x.fork_param(layers["feat2_norm"], "norm_param").channel_shared is True
    prior = caffe2x.fork_param(layers["conv4_3_norm_mbox_priorbox"], "prior_box_param")
    assert prior.min_size == (30.0,) and prior.max_size == (60.0,) and prior.aspect_ratio == (2.0, 3.0)
    assert prior.variance == pytest.approx((0.1, 0.1, 0.2, 0.2)) and prior.img_size == 300 and prior.step == 16.0
    assert (prior.flip, prior.clip, prior.offset, prior.img_h) == (True, False, 0.5, 0)
    assert caffe2x.fork_param(layers["conv4_3_norm_mbox_loc_perm"], "permute_param").order == (0, 2, 3, 1)
    out = caffe2x.fork_param(layers["detection_out"], "detection_output_param")
    assert (out.num_classes, out.share_location, out.background_label_id, out.code_type) == (5, True, 0, "CENTER_SIZE")
    assert out.nms_param.nms_threshold == pytest.approx(0.45) and out.nms_param.top_k == 100
    assert out.keep_top_k == 50 and out.nms_param.eta == 1.0  # a nested default


@pytest.mark.parametrize("net", ["ssd_layers", "ssd_variants", "mobilenet_ssd"])
def test_every_fork_block_of_the_ssd_golden_nets_reads_by_the_fork_schema(net):
    caffe2x.load_proto(SSD_PROTO)
    counts = {}
    for layer in read_prototxt(SSD_NETS / f"{net}.prototxt").layer:
        for name in fork_blocks(layer):
            value = fork_param(layer, name)
            assert value.message is PARAMS[name].message
            counts[name] = counts.get(name, 0) + 1
    expected = {"ssd_layers": {"norm_param": 2, "permute_param": 4, "prior_box_param": 2, "detection_output_param": 1},
                "ssd_variants": {"norm_param": 4, "permute_param": 9, "prior_box_param": 3,
                                 "detection_output_param": 4},
                "mobilenet_ssd": {"permute_param": 12, "prior_box_param": 6, "detection_output_param": 1}}
    assert counts == expected[net]


def test_ssd_variants_values():
    caffe2x.load_proto(SSD_PROTO)
    layers = read_prototxt(SSD_NETS / "ssd_variants.prototxt").layer
    priors = [fork_param(layer, "prior_box_param") for layer in layers if layer.type == "PriorBox"]
    custom = next(p for p in priors if p.has("img_h"))
    assert (custom.img_h, custom.step_h, custom.offset) == (96, 15.0, 0.25) and not custom.has("img_size")
    assert [p.offset for p in priors].count(0.5) == 2  # the others keep the fork's default
    outputs = [fork_param(layer, "detection_output_param") for layer in layers if layer.type == "DetectionOutput"]
    assert [o.code_type for o in outputs] == ["CENTER_SIZE", "CORNER", "CORNER_SIZE", "CENTER_SIZE"]


@functools.cache
def _fork_net_class():
    """caffe.NetParameter of the fork's schema, compiled by protoc in a subprocess (as tests
    must: in-process protoc crashes once torch or TensorFlow is loaded)."""
    pytest.importorskip("grpc_tools")
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "fork.desc"
        subprocess.run([sys.executable, "-m", "grpc_tools.protoc", f"-I{SSD_PROTO.parent}",
                        f"--descriptor_set_out={out}", SSD_PROTO.name], check=True, capture_output=True)
        files = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file
    pool = descriptor_pool.DescriptorPool()
    for file_proto in files:
        pool.Add(file_proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("caffe.NetParameter"))


def _fork_compiled_caffemodel(tmp_path: Path, prototxt: Path) -> Path:
    """The net as the fork's own protobuf serializes it."""
    from google.protobuf import text_format

    net = _fork_net_class()()
    text_format.Parse(prototxt.read_text(), net)
    path = tmp_path / "net.caffemodel"
    path.write_bytes(net.SerializeToString())
    return path


def test_a_caffemodel_written_by_the_fork_schema_gives_the_same_typed_values(tmp_path):
    prototxt = SSD_NETS / "ssd_layers.prototxt"
    weights = read_caffemodel(_fork_compiled_caffemodel(tmp_path, prototxt))
    caffe2x.load_proto(SSD_PROTO)
    compared = 0
    for layer in read_prototxt(prototxt).layer:
        for name in fork_blocks(layer):
            assert weights.fork_param(layer.name, name) == fork_param(layer, name), layer.name
            compared += 1
    assert compared == 9
    assert weights.fork_param("conv4_3_norm_mbox_priorbox", "prior_box_param").variance[2] == pytest.approx(0.2)


REAL_SSD_CAFFEMODEL = FIXTURES / "golden" / "ssd_layers" / "net.caffemodel"  # saved by the real SSD fork


def test_the_caffemodel_saved_by_the_real_ssd_caffe_agrees_with_its_prototxt():
    caffe2x.load_proto(SSD_PROTO)
    weights = read_caffemodel(REAL_SSD_CAFFEMODEL)
    layers = by_name(read_prototxt(SSD_NETS / "ssd_layers.prototxt"))
    for name, fields in weights.unknown_fields.items():
        (number,) = fields
        block = next(p.name for p in PARAMS.values() if p.number == number)
        assert weights.fork_param(name, block) == fork_param(layers[name], block)


# ---- a plugin gets the typed object -------------------------------------------------------------

NORMALIZE_NET = """
layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 1 dim: 8 dim: 4 dim: 4 } } }
layer { name: "n1" type: "PluginNormalize" bottom: "x" top: "n1"
        norm_param { across_spatial: false scale_filler { type: "constant" value: 20 } channel_shared: false } }
layer { name: "n2" type: "PluginNormalize" bottom: "n1" top: "n2" }
"""


def test_a_plugin_layer_parses_its_typed_params_through_the_cli(tmp_path):
    net = tmp_path / "net.prototxt"
    net.write_text(NORMALIZE_NET)
    result = invoke("inspect", net, "--caffe-proto", SSD_PROTO, "--plugin", "plugins.ssd_normalize", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["total_params"] == 8 + 1  # per-channel scale, then a shared one
    graph = caffe2x.load_net(net)
    n1, n2 = (node.params for node in graph.nodes if node.type == "PluginNormalize")
    assert (n1.across_spatial, n1.channel_shared, n1.scale) == (False, False, 20.0)
    assert (n2.across_spatial, n2.channel_shared, n2.eps, n2.scale) == (True, True, pytest.approx(1e-10), 0.0)


def test_without_the_schema_the_plugin_says_which_declaration_is_missing(tmp_path):
    from caffe2x.io.params import unregister_param

    unregister_param("norm_param")  # caffe2x declares the SSD fork's blocks itself (ssd.proto)
    net = tmp_path / "net.prototxt"
    net.write_text(NORMALIZE_NET)
    result = invoke("inspect", net, "--plugin", "plugins.ssd_normalize")
    assert result.exit_code == 2
    assert "no declaration for the fork block 'norm_param'" in result.output and "--caffe-proto" in result.output


# ---- the .proto reader --------------------------------------------------------------------------


def test_the_proto_reader_follows_scopes_defaults_and_oneofs(tmp_path):
    proto = tmp_path / "fork.proto"
    proto.write_text("""
        syntax = "proto2"; package caffe; import "other.proto"; option java_package = "x";
        /* a block comment */
        message Outer {
          enum Kind { A = 0; B = 5 [deprecated = true]; }
          message Inner { optional Kind kind = 1 [default = B]; }
          optional Inner inner = 1;
          repeated sint32 deltas = 2 [packed = true];
          oneof choice { string name = 3; double weight = 4 [default = -inf]; }
          reserved 9; extensions 100 to 199;
        }
        message User { optional Outer.Kind kind = 1; optional .caffe.Outer.Inner inner = 2;
                       optional string s = 3 [default = "a\\tb"]; optional bool on = 4 [default = true]; }
        message LayerParameter { optional string name = 1; optional User user_param = 3000; }
    """)
    schema = read_proto(proto)
    outer, user = schema.message("Outer"), schema.message("User")
    assert outer.fields["inner"].type is schema.message("Inner")
    assert outer.fields["deltas"].repeated and outer.fields["deltas"].type == "sint32"
    assert outer.fields["weight"].default == float("-inf")
    assert user.fields["kind"].type.values == {"A": 0, "B": 5} and user.fields["inner"].type.name == "Inner"
    assert user.fields["s"].default == "a\tb" and user.fields["on"].default is True
    assert [(name, number, message.name) for name, number, message in schema.layer_fields] == [("user_param", 3000, "User")]
    assert schema.message("Inner").fields["kind"].default_value() == "B"


@pytest.mark.parametrize("text, message", [
    ("message LayerParameter { optional Missing m = 1; }", "line 1: field 'm': unknown type 'Missing'"),
    ("message M { optional int32 x = 1 [default = abc]; }", "default 'abc' does not fit"),
    ("message M { optional int32 x = 1;\n optional int32 y = 1; }", "declared twice"),
    ("message M { optional int32 x = 1;", "is not closed"),
    ("message M { map<string, int32> m = 1; }", "'map' fields are not supported"),
    ("message M { optional int32 x = 1; }", "declares no LayerParameter"),
    ("message LayerParameter { optional M convolution_param = 7; } message M {}", "is number 7 here but 106"),
])
def test_a_bad_proto_is_a_schema_error_with_its_line(tmp_path, text, message):
    proto = tmp_path / "bad.proto"
    proto.write_text(text)
    with pytest.raises(SchemaError) as info:
        caffe2x.load_proto(proto)
    assert message in str(info.value) and str(proto) in str(info.value)


def test_cli_reports_a_bad_proto_in_one_paragraph(tmp_path):
    proto = tmp_path / "bad.proto"
    proto.write_text("message LayerParameter { optional Nope x = 1; }")
    result = invoke("inspect", FORK_MIX, "--caffe-proto", proto)
    assert result.exit_code == 2 and "caffe2x: error (SchemaError)" in result.output


def test_protoc_is_not_needed_at_runtime():
    # The .proto reader is pure Python: grpcio-tools is only a dev extra.
    files = list((Path(caffe2x.__file__).parent / "io" / "params").glob("*.py"))
    assert len(files) >= 5  # the reader's modules are where this test looks
    assert all("grpc_tools" not in p.read_text() for p in files)


# ---- damaged inputs: typed errors only ----------------------------------------------------------


def _read_every_block(text: str) -> None:
    for layer in parse_prototxt_text(text, "mutant.prototxt").layer:
        for name in fork_blocks(layer):
            if name in PARAMS:
                fork_param(layer, name).to_dict()


@MUTATED
@given(data=st.data(), declared=st.booleans())
def test_mutated_fork_prototxts_only_raise_typed_errors(data, declared):
    if declared:
        caffe2x.load_proto(SSD_PROTO)
    name = data.draw(st.sampled_from(["ssd_layers.prototxt", "ssd_variants.prototxt"]))
    text = _mutate((SSD_NETS / name).read_bytes(), data.draw).decode("utf-8", errors="replace")
    try:
        _read_every_block(text)
        caffe2x.graph_from_net(parse_prototxt_text(text, "mutant.prototxt"))
    except caffe2x.Caffe2xError:
        pass
    finally:
        PARAMS.clear()


@MUTATED
@given(data=st.data())
def test_mutated_fork_caffemodels_only_raise_typed_errors(tmp_path_factory, data):
    source = _fork_compiled_caffemodel(tmp_path_factory.mktemp("fork"), SSD_NETS / "ssd_layers.prototxt")
    path = source.with_name("mutant.caffemodel")
    path.write_bytes(_mutate(source.read_bytes(), data.draw))
    caffe2x.load_proto(SSD_PROTO)
    try:
        weights = read_caffemodel(path)
        for layer, fields in weights.unknown_fields.items():
            for number in fields:
                block = next((p.name for p in PARAMS.values() if p.number == number), None)
                if block is not None:
                    weights.fork_param(layer, block).to_dict()
    except caffe2x.Caffe2xError:
        pass


def test_a_block_given_twice_on_one_layer_is_refused_with_its_line():
    with pytest.raises(PrototxtError, match=r"net.prototxt: line 3, column 2: layer 'x' has a second 'a_param'"):
        parse_prototxt_text('layer { name: "x" type: "MyOp"\n a_param { v: 1 }\n a_param { v: 2 } }', "net.prototxt")


def test_a_layer_built_with_a_fork_field_is_read_by_its_number():
    caffe2x.register_param("my_op_param", 1234, MY_OP)
    layer = parse_prototxt_text('layer { name: "x" type: "MyOp" }').layer[0]
    layer.MergeFromString(b"".join(Chunks().field_bytes(1234, _wire_my_op()).parts))
    assert caffe2x.fork_param(layer, "my_op_param").shape.dim == (3, 4)


def test_the_generic_reader_takes_protobufs_text_forms():
    text = ('layer { name: "x" type: "MyOp" my_op_param: < s: "a" \'b\' v: [1, -2.5e-3, inf] m { k: -inf } >\n'
            '  bottom: "in" }')
    layer = parse_prototxt_text(text).layer[0]
    assert fork_blocks(layer)["my_op_param"].value.to_dict() == {"s": "ab", "v": ["1", "-2.5e-3", "inf"],
                                                                 "m": {"k": "-inf"}}
    assert list(layer.bottom) == ["in"]


def test_a_fork_proto_may_name_bvlcs_own_types_without_copying_them(tmp_path):
    """A fork's .proto names BVLC's FillerParameter (its scale_filler) without defining it:
    the reader takes the message, with its defaults and enum, from BVLC's schema."""
    path = tmp_path / "fork.proto"
    path.write_text('syntax = "proto2";\npackage caffe;\n'
                    "message LayerParameter { optional GainParameter gain_param = 4321; }\n"
                    "message GainParameter { optional FillerParameter scale_filler = 1; optional float k = 2; }\n")
    gain = read_proto(path).message("GainParameter")
    filler = gain.fields["scale_filler"].type
    assert filler.name == "FillerParameter" and filler.fields["type"].default == "constant"
    assert filler.fields["variance_norm"].type.values == {"FAN_IN": 0, "FAN_OUT": 1, "AVERAGE": 2}
    bad = tmp_path / "bad.proto"
    bad.write_text(path.read_text().replace("FillerParameter", "NoSuchParameter"))
    with pytest.raises(SchemaError, match="unknown type 'NoSuchParameter'"):
        read_proto(bad)
