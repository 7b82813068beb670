"""What each target writes, for the output checks (caffe2x/io/outputs.py).

TEMPORARY: this is the one place with this knowledge until the Target registry
(caffe2x/targets) carries it; then replace OUTPUT_FORMS[name] by the Target
object's attributes (output kind, suffixes) and delete this module.
"""

from __future__ import annotations

from .io.outputs import FILE, FOLDER

# target name -> (kind of output, suffixes of its file; none for a folder)
OUTPUT_FORMS: dict[str, tuple[str, tuple[str, ...]]] = {
    "onnx": (FILE, (".onnx",)),
    "pytorch": (FOLDER, ()),
    "tensorflow": (FOLDER, ()),
    "tflite": (FILE, (".tflite",)),
}
