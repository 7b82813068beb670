"""BVLC's Embed (embed_layer.cpp): rows of the table at the truncated indices, plus the bias.
The real Caffe's blobs (golden case bvlc_embed) are checked on every target by the generic
golden tests; here, the rule by hand and the refusal of indices outside the table."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

import caffe2x
from caffe2x.cli import main
from caffe2x.errors import ShapeError
from caffe2x.reference import as_golden_blobs, run

NET = """
input: "idx" input_shape { dim: 2 dim: 3 }
layer { name: "embed" type: "Embed" bottom: "idx" top: "embed" embed_param { input_dim: 4 num_output: 2 } }
"""


def _graph(tmp_path):
    path = tmp_path / "net.prototxt"
    path.write_text(NET)
    graph = caffe2x.load_net(path)
    graph.nodes[-1].weights = [np.arange(8, dtype=np.float32).reshape(4, 2), np.array([0.5, -0.5], np.float32)]
    return path, graph


def test_rows_at_truncated_indices_plus_bias(tmp_path):
    _, graph = _graph(tmp_path)
    assert graph.values["embed"].shape == (2, 3, 2)
    idx = np.array([[0.0, 3.0, 1.9], [2.0, 2.5, 0.99]], np.float32)  # static_cast<int> truncates
    got = as_golden_blobs(graph, run(graph, {"idx": idx}))["embed:embed"]
    table = np.arange(8).reshape(4, 2)
    assert np.array_equal(got, table[[[0, 3, 1], [2, 2, 0]]] + np.array([0.5, -0.5]))


def test_an_index_outside_the_table_is_refused(tmp_path):
    path, graph = _graph(tmp_path)
    with pytest.raises(ShapeError, match=r"indices must lie in \[0, 4\).*-1 to 4"):
        run(graph, {"idx": np.array([[-1.0, 0, 1], [2, 3, 4]], np.float32)})
    np.savez(tmp_path / "in.npz", idx=np.array([[0.0, 1, 2], [3, 4, 5]], np.float32))
    result = CliRunner().invoke(main, ["run", str(path), "--random-weights", "--inputs", str(tmp_path / "in.npz")])
    assert result.exit_code == 2 and "indices must lie in [0, 4)" in result.output and "Traceback" not in result.output
