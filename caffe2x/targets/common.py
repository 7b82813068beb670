"""Checks every target runs before it emits anything."""

from __future__ import annotations

import re

import numpy as np

from ..errors import Caffe2xError, UnsupportedLayerError, WeightsError
from ..frontend.input_values import random_inputs
from ..ir.graph import Graph, Node
from ..naming import sanitize


def check_convertible(graph: Graph, family: str, target: str) -> None:
    """Every layer has an emitter of the family (else one error listing them all, with the
    recorded reasons), every weighted layer weights."""
    from .emitters import missing_emitters, reasons

    missing = missing_emitters(family, [(n.name, n.type) for n in graph.nodes])
    if missing:
        raise UnsupportedLayerError(missing, f"the {target} target", reasons(family, missing))
    unweighted = [n.name for n in graph.nodes if n.weight_shapes and not n.weights]
    if unweighted:
        raise WeightsError(f"no weights for {', '.join(map(repr, unweighted))}: give a caffemodel (-w).")


def inexpressible(node: Node, target: str, why: str) -> Caffe2xError:
    from ..display import shown

    return Caffe2xError(f"layer '{shown(node.name)}' ({node.type}) cannot be expressed in {target}: {why}.")


def float_literal(value: float) -> str:
    """A float32 Caffe parameter as the shortest Python literal that round-trips in float32."""
    return repr(float(str(np.float32(value))))


def pair_literal(values) -> str:
    """(3, 3) -> "3", (5, 3) -> "(5, 3)": how people write square kernel sizes."""
    a, b = values
    return str(a) if a == b else f"({a}, {b})"


def claim_variable(graph: Graph, value: str, index: int, variables, holder: dict[str, str],
                   last_use: dict[str, int]) -> str:
    """The source variable for an IR value: named after its Caffe top, so an in-place layer
    reassigns it as a person would write, unless the value it holds is still read later."""
    top = graph.values[value].top
    name = variables(("top", top), top)
    previous = holder.get(name)
    if previous is not None and last_use.get(previous, -1) > index:
        name = variables(("value", value), top)
    holder[name] = value
    return name


def camel_class_name(net_name: str, taken) -> str:
    """A class name for generated code: the net's name in CamelCase ("CaffeNet" if it has
    none), with "Net" appended when the generated file already defines that name."""
    name = "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", net_name) if part)
    name = sanitize(name) if name else "CaffeNet"
    return name + "Net" if name in taken else name


def block_of(layer: str) -> str | None:
    """The block a layer belongs to, for comments in generated code: inception_3a/1x1 ->
    inception_3a, res2a_branch2b / bn2a_branch2b / scale2a_branch2b -> res2a."""
    match = re.match(r"^(?:res|bn|scale)(\d+[a-z])(?:_|$)", layer)
    if match:
        return f"res{match.group(1)}"
    if "/" in layer:
        return layer.split("/")[0]
    return None


class GeneratedLayers:
    """Mixin of a generated model (TorchModel, KerasModel): every non-Input node of `graph`
    became one named layer, `names()` lists those names in node order."""

    graph: Graph

    def names(self) -> list[str]:
        raise NotImplementedError

    @property
    def layer_nodes(self) -> list[Node]:
        """The nodes that are generated layers, parallel to names()."""
        return [n for n in self.graph.nodes if n.type != "Input"]

    @property
    def caffe_layers(self) -> dict[str, str]:
        """Generated layer -> Caffe layer name (CAFFE_LAYERS of model.py); several generated
        layers may name one Caffe layer name, as Caffe allows."""
        return {name: node.name for name, node in zip(self.names(), self.layer_nodes)}


def metadata_notes(graph: Graph) -> list[str]:
    """The preprocessing and labels a converted model carries (graph.metadata), in words, for
    the docstrings of the generated model.py files; [] when it carries none."""
    from ..frontend.preprocess import Preprocessing, describe

    notes = []
    spec = graph.metadata.get("preprocessing")
    if spec:
        steps = describe(Preprocessing.from_dict(spec), spec.get("mean_image_shape"))
        if spec.get("embedded"):
            notes.append("Preprocessing is part of the model: give it the images as held. Its steps:")
        else:
            notes += ["Preprocessing, not in the model: apply it first (caffe2x.json holds it, and",
                      "'preprocessing_snippet', NumPy code that applies it):"]
        notes += [f"  - {step}" for step in steps or ["none (the input is used as given)"]]
    labels = graph.metadata.get("labels")
    if labels:
        # The first few names, each to its first comma (synset lines list synonyms).
        shown = ", ".join(repr(label.split(",")[0]) for label in labels[:3]) + (", ..." if len(labels) > 3 else "")
        notes.append(f"Labels: {len(labels)} class names in caffe2x.json ('labels'): {shown}")
    return notes


def docstring_notes(graph: Graph) -> str:
    """metadata_notes as a docstring paragraph: a blank line, then one line each; '' if none."""
    notes = metadata_notes(graph)
    return "".join(f"{line}\n" for line in ["", *notes]) if notes else ""


# The PyTorch and TensorFlow folders' example inputs: model.py runs on them as a script.
EXAMPLE_INPUTS_SEED = 0  # run's and verify's default --seed: the inputs they draw without --inputs


def example_inputs(graph: Graph) -> dict[str, np.ndarray]:
    """Inputs valid for the net, keyed by Caffe input name, Caffe's shapes: drawn as run and verify
    draw random inputs (Embed indices inside the table, LSTM/RNN cont flags, ROIs inside the image,
    a Proposal's im_info), where standard-normal values would crash a layer or mean nothing."""
    return random_inputs(graph, EXAMPLE_INPUTS_SEED)
