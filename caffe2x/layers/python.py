"""Caffe's Python layers: `type: "Python"` with `python_param { module layer param_str }`.

A prototxt is untrusted input: caffe2x never imports the module it names and never
evaluates its param_str. A Python layer is a layer type of its own, named
"Python:<module>.<layer>" (python_layer_type), that a plugin teaches caffe2x with
caffe2x.register_python_layer like any other layer; its param_str is read as YAML with
PyYAML's safe loader (what py-faster-rcnn's layers do with yaml.load, minus the
ability to build Python objects), so `!!python/...` tags are an error and an
expression such as `__import__('os')` stays a string.
"""

from __future__ import annotations

import yaml

from ..errors import PrototxtError

PYTHON_TYPE_PREFIX = "Python:"


def python_layer_type(layer) -> str:
    """The type a Python layer is registered under: "Python:<module>.<layer>" ("Python" when
    its python_param names no module or class: nothing could be registered for it)."""
    p = layer.python_param
    return f"{PYTHON_TYPE_PREFIX}{p.module}.{p.layer}" if p.module and p.layer else "Python"


def python_param_str(layer) -> object:
    """The layer's param_str, parsed as YAML by the safe loader (None when empty). py-faster-rcnn
    writes `param_str: "'feat_stride': 16"`, which reads as {'feat_stride': 16}."""
    text = layer.python_param.param_str
    if not text.strip():
        return None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" (line {where.line + 1}, column {where.column + 1} of param_str)" if where is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise PrototxtError(f"layer '{layer.name}' (Python {layer.python_param.module}.{layer.python_param.layer}): "
                            f"its param_str is not plain YAML data{at}: {problem}. caffe2x reads param_str with a "
                            "safe YAML loader and never runs code from a model file.") from None


def python_param_mapping(layer) -> dict:
    """param_str as a mapping of names to values (py-faster-rcnn's layers read it so); {} when empty."""
    value = python_param_str(layer)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PrototxtError(f"layer '{layer.name}' (Python {layer.python_param.module}.{layer.python_param.layer}): "
                            f"param_str must be a mapping such as \"'feat_stride': 16\", not {type(value).__name__} "
                            f"{str(value)[:60]!r}.")
    return value
