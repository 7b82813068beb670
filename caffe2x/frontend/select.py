"""Choose the layers of the TEST-phase inference net, as Caffe's FilterNet does,
and check every remaining type is supported before anything else happens."""

from __future__ import annotations

from ..errors import PrototxtError, UnsupportedLayerError
from ..layers import LAYERS, TRAINING_ONLY_TYPES
from ..layers.python import python_layer_type
from .inputs import is_input_layer

TEST = 1  # caffe.Phase.TEST


def _meets_rule(rule, level: int, stages: set[str]) -> bool:
    """Caffe's Net::StateMeetsRule for phase TEST."""
    if rule.HasField("phase") and rule.phase != TEST:
        return False
    if rule.HasField("min_level") and level < rule.min_level:
        return False
    if rule.HasField("max_level") and level > rule.max_level:
        return False
    if any(stage not in stages for stage in rule.stage):
        return False
    return not any(stage in stages for stage in rule.not_stage)


def test_phase_layers(net, source: str) -> list:
    """The layers Caffe keeps in the TEST phase, training-only layers removed."""
    level = net.state.level
    stages = set(net.state.stage)
    kept = []
    for layer in net.layer:
        if layer.include and layer.exclude:
            raise PrototxtError(
                f"{source}: layer '{layer.name}' has both include and exclude rules; Caffe refuses this."
            )
        if layer.include:
            included = any(_meets_rule(rule, level, stages) for rule in layer.include)
        else:
            included = not any(_meets_rule(rule, level, stages) for rule in layer.exclude)
        if included and layer.type not in TRAINING_ONLY_TYPES:
            kept.append(_typed_python_layer(layer) if layer.type == "Python" and layer.bottom else layer)
    return kept


def _typed_python_layer(layer):
    """A Python layer (with bottoms: one without is a data layer, a net input) as the type
    its module and class name: "Python:rpn.proposal_layer.ProposalLayer"."""
    typed = type(layer)()
    typed.CopyFrom(layer)
    typed.type = python_layer_type(layer)
    return typed


def check_supported(layers: list, stage: str = "caffe2x") -> None:
    """Raise one UnsupportedLayerError naming every unsupported layer, grouped by type."""
    pairs = [(layer.name, layer.type) for layer in layers if not is_input_layer(layer)]
    missing = LAYERS.missing(pairs)
    if missing:
        raise UnsupportedLayerError(missing, stage)
