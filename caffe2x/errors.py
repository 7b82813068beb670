"""Typed errors. Every error a user can cause derives from Caffe2xError.

The CLI prints `str(error)` (one paragraph) and exits with `exit_code`;
library callers catch the specific class.
"""

from __future__ import annotations


class Caffe2xError(Exception):
    """Base class: bad input or a model caffe2x cannot handle."""

    exit_code = 2


class PrototxtError(Caffe2xError):
    """The text net definition cannot be read (syntax, unknown field, bad enum)."""


class WeightsError(Caffe2xError):
    """The caffemodel is unreadable, or its blobs do not fit the net."""


class GraphError(Caffe2xError):
    """The net's wiring is broken: a bottom never produced, a cycle, a duplicate top."""


class ShapeError(Caffe2xError):
    """A layer's parameters do not fit the shapes of its inputs."""


class InputShapeError(Caffe2xError):
    """A net input has no usable shape, or a --input-shape value is malformed."""


class InputValueError(Caffe2xError):
    """A net input's values are outside what the layer reading them accepts (ROIs outside the
    image, or with x2 < x1); the message names the layer and the input."""


class DynamicShapeError(ShapeError):
    """A net (or a target) cannot keep height and width dynamic (--input-shape ...,?,? or
    --dynamic-hw): a layer whose weights or parameters fix the size, or an emitter that bakes it."""


class LayerVariantError(Caffe2xError):
    """A --layer-variant (API layer_variants, manifest key) naming a type or variant caffe2x does not have."""


class RegistryError(Caffe2xError):
    """A handler registered twice for one layer type, or a bad plugin."""


class PreprocessingError(Caffe2xError):
    """A mean file, label file or preprocessing option that cannot be used as given."""


class VerificationTimeout(Caffe2xError):
    """verify --timeout ran out."""

    exit_code = 124  # as timeout(1) reports it


class SchemaError(Caffe2xError):
    """A fork's .proto schema cannot be read, or declares something caffe2x cannot use."""


class UnsupportedLayerError(Caffe2xError):
    """Layers whose type has no handler; lists all of them, grouped by type, with the
    Caffe fork each type most likely comes from (caffe2x.forks.FORK_ORIGINS)."""

    def __init__(self, by_type: dict[str, list[str]], stage: str = "caffe2x", reasons: dict[str, str] | None = None):
        from .forks import likely_fork

        self.by_type = {t: list(names) for t, names in sorted(by_type.items())}
        self.forks = {t: likely_fork(t) for t in self.by_type if likely_fork(t)}
        self.reasons = dict(reasons or {})  # type -> why the stage cannot express it
        count = sum(len(names) for names in self.by_type.values())
        groups = "; ".join(
            f"{t} ({len(names)}{', from the ' + self.forks[t] if t in self.forks else ''}): "
            f"{', '.join(repr(n) for n in names)}{' (' + self.reasons[t] + ')' if t in self.reasons else ''}"
            for t, names in self.by_type.items()
        )
        fork_hint = (" A fork's layers need a plugin (--plugin) for each type; its parameter blocks "
                     "are read by the fork's schema (--caffe-proto FORK.proto)." if self.forks else "")
        if any(t.startswith("Python:") for t in self.by_type):
            fork_hint += (" A Python layer names code (module.layer) that caffe2x never imports from a model file: "
                          "teach caffe2x its computation with caffe2x.register_python_layer(module, layer, ...).")
        super().__init__(
            f"{count} layer(s) of {len(self.by_type)} unsupported type(s) for {stage}: {groups}. "
            "Register a handler for a custom layer with caffe2x.register_layer "
            f"(see README, 'Adding a layer').{fork_hint}"
        )


def layer_error(cls: type[Caffe2xError], layer: str, layer_type: str, message: str) -> Caffe2xError:
    """An error that names the layer it comes from, in one consistent form (names escaped,
    so the message stays one paragraph whatever a hostile name holds)."""
    from .display import shown

    return cls(f"layer '{shown(layer)}' ({shown(layer_type)}): {shown(message)}")


class MissingExtraError(Caffe2xError):
    """A target's framework is not installed; the message names the pip extra that provides it."""
