"""SPP (BVLC spp_layer.cpp): Caffe composes it of Pooling, Flatten and Concat layers with
kernels and pads from GetPoolingParam; caffe2x builds those layers, so each target runs
Caffe's own rules. Checked against bins computed by hand, on every target, and for the
maps Caffe refuses."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import FIXTURES

import caffe2x
from caffe2x import api
from caffe2x.cli import main
from caffe2x.errors import ShapeError
from caffe2x.layers.spp import level_pooling
from caffe2x.reference import as_golden_blobs, run
from caffe2x.weights import fill_random

NET = FIXTURES / "nets" / "bvlc" / "spp.prototxt"
SMALL = """
input: "data" input_shape { dim: 1 dim: 1 dim: 5 dim: 5 }
layer { name: "spp" type: "SPP" bottom: "data" top: "spp" spp_param { pyramid_height: 2 pool: %s } }
"""


def test_get_pooling_param_kernel_and_pad():
    # kernel = ceil(size / 2^level); pad = (kernel * 2^level - size + 1) / 2, as integers
    assert level_pooling(0, 13, 11) == ((13, 11), (0, 0))
    assert level_pooling(1, 5, 5) == ((3, 3), (1, 1))
    assert level_pooling(2, 11, 9) == ((3, 3), (1, 2))


@pytest.mark.parametrize("pool", ["MAX", "AVE"])
def test_spp_bins_by_hand(tmp_path, pool):
    path = tmp_path / "net.prototxt"
    path.write_text(SMALL % pool)
    graph = caffe2x.load_net(path)
    x = np.arange(25, dtype=np.float32).reshape(1, 1, 5, 5)
    got = as_golden_blobs(graph, run(graph, {"data": x}))["spp:spp"]
    # level 0: the whole map. Level 1: kernel 3, stride 3, pad 1: rows/cols {0,1} and {2,3,4}.
    # AVE divides by the window clipped to the padded map (pool_size before the clip to the image).
    cells = [(slice(0, 2), slice(0, 2)), (slice(0, 2), slice(2, 5)), (slice(2, 5), slice(0, 2)), (slice(2, 5), slice(2, 5))]
    plane = x[0, 0]
    if pool == "MAX":
        want = [plane.max()] + [plane[r, c].max() for r, c in cells]
    else:
        divisors = [3 * 3, 3 * 3, 3 * 3, 3 * 3]  # windows [-1,2) and [2,5): 3 wide each, inside the padded 7
        want = [plane.mean()] + [plane[r, c].sum() / d for (r, c), d in zip(cells, divisors)]
    assert got.shape == (1, 5) and np.allclose(got[0], want, rtol=1e-6)


def test_spp_on_every_target():
    graph = fill_random(caffe2x.load_net(NET))
    inputs = api.random_inputs(graph, 0)
    blobs = as_golden_blobs(graph, run(graph, inputs))
    assert blobs["spp:spp"].shape == (2, 84) and blobs["spp1:spp1"].shape == (2, 4, 1, 1)
    for target, module in (("onnx", "onnxruntime"), ("pytorch", "torch"), ("tensorflow", "tensorflow"),
                           ("tflite", "tensorflow")):
        pytest.importorskip(module)
        result = api.verify(graph, target, inputs, blobs)
        assert result.passed, (target, result.first_divergence)


def test_a_map_too_small_for_the_pyramid_is_refused_as_caffe_does(tmp_path):
    path = tmp_path / "net.prototxt"
    path.write_text(SMALL.replace("dim: 5 dim: 5", "dim: 1 dim: 5").replace("pyramid_height: 2", "pyramid_height: 3")
                    % "MAX")
    with pytest.raises(ShapeError, match=r"layer 'spp' \(SPP\).*pad .* must be smaller than kernel"):
        caffe2x.load_net(path)
    result = CliRunner().invoke(main, ["convert", str(path), "--random-weights", "--to", "onnx",
                                       "-o", str(tmp_path / "m.onnx")])
    assert result.exit_code == 2 and "Traceback" not in result.output and not (tmp_path / "m.onnx").exists()
