"""The darknet-port forks' Mish (troyliu0105/caffe caffe_mish): x * tanh(softplus(x)), softplus
with darknet's thresholds at ±20. Every target is checked in tests/test_mobile_targets.py."""

from __future__ import annotations

import math

import numpy as np
from one_layer import reference

from caffe2x.families.mobile.mish import darknet_softplus

X = np.array([-60.0, -25.0, -20.5, -19.5, -3.0, -1.0, 0.0, 1.0, 3.0, 19.5, 20.5, 60.0, 100.0], np.float32)


def test_the_forks_softplus_branches():
    sp = darknet_softplus(X.astype(np.float64))
    assert sp[X > 20].tolist() == X[X > 20].tolist()  # x itself above 20
    assert np.array_equal(sp[X < -20], np.exp(X[X < -20].astype(np.float64)))  # e^x below -20
    middle = (X >= -20) & (X <= 20)
    assert np.array_equal(sp[middle], np.log1p(np.exp(X[middle].astype(np.float64))))


def test_mish_by_hand():
    got, _ = reference('layer { name: "m" type: "Mish" bottom: "in0" top: "out" }', X)
    want = [x * math.tanh(x if x > 20 else (math.exp(x) if x < -20 else math.log1p(math.exp(x)))) for x in X.tolist()]
    assert np.allclose(got, np.float32(want), rtol=1e-7, atol=0)
    assert got[X == 1.0][0] == np.float32(0.8650983882673103)  # 1 * tanh(ln(1 + e))
    assert got[X == 100.0][0] == 100.0 and got[X == 0.0][0] == 0.0
