"""BVLC's Embed (embed_layer.cpp): rows of the table at the truncated indices, plus the bias.
The real Caffe's blobs (golden case bvlc_embed) are checked on every target by the generic
golden tests; here, the rule by hand and the refusal of indices outside the table."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

import caffe2x
from caffe2x import api
from caffe2x.cli import main
from caffe2x.errors import InputValueError, ShapeError
from caffe2x.frontend.input_values import check_input_values
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


@pytest.mark.parametrize("seed", range(5))
def test_random_inputs_draw_rows_of_the_table(tmp_path, seed):
    """run/verify without --inputs, and the converted folders' example inputs: standard-normal
    indices truncate to -1 (a crash) or all to 0 (one row); drawn, they are rows of the table."""
    _, graph = _graph(tmp_path)
    idx = api.random_inputs(graph, seed)["idx"]
    assert idx.dtype == np.float32 and idx.shape == (2, 3)
    assert np.array_equal(idx, np.trunc(idx)) and idx.min() >= 0 and idx.max() < 4
    run(graph, {"idx": idx})  # the reference accepts them


def test_given_indices_outside_the_table_are_refused_before_anything_runs(tmp_path):
    """Embed's input is data (LayerDef.data_bottoms): run and verify check it before converting
    or executing anything, with the reference's own words."""
    _, graph = _graph(tmp_path)
    check_input_values(graph, {"idx": np.array([[0.0, 1, 2], [3, 3.9, -0.9]], np.float32)})  # truncated: rows
    with pytest.raises(InputValueError, match=r"Embed 'embed': indices must lie in \[0, 4\); the input holds -1 to 3"):
        check_input_values(graph, {"idx": np.array([[0.0, 1, 2], [3, -1.5, 1]], np.float32)})
