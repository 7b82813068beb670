"""Graph -> readable, standalone PyTorch source (model.py) and its state dict.

Every Caffe layer is one module attribute named after it, so forward hooks
see every Caffe top. Forward variables are named after the Caffe tops: an
in-place layer reassigns its variable, as a person would write it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ...errors import Caffe2xError
from ...ir.graph import Graph, Node
from ...naming import Namer
from ...passes import TRAINABLE_PASSES, Pass, run_passes
from ..common import (
    GeneratedLayers,
    block_of,
    camel_class_name,
    check_convertible,
    claim_variable,
    docstring_notes,
    inexpressible,
)
from ..dynamic import check_dynamic
from ..runtime_source import referenced_classes, runtime_classes, runtime_sources
from .base import TORCH_EMITTERS, TorchLayer

RUNTIME = "caffe2x.targets.torch.runtime"  # the classes model.py copies
EXAMPLE_INPUTS = "example_inputs.pt"  # beside model.py: {Caffe input name: tensor}, what `python model.py` runs on

RESERVED_VARIABLES = {"self", "torch", "nn", "F"}
# Attribute names nn.Module itself uses (forward, training, state_dict, ...).
_MODULE_ATTRIBUTES = frozenset({
    "forward", "training", "train", "eval", "to", "cuda", "cpu", "type", "float", "double", "half",
    "state_dict", "load_state_dict", "parameters", "named_parameters", "buffers", "named_buffers",
    "children", "named_children", "modules", "named_modules", "apply", "register_buffer",
    "register_parameter", "add_module", "register_module", "get_submodule", "zero_grad", "requires_grad_",
    "extra_repr", "call_super_init", "dump_patches", "bfloat16", "ipu", "xpu", "mtia", "share_memory",
    "get_parameter", "get_buffer", "set_submodule", "compile", "T_destination",
})


@dataclass
class TorchModel(GeneratedLayers):
    source: str
    class_name: str
    state: dict[str, np.ndarray]
    graph: Graph  # after the passes, as emitted
    attributes: list[str]  # module attribute of each layer (non-Input node of graph), in order
    input_names: list[str]  # forward parameters, in Caffe input order
    layers: dict[str, TorchLayer] = field(default_factory=dict)  # module attribute -> its emitted layer
    # Why model.pt2 has the nominal height and width though the graph leaves them open; None otherwise.
    fixed_size_reason: str | None = None


    def names(self) -> list[str]:
        return self.attributes


# Layer types whose PyTorch module returns a view of (or the very tensor of) its first input.
_VIEW_TYPES = frozenset({"Flatten", "Reshape", "Slice", "Crop", "Split", "Dropout"})
# The types caffe2x itself emits (runtime.py and torch.nn modules): known to return a view only
# when listed above. Taken at import, before any plugin registers.
_BUILT_IN_TYPES = frozenset(TORCH_EMITTERS)


class TorchContext:
    """What a PyTorch emitter may ask about the net being converted (public: plugins get it).

    An emitter is `emit(node, ctx) -> TorchLayer`: `node` is the IR node (node.params its
    parsed parameters, node.weights its blobs as NumPy arrays in Caffe's order, node.inputs
    and node.outputs its IR values); the TorchLayer holds the constructor source, the state
    dict entries and the runtime classes ("Name" of caffe2x's own, "module:Name" of a plugin's).
    """

    def __init__(self, graph: Graph, varying: set[str] = frozenset()):
        self.graph = graph
        # Values whose height or width follow a dynamic input's (targets.dynamic.check_dynamic):
        # an emitter that would bake their size reads it at run time instead.
        self.varying = set(varying)
        nodes = [n for n in graph.nodes if n.type != "Input"]
        self._index = {id(n): i for i, n in enumerate(nodes)}  # by identity: names may repeat
        self._last_use = {v: i for i, n in enumerate(nodes) for v in n.inputs}
        self._producer = {v: n for n in nodes for v in n.outputs}

    def may_overwrite_input(self, node: Node) -> bool:
        """True when a Caffe in-place layer's input has no later reader (nor is a net output
        or input), so the module may write its result into it, as hand-written code does.
        The tensor may be a view of others (Flatten, Reshape, Slice, Crop return views;
        Dropout in eval returns its input): then every value it views must be free too."""
        if node.tops[:1] != node.bottoms[:1]:
            return False
        index = self._index[id(node)]
        value = node.inputs[0]
        while True:
            if self._last_use.get(value, -1) > index:  # read again later
                return False
            if value in self.graph.outputs or value in self.graph.inputs:
                return False
            producer = self._producer.get(value)
            if producer is None or producer.type not in _VIEW_TYPES:
                # A plugin's layer may return a view of its input: only built-in types are known fresh.
                return producer is not None and producer.type in _BUILT_IN_TYPES
            value = producer.inputs[0]

    def shape(self, value: str) -> tuple[int, ...]:
        """The NCHW shape of an IR value (node.inputs[i] or node.outputs[i]), by Caffe's rules."""
        return self.graph.values[value].shape

    def unsupported(self, node: Node, why: str) -> Caffe2xError:
        """The error to raise for a configuration PyTorch cannot express: it names the layer."""
        return inexpressible(node, "PyTorch", why)


