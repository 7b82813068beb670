"""Shared helpers of the segmentation family's tests: small nets written inline, random
weights and integer-valued inputs (so that pooling windows have ties), reference blobs."""

from __future__ import annotations

import numpy as np
from click.testing import CliRunner

import caffe2x
from caffe2x.cli import main
from caffe2x.io.prototxt import parse_prototxt_text
from caffe2x.reference import as_golden_blobs, run
from caffe2x.weights import fill_random


def input_layer(name: str, shape) -> str:
    dims = " ".join(f"dim: {d}" for d in shape)
    return f'layer {{ name: "{name}" type: "Input" top: "{name}" input_param {{ shape {{ {dims} }} }} }}'


def graph_of(text: str, seed: int = 3):
    return fill_random(caffe2x.graph_from_net(parse_prototxt_text(text)), seed=seed)


def integer_inputs(graph, seed: int = 0, spread: float = 2.0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {graph.values[v].top: np.round(rng.standard_normal(graph.values[v].shape) * spread).astype(np.float32)
            for v in graph.inputs}


def case(text: str, seed: int = 3):
    """(graph, inputs, reference blobs) of an inline net."""
    graph = graph_of(text, seed)
    inputs = integer_inputs(graph)
    return graph, inputs, as_golden_blobs(graph, run(graph, inputs))


def cli(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


def refused_by_cli(tmp_path, text: str, message: str) -> None:
    """convert exits 2 with one error naming the problem, and writes nothing."""
    net = tmp_path / "net.prototxt"
    net.write_text(text)
    out = tmp_path / "out.onnx"
    result = cli("convert", net, "--to", "onnx", "-o", out, "--random-weights")
    assert result.exit_code == 2, result.output
    assert message in result.output, result.output
    assert result.output.count("caffe2x: error (") == 1
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["net.prototxt"]
