"""The Keras layers of caffe2x/targets/tensorflow/runtime.py, which generated model.py
files copy, checked directly against the NumPy reference kernels (4-D tensors NHWC)."""

from __future__ import annotations

import numpy as np
import pytest
from one_layer import (
    ABSVAL,
    EXP,
    LOG,
    POWER,
    THRESHOLD,
    mvn_layer,
    normalized,
    pooling_layer,
    reduction_layer,
    reference,
    rng_array,
)

tf = pytest.importorskip("tensorflow")
from caffe2x.layers.pooling import pool_tail_pad  # noqa: E402
from caffe2x.targets.tensorflow import runtime  # noqa: E402

TOLERANCE = 1e-6


def nhwc(x: np.ndarray) -> np.ndarray:
    return x.transpose(0, 2, 3, 1)


def nchw(x) -> np.ndarray:
    return np.asarray(x).transpose(0, 3, 1, 2)


@pytest.mark.parametrize("method", ["MAX", "AVE"])
def test_caffe_pooling_matches_caffe_windows_and_divisor(method):
    x = rng_array(2, 3, 7, 6)
    want, _ = reference(pooling_layer(method), x)
    out_hw = want.shape[2:]
    pads = [(2, max(0, pool_tail_pad(size, out, 3, 2, 2))) for size, out in zip((7, 6), out_hw)]
    layer = runtime.CaffePooling2D(method, (3, 3), (2, 2), pads, (7, 6), out_hw)
    assert normalized(nchw(layer(nhwc(x))), want) < TOLERANCE


@pytest.mark.parametrize("region", ["ACROSS_CHANNELS", "WITHIN_CHANNEL"])
def test_lrn(region):
    x = rng_array(2, 5, 6, 5)
    want, _ = reference('layer { name: "n" type: "LRN" bottom: "in0" top: "out" lrn_param { local_size: 3 '
                        f'alpha: 0.5 beta: 0.75 k: 2 norm_region: {region} }} }}', x)
    layer = runtime.LRN(3, 0.5, 0.75, 2.0) if region == "ACROSS_CHANNELS" else runtime.LRNWithinChannel(3, 0.5, 0.75)
    assert normalized(nchw(layer(nhwc(x))), want) < 1e-5  # TF's LRN kernel computes in float32 steps


def test_weighted_sum():
    xs = [rng_array(2, 3, 4, seed=s) for s in range(3)]
    want, _ = reference('layer { name: "e" type: "Eltwise" bottom: "in0" bottom: "in1" bottom: "in2" top: "out" '
                        'eltwise_param { operation: SUM coeff: 0.5 coeff: -2 coeff: 1 } }', *xs)
    assert normalized(runtime.WeightedSum([0.5, -2.0, 1.0])(xs), want) < TOLERANCE


@pytest.mark.parametrize("across, variance", [(False, True), (True, True), (False, False)])
def test_mvn(across, variance):
    x = rng_array(2, 3, 4, 5)
    want, _ = reference(mvn_layer(across, variance), x)
    layer = runtime.MVN(variance, [1, 2, 3] if across else [1, 2], 0.01)
    assert normalized(nchw(layer(nhwc(x))), want) < 1e-5


@pytest.mark.parametrize("operation", ["SUM", "ASUM", "SUMSQ", "MEAN"])
def test_reduction(operation):
    x = rng_array(2, 3, 4)
    want, _ = reference(reduction_layer(operation), x)
    assert normalized(runtime.Reduction(operation, [1, 2], -1.5)(x), want) < TOLERANCE


@pytest.mark.parametrize("layer, function, a, scale, shift", [
    (POWER, "power", 2.5, 0.5, 0.25),
    (EXP, "exp", float(np.log(2.0)), 0.5, 0.1),
    (LOG, "log", float(np.log(10.0)), 2.0, 0.5),
    (THRESHOLD, "threshold", 0.7, 1.0, 0.0),
    (ABSVAL, "abs", 1.0, 1.0, 0.0),
])
def test_elementwise(layer, function, a, scale, shift):
    x = rng_array(2, 3, 4, low=0.1)
    want, _ = reference(layer, x)
    assert normalized(runtime.Elementwise(function, a, scale, shift)(x), want) < 1e-5


def test_argmax_along_an_axis_with_ties():
    x = np.round(rng_array(2, 5, 4), 0)
    want, _ = reference('layer { name: "a" type: "ArgMax" bottom: "in0" top: "out" argmax_param { top_k: 2 '
                        'axis: 1 } }', x)
    assert np.array_equal(runtime.ArgMax(2, False, 1)(x), want)


def test_scale_layer_round_trips_through_its_config():
    layer = runtime.Scale((1, 1, 3), use_bias=True, name="s")
    clone = runtime.Scale.from_config(layer.get_config())
    assert (clone.shape, clone.use_scale, clone.use_bias, clone.name) == ((1, 1, 3), True, True, "s")