def class_name_for(net_name: str) -> str:
    """The nn.Module class name: the net's name in CamelCase, never a name model.py defines."""
    return camel_class_name(net_name, runtime_classes(RUNTIME) | RESERVED_VARIABLES | {"CAFFE_LAYERS"})


def generate(graph: Graph, passes: list[Pass] | None = None) -> TorchModel:
    varying = check_dynamic(graph, "pytorch", "pytorch")  # before the passes: Caffe's layers and shapes
    graph = run_passes(graph, TRAINABLE_PASSES if passes is None else passes)
    check_convertible(graph, "pytorch", "PyTorch")
    context = TorchContext(graph, varying)
    nodes = [n for n in graph.nodes if n.type != "Input"]
    attributes = layer_attributes(nodes)
    layers = {attr: TORCH_EMITTERS.get(n.type)(n, context) for attr, n in zip(attributes, nodes)}
    class_name = class_name_for(graph.name)
    references = {h for layer in layers.values() for h in layer.helpers}
    helpers = runtime_sources(references, RUNTIME)
    # Copied functions and constants need no reservation: forward's locals cannot shadow them for their users.
    variables = Namer(RESERVED_VARIABLES | runtime_classes(RUNTIME) | referenced_classes(references, RUNTIME)
                      | {class_name})
    inputs = [variables(("value", v), graph.values[v].top) for v in graph.inputs]
    forward = _forward_lines(graph, nodes, layers, attributes, variables)
    state = {f"{attr}.{key}": np.asarray(array) for attr in attributes
             for key, array in layers[attr].state.items()}
    source = _module_source(graph, class_name, helpers, nodes, layers, attributes, inputs, forward)
    return TorchModel(source, class_name, state, graph, attributes, inputs, layers)


def layer_attributes(nodes: list[Node]) -> list[str]:
    """One module attribute per layer, named after its Caffe layer. Caffe allows several
    layers with one name (HED has five "crop"s): each still gets its own attribute, the
    later ones "crop_2", "crop_3", ... in net order, so none overwrites another."""
    namer = Namer(_MODULE_ATTRIBUTES)
    return [namer(index, node.name) for index, node in enumerate(nodes)]


def _forward_lines(graph: Graph, nodes: list[Node], layers, attributes: list[str], variables: Namer) -> list[str]:
    last_use = {v: i for i, node in enumerate(nodes) for v in node.inputs}
    var_of = {v: variables(("value", v)) for v in graph.inputs}
    holder: dict[str, str] = {}  # variable -> the value it holds now
    for v in graph.inputs:
        holder[var_of[v]] = v
    kept = set(graph.outputs) | set(graph.inputs)  # never deleted: returned, or the caller's
    lines, block = [], None
    for index, node in enumerate(nodes):
        new_block = block_of(node.name)
        if new_block != block and new_block and re.fullmatch(r"[A-Za-z0-9_\-]+", new_block):
            lines.append("")
            lines.append(f"# {new_block}")
        block = new_block
        args = [var_of[v] for v in node.inputs]
        targets = [claim_variable(graph, value, index, variables, holder, last_use) for value in node.outputs]
        var_of.update(zip(node.outputs, targets))
        attr = attributes[index]
        call = layers[attr].call.format(*args, self=f"self.{attr}", args=", ".join(args))
        lines.append(f"{', '.join(targets)} = {call}")
        dead = _dead_after(node, index, last_use, kept, var_of, holder)
        if dead:
            lines.append(f"del {', '.join(dead)}")
    results = [var_of[v] for v in graph.outputs]
    lines.append("return " + (results[0] if len(results) == 1 else "(" + ", ".join(results) + ")"))
    return lines


