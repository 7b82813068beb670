"""Caffe's protobuf messages, built from the descriptor in caffe.desc.

The messages live in a private descriptor pool so that importing caffe2x
never clashes with another copy of caffe.proto (pycaffe, OpenCV, ...)
registered in protobuf's default pool.
"""

from __future__ import annotations

from importlib import resources

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_PACKAGE = "caffe"


def _load_pool() -> descriptor_pool.DescriptorPool:
    raw = resources.files(__package__).joinpath("caffe.desc").read_bytes()
    file_set = descriptor_pb2.FileDescriptorSet.FromString(raw)
    pool = descriptor_pool.DescriptorPool()
    for file_proto in file_set.file:
        pool.Add(file_proto)
    return pool


POOL = _load_pool()


def message_class(name: str):
    """The message class for `caffe.<name>`, e.g. message_class("NetParameter")."""
    return message_factory.GetMessageClass(POOL.FindMessageTypeByName(f"{_PACKAGE}.{name}"))


NetParameter = message_class("NetParameter")
LayerParameter = message_class("LayerParameter")
V1LayerParameter = message_class("V1LayerParameter")
V0LayerParameter = message_class("V0LayerParameter")
BlobProto = message_class("BlobProto")
BlobShape = message_class("BlobShape")
