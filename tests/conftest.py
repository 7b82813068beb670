"""Shared helpers: the golden cases made by the real Caffe, in fixtures/golden."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
GOLDEN = FIXTURES / "golden"
MODELS = FIXTURES / "models"
GOLDEN_CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "manifest.json").exists())


@dataclass
class GoldenCase:
    name: str
    path: Path
    manifest: dict
    blobs: dict[str, np.ndarray]
    # A large blob kept as a sample (mobilenet_ssd's backbone): "LAYER:TOP" -> (flat indices,
    # values), stored as "LAYER:TOP@idx" and "LAYER:TOP@val"; such blobs are not in `blobs`.
    samples: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    @property
    def prototxt(self) -> Path:
        return self.path / "net.prototxt"

    @property
    def caffemodel(self) -> Path:
        return self.path / "net.caffemodel"

    @property
    def inputs(self) -> dict[str, np.ndarray]:
        return {k.removeprefix("input:"): v for k, v in self.blobs.items() if k.startswith("input:")}

    @property
    def input_shapes(self) -> dict[str, tuple[int, ...]]:
        return {k: v.shape for k, v in self.inputs.items()}

    def load(self, weights: Path | None = None):
        import caffe2x

        return caffe2x.load_net(self.prototxt, weights or self.caffemodel, self.input_shapes)


@cache
def golden_case(name: str) -> GoldenCase:
    path = GOLDEN / name
    with np.load(path / "blobs.npz") as data:
        blobs = {key: data[key] for key in data.files if "@" not in key}
        samples = {key[:-4]: (data[key], data[key[:-4] + "@val"]) for key in data.files if key.endswith("@idx")}
    return GoldenCase(name, path, json.loads((path / "manifest.json").read_text()), blobs, samples)


@pytest.fixture(params=GOLDEN_CASES)
def case(request) -> GoldenCase:
    return golden_case(request.param)


def normalized_error(got: np.ndarray, want: np.ndarray) -> float:
    from caffe2x.compare import compare

    return compare(got, want).normalized_max


def random_model(path, batch: int = 1, seed: int = 1):
    """A net with seeded random weights and inputs at `batch`, and its reference blobs."""
    import caffe2x
    from caffe2x.cli import random_inputs
    from caffe2x.reference import as_golden_blobs, run
    from caffe2x.weights import fill_random

    declared = caffe2x.load_net(path)
    shapes = {declared.values[v].top: (batch, *declared.values[v].shape[1:]) for v in declared.inputs}
    graph = fill_random(caffe2x.load_net(path, input_shapes=shapes), seed=seed)
    inputs = random_inputs(graph, seed)
    return graph, inputs, as_golden_blobs(graph, run(graph, inputs))
