"""The nn.Module classes of caffe2x/targets/torch/runtime.py, which generated model.py
files copy, checked directly against the NumPy reference kernels."""

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

torch = pytest.importorskip("torch")
from caffe2x.targets.torch import runtime  # noqa: E402

TOLERANCE = 1e-6


def forward(module, *xs):
    with torch.no_grad():
        out = module(*(torch.from_numpy(x) for x in xs))
    return out.numpy()


@pytest.mark.parametrize("method", ["MAX", "AVE"])
def test_caffe_pool_matches_caffe_windows_and_divisor(method):
    x = rng_array(2, 3, 7, 6)
    want, _ = reference(pooling_layer(method), x)
    module = runtime.CaffePool(method, (3, 3), (2, 2), (2, 2), (7, 6), want.shape[2:])
    assert normalized(forward(module, x), want) < TOLERANCE


@pytest.mark.parametrize("operation, coeffs", [("SUM", None), ("SUM", (0.5, -2.0, 1.0)), ("PROD", None),
                                               ("MAX", None)])
def test_eltwise(operation, coeffs):
    xs = [rng_array(2, 3, 4, seed=s) for s in range(3)]
    coeff_text = "".join(f" coeff: {c}" for c in coeffs or ())
    want, _ = reference('layer { name: "e" type: "Eltwise" bottom: "in0" bottom: "in1" bottom: "in2" top: "out" '
                        f'eltwise_param {{ operation: {operation}{coeff_text} }} }}', *xs)
    assert normalized(forward(runtime.Eltwise(operation, coeffs), *xs), want) < TOLERANCE


@pytest.mark.parametrize("layer, module", [
    (POWER, runtime.Power(2.5, 0.5, 0.25)),
    (EXP, runtime.Exp(float(np.log(2.0)), 0.5, 0.1)),
    (LOG, runtime.Log(float(np.log(10.0)), 2.0, 0.5)),
    (THRESHOLD, runtime.Threshold(0.7)),
    (ABSVAL, runtime.AbsVal()),
])
def test_elementwise(layer, module):
    x = rng_array(2, 3, 4, low=0.1)
    want, _ = reference(layer, x)
    assert normalized(forward(module, x), want) < TOLERANCE


def test_lrn_within_channel():
    x = rng_array(2, 3, 6, 5)
    want, _ = reference('layer { name: "n" type: "LRN" bottom: "in0" top: "out" lrn_param { local_size: 3 '
                        'alpha: 0.5 beta: 0.75 k: 7 norm_region: WITHIN_CHANNEL } }', x)
    assert normalized(forward(runtime.LRNWithinChannel(3, 0.5, 0.75), x), want) < TOLERANCE


@pytest.mark.parametrize("across, variance", [(False, True), (True, True), (False, False)])
def test_mvn(across, variance):
    x = rng_array(2, 3, 4, 5)
    want, _ = reference(mvn_layer(across, variance), x)
    assert normalized(forward(runtime.MVN(variance, across, 0.01), x), want) < TOLERANCE


@pytest.mark.parametrize("operation", ["SUM", "ASUM", "SUMSQ", "MEAN"])
def test_reduction(operation):
    x = rng_array(2, 3, 4)
    want, _ = reference(reduction_layer(operation), x)
    assert normalized(forward(runtime.Reduction(operation, 1, -1.5), x), want) < TOLERANCE


@pytest.mark.parametrize("out_max_val", [False, True])
def test_argmax_over_each_item_with_ties(out_max_val):
    x = np.round(rng_array(2, 3, 4), 0)  # rounded: ties, which go to the larger index
    want, _ = reference('layer { name: "a" type: "ArgMax" bottom: "in0" top: "out" argmax_param { top_k: 3 '
                        f'out_max_val: {str(out_max_val).lower()} }} }}', x)
    assert np.array_equal(forward(runtime.ArgMax(3, out_max_val, None, want.shape), x), want)


def test_scale_with_bias():
    x = rng_array(2, 3, 4, 5)
    want, weights = reference('layer { name: "s" type: "Scale" bottom: "in0" top: "out" scale_param { axis: 1 '
                              'num_axes: 2 bias_term: true } }', x)
    module = runtime.Scale((3, 4), 1, True)
    module.load_state_dict({"weight": torch.from_numpy(weights[0]), "bias": torch.from_numpy(weights[1])})
    assert normalized(forward(module, x), want) < TOLERANCE


def test_crop():
    x, like = rng_array(2, 3, 7, 6), rng_array(2, 3, 4, 3)
    want, _ = reference('layer { name: "c" type: "Crop" bottom: "in0" bottom: "in1" top: "out" crop_param { '
                        'axis: 2 offset: 2 offset: 1 } }', x, like)
    assert np.array_equal(forward(runtime.Crop(2, (2, 1), (4, 3)), x, like), want)
