"""caffe2x's metadata in a .tflite file, and reading it back.

TFLite's flatbuffer has a `metadata` table for named byte buffers (each entry a name and
the index of a Buffer). A converted model gets two entries, so that the .tflite alone
carries what the ONNX file's metadata_props and caffe2x.json hold:

- "caffe2x": one UTF-8 JSON object: "producer" and "version" (caffe2x's), then the graph's
  metadata ("preprocessing", "preprocessing_snippet", "labels"), the same keys and values
  as caffe2x.json's and ONNX's `caffe2x.*` properties;
- "labels" (when the model has class names): UTF-8, one name per line, the label-file
  layout of a TFLite label file (a plain named buffer, not a TFLite Support associated file).

A model over 2 GB (its weights stored past the flatbuffer) is written without them, as
TensorFlow leaves out its own conversion metadata there. The tensors, operators and
signatures are untouched: the interpreter runs the same numbers. The rewrite goes through
TensorFlow's own flatbuffer schema (the object API that the converter itself uses for its
buffer deduplication and conversion metadata).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ...errors import Caffe2xError

ENTRY = "caffe2x"
LABELS_ENTRY = "labels"
# The converter's mark of a model over 2 GB whose weights follow the flatbuffer at offsets;
# TensorFlow then skips its own metadata (lite.py, _check_model_use_buffer_offset), and so do we.
BUFFER_LOCATION = "buffer_location"
_IDENTIFIER = b"TFL3"  # the TFLite flatbuffer's file identifier, bytes 4..8


def metadata_document(graph) -> dict:
    """What the "caffe2x" entry holds (a JSON object)."""
    from ...version import __version__

    return {"producer": "caffe2x", "version": __version__, **graph.metadata}


def add_metadata(content: bytes, graph) -> bytes | memoryview:
    """The flatbuffer `content` with caffe2x's entries added (replacing any of the same names),
    as bytes or a memoryview of them (what a file's write takes)."""
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(content)  # read-only views of the weights
    if any(_name(m.name) == BUFFER_LOCATION for m in model.metadata or []):
        return content  # over 2 GB: the weights lie past the flatbuffer, which cannot be rebuilt in one piece
    entries = {ENTRY: json.dumps(metadata_document(graph)).encode()}
    labels = graph.metadata.get("labels")
    if labels:
        entries[LABELS_ENTRY] = "".join(f"{label}\n" for label in labels).encode()
    kept = [m for m in model.metadata or [] if _name(m.name) not in entries]
    for name, data in entries.items():
        buffer = schema.BufferT()
        buffer.data = np.frombuffer(data, np.uint8)
        model.buffers.append(buffer)
        entry = schema.MetadataT()
        entry.name, entry.buffer = name, len(model.buffers) - 1
        kept.append(entry)
    model.metadata = kept
    return _pack(model, len(content) + sum(len(data) for data in entries.values()))


def _pack(model, size: int) -> memoryview:
    """flatbuffer_utils.convert_object_to_bytearray without its copies of the weights: the
    builder sized for the model at once (grown from 1 kB it doubles some twenty times), and
    the result a view of the builder's bytes (its Output() and bytes() copy them twice)."""
    import flatbuffers

    builder = flatbuffers.Builder(size + 65536)  # + the tables' and vectors' headers
    builder.Finish(model.Pack(builder), file_identifier=_IDENTIFIER)
    return memoryview(builder.Bytes)[builder.Head():]


def _name(name) -> str:
    return name.decode() if isinstance(name, bytes) else name


def read_metadata(path: str | os.PathLike) -> dict:
    """The caffe2x metadata of a converted .tflite file: the "caffe2x" entry's JSON object
    (preprocessing, labels, ...); {} when the file carries none (not converted by caffe2x,
    or by an older caffe2x). Not a TFLite file: Caffe2xError naming it."""
    from tensorflow.lite.python import schema_py_generated as schema

    content = _read(path)
    model = schema.Model.GetRootAs(content, 0)
    for i in range(model.MetadataLength()):
        entry = model.Metadata(i)
        if _name(entry.Name()) == ENTRY:
            data = model.Buffers(entry.Buffer()).DataAsNumpy()
            return json.loads(bytes(data).decode())
    return {}


def _read(path) -> bytearray:
    try:
        content = bytearray(Path(path).read_bytes())
    except OSError as error:
        raise Caffe2xError(f"cannot read the TFLite file '{path}': {error.strerror or error}.") from None
    if len(content) < 8 or content[4:8] != _IDENTIFIER:
        raise Caffe2xError(f"'{path}' is not a TFLite model (no 'TFL3' flatbuffer identifier).")
    return content