def _dead_after(node: Node, index: int, last_use: dict[str, int], kept: set[str], var_of: dict[str, str],
                holder: dict[str, str]) -> list[str]:
    """Variables whose activation nothing reads after this node: deleted at once, as
    torch.fx does, so memory is freed as a hand-written `x = f(x)` chain frees it
    (keeping every activation of ResNet-50 alive at batch 16 costs gigabytes and
    made the module 1.5x slower than hand-written code, all of it in page faults)."""
    candidates = [v for v in dict.fromkeys(node.inputs) if last_use.get(v) == index]
    candidates += [v for v in node.outputs if v not in last_use]  # tops nothing reads
    dead = []
    for value in candidates:
        name = var_of[value]
        if value not in kept and holder.get(name) == value:
            dead.append(name)
            del holder[name]
    return dead


def _module_source(graph, class_name, helpers, nodes, layers, attributes, inputs, forward) -> str:
    uses_functional = any("F." in source for source in helpers)
    mapping = "\n".join(f"    {attr!r}: {n.name!r}," for attr, n in zip(attributes, nodes))
    init = "\n".join(f"        self.{attr} = {layers[attr].module}" for attr in attributes)
    body = "\n".join(f"        {line}" if line else "" for line in forward)
    parts = [
        f'"""PyTorch model of the Caffe net {graph.name!r}, generated by caffe2x.\n\n'
        "Standalone: needs only torch. Load the weights with\n"
        f"    model = {class_name}()\n"
        '    model.load_state_dict(torch.load("model.pt", weights_only=True))\n'
        "    model.eval()  # already so when built; needed again after model.train()\n"
        "A new model is in eval mode, which reproduces Caffe; model.train() trains it.\n"
        + docstring_notes(graph) +
        '"""\n',
        "import torch\n" + ("import torch.nn.functional as F\n" if uses_functional else "") + "from torch import nn\n",
        "# Module attribute -> Caffe layer name.\nCAFFE_LAYERS = {\n" + mapping + "\n}\n",
        *[source + "\n" for source in helpers],
        f"class {class_name}(nn.Module):\n"
        f'    """Caffe net {graph.name!r}: inputs {", ".join(inputs)}."""\n\n'
        "    def __init__(self):\n        super().__init__()\n" + init + "\n" + _EVAL_BY_DEFAULT + "\n"
        f"    def forward(self, {', '.join(inputs)}):\n" + body + "\n",
        _main_block(graph, class_name, inputs),
    ]
    # One blank line after the imports (before a statement), two around classes.
    return "\n".join([parts[0], parts[1], parts[2]]) + "\n\n" + "\n\n".join(
        part.rstrip("\n") + "\n" for part in parts[3:])


# A module is built in training mode: Dropout would drop and BatchNorm would use and
# overwrite batch statistics, far from Caffe, for anyone loading the weights as the
# docstring shows. Inference is what a converted Caffe net is for, so it is the default.
_EVAL_BY_DEFAULT = (
    "        # Inference mode, as Caffe runs a deploy net: Dropout off, BatchNorm using\n"
    "        # its running statistics. Call model.train() to train it.\n"
    "        self.eval()\n"
)


def _main_block(graph, class_name, inputs) -> str:
    """`python model.py`: the model on the folder's example inputs (drawn valid by caffe2x: Embed
    indices, cont flags, ROIs), keyed by Caffe input name; random ones where the file is missing."""
    tops = [graph.values[v].top for v in graph.inputs]
    drawn = ", ".join(f"{top!r}: torch.randn({list(graph.values[v].shape)})" for top, v in zip(tops, graph.inputs))
    arguments = ", ".join(f"inputs[{top!r}]" for top in tops)
    return (
        'if __name__ == "__main__":\n'
        "    from pathlib import Path\n\n"
        f"    model = {class_name}().eval()\n"
        '    weights = Path(__file__).with_name("model.pt")\n'
        "    if weights.exists():\n"
        "        model.load_state_dict(torch.load(weights, weights_only=True))\n"
        "    # Inputs the net accepts, drawn by caffe2x (Embed indices, LSTM cont flags, ROIs, ...).\n"
        f'    examples = Path(__file__).with_name("{EXAMPLE_INPUTS}")\n'
        "    if examples.exists():\n"
        "        inputs = torch.load(examples, weights_only=True)\n"
        "    else:\n"
        f"        inputs = {{{drawn}}}\n"
        "    with torch.no_grad():\n"
        f"        outputs = model({arguments})\n"
        "    for output in outputs if isinstance(outputs, tuple) else (outputs,):\n"
        "        print(tuple(output.shape))\n"
    )
