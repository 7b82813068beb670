"""Our schema is wire-compatible with BVLC's caffe.proto, and its runtime
descriptor is the one proto/caffe.proto generates."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from google.protobuf import descriptor_pb2

from caffe2x import schema

REFERENCE_PROTO = ROOT.parent / "shared" / "reference" / "caffe.proto"
OUR_EXTENSIONS = {("caffe.PoolingParameter", "ceil_mode")}


def test_committed_descriptor_is_up_to_date():
    pytest.importorskip("grpc_tools")
    result = subprocess.run([sys.executable, "tools/gen_schema.py", "--check"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _fields(file_set: descriptor_pb2.FileDescriptorSet) -> dict:
    fields = {}

    def walk(prefix: str, message) -> None:
        name = f"{prefix}.{message.name}"
        for field in message.field:
            fields[(name, field.name)] = (field.number, field.type, field.label, field.type_name,
                                          field.options.packed)
        for nested in message.nested_type:
            walk(name, nested)

    for file_proto in file_set.file:
        for message in file_proto.message_type:
            walk(file_proto.package, message)
    return fields


def _our_fields() -> dict:
    raw = (Path(schema.__file__).parent / "caffe.desc").read_bytes()
    return _fields(descriptor_pb2.FileDescriptorSet.FromString(raw))


@pytest.mark.skipif(not REFERENCE_PROTO.exists(), reason="BVLC caffe.proto not beside the checkout")
def test_wire_compatible_with_bvlc_caffe_proto():
    pytest.importorskip("grpc_tools")
    sys.path.insert(0, str(ROOT / "tools"))
    from gen_schema import compile_descriptor

    bvlc = _fields(descriptor_pb2.FileDescriptorSet.FromString(compile_descriptor(REFERENCE_PROTO.parent)))
    ours = _our_fields()
    assert {k: v for k, v in ours.items() if k not in OUR_EXTENSIONS} == bvlc


def test_key_field_numbers():
    """A self-contained spot check of the numbers every caffemodel depends on."""
    ours = _our_fields()
    expected = {
        ("caffe.NetParameter", "layer"): 100, ("caffe.NetParameter", "layers"): 2,
        ("caffe.NetParameter", "input_dim"): 4, ("caffe.NetParameter", "input_shape"): 8,
        ("caffe.LayerParameter", "blobs"): 7, ("caffe.V1LayerParameter", "blobs"): 6,
        ("caffe.V1LayerParameter", "type"): 5, ("caffe.V1LayerParameter", "layer"): 1,
        ("caffe.V0LayerParameter", "blobs"): 50, ("caffe.BlobProto", "data"): 5,
        ("caffe.BlobProto", "double_data"): 8, ("caffe.BlobProto", "shape"): 7,
        ("caffe.PoolingParameter", "round_mode"): 13,
    }
    assert {key: ours[key][0] for key in expected} == expected
    assert ours[("caffe.BlobProto", "data")][4] is True  # packed floats


def test_messages_live_in_a_private_pool():
    from google.protobuf import descriptor_pool

    with pytest.raises(KeyError):
        descriptor_pool.Default().FindMessageTypeByName("caffe.NetParameter")
    assert schema.NetParameter.DESCRIPTOR.full_name == "caffe.NetParameter"
