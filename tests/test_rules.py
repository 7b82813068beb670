"""Caffe's rules (caffe2x/layers/*: one function each) on hand-worked cases, and the
proof that a generated model.py runs the very same code: the runtime classes' source
with the rules they use copied verbatim."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest

from caffe2x.layers import eltwise, normalization, pooling, reduction
from caffe2x.layers.activation import ln_base
from caffe2x.targets.runtime_source import RuntimeSourceError, module_definitions, runtime_source, runtime_sources


def test_ave_pool_divisor_counts_the_pad_but_not_the_ceil_overhang():
    # size 6, kernel 3, stride 2, pad 1, ceil rounding: 4 windows; the last starts at
    # 5 and would end at 8, past the padded input's end 7, so it counts 2 cells.
    out = pooling.pooled_size(6, 3, 2, 1, ceil_mode=True)
    assert out == 4
    assert pooling.ave_pool_window_sizes(6, out, 3, 2, 1) == [3, 3, 3, 2]
    assert pooling.pool_tail_pad(6, out, 3, 2, 1) == 2
    assert pooling.pool_tail_pad(6, 2, 3, 2, 0) == -1  # floor: the last window ends inside


def test_lowest_float32_is_minus_flt_max():
    assert pooling.LOWEST_FLOAT32 == float(-np.finfo(np.float32).max)


@pytest.mark.parametrize("stored, scale", [(0.0, 0.0), (4.0, 0.25), (999.5, 1 / 999.5)])
def test_batch_norm_statistics_divide_by_the_scale_factor_unless_zero(stored, scale):
    mean, var = normalization.batch_norm_statistics([np.array([2.0, -4.0]), np.array([8.0, 1.0]),
                                                     np.array([stored])])
    assert mean.dtype == np.float64
    assert np.array_equal(mean, np.array([2.0, -4.0]) * scale) and np.array_equal(var, np.array([8.0, 1.0]) * scale)


def test_ln_base_minus_one_means_e():
    assert ln_base(-1) == 1.0 and ln_base(math.e) == pytest.approx(1.0) and ln_base(10.0) == math.log(10.0)


def test_lrn_constants():
    assert [normalization.lrn_half_window(s) for s in (1, 3, 5)] == [0, 1, 2]
    assert normalization.lrn_shift(True, 2.5) == 2.5 and normalization.lrn_shift(False, 2.5) == 1.0


def test_array_rules_on_plain_numbers():
    assert eltwise.apply_eltwise("SUM", [1.0, 2.0, 3.0], (1.0, -2.0, 0.5), max) == 1.0 - 4.0 + 1.5
    assert eltwise.apply_eltwise("PROD", [2.0, 3.0], None, max) == 6.0
    assert eltwise.apply_eltwise("MAX", [2.0, 3.0, -1.0], None, max) == 3.0
    assert reduction.apply_reduction("ASUM", -3.0, 2.0, lambda t: t, lambda t: t / 2) == 6.0
    assert reduction.apply_reduction("MEAN", 4.0, 1.0, lambda t: t, lambda t: t / 2) == 2.0
    x = np.array([[1.0, 3.0]])
    y = normalization.apply_mvn(x, True, 0.5, lambda t: t.mean(axis=1, keepdims=True), np.sqrt)
    assert np.allclose(y, [[-1 / 1.5, 1 / 1.5]])  # std 1, eps added outside the root
    assert normalization.mvn_first_axis(True) == 1 and normalization.mvn_first_axis(False) == 2


def test_generated_model_copies_the_rules_verbatim():
    sources = runtime_source("caffe2x.targets.torch.runtime", ["CaffePool", "LRNWithinChannel"])
    for rule in (pooling.ave_pool_window_sizes, pooling.pool_tail_pad, normalization.lrn_half_window):
        assert inspect.getsource(rule).strip() in sources
    # The constants come first, each definition before its first user.
    constants = [line for line in sources[0].splitlines() if not line.startswith("#")]
    assert sorted(constants) == ["LOWEST_FLOAT32 = -3.4028234663852886e38", "LRN_WITHIN_CHANNEL_SHIFT = 1.0"]
    assert "# pooling_layer.cpp, Forward_cpu MAX" in sources[0]  # with the comment that explains it
    names = [s.split("(")[0].split()[-1] for s in sources[1:]]
    assert names.index("ave_pool_window_sizes") < names.index("CaffePool")
    assert names.index("lrn_half_window") < names.index("LRNWithinChannel")


def test_keras_layers_are_copied_with_their_registration():
    source = runtime_source("caffe2x.targets.tensorflow.runtime", ["WeightedSum"])[-1]
    assert source.startswith('@keras.saving.register_keras_serializable(package="caffe2x")\nclass WeightedSum(')


def test_runtime_source_refuses_an_unknown_class():
    with pytest.raises(RuntimeSourceError, match="NoSuchLayer"):
        runtime_source("caffe2x.targets.torch.runtime", ["NoSuchLayer"])


def test_runtime_sources_do_not_depend_on_the_order_of_the_references():
    # The torch generator passes a set: its order changed with PYTHONHASHSEED, and with it the
    # order of the plugin modules' classes in model.py (two runs, two different files).
    references = ["caffe2x.families.bvlc.embed_torch:Embed", "caffe2x.families.bvlc.clip_torch:Clip", "CaffePool"]
    first = runtime_sources(references, "caffe2x.targets.torch.runtime")
    assert runtime_sources(references[::-1], "caffe2x.targets.torch.runtime") == first
    assert first.index(next(s for s in first if "class Clip(" in s)) < \
        first.index(next(s for s in first if "class Embed(" in s))


def test_a_plugin_runtime_class_must_be_importable_and_unique():
    with pytest.raises(RuntimeSourceError, match="no module 'no_such_plugin.runtime'"):
        runtime_sources(["no_such_plugin.runtime:Gain"], "caffe2x.targets.torch.runtime")
    # Two runtime modules defining one name would clash in model.py's one namespace.
    with pytest.raises(RuntimeSourceError, match="share the names"):
        runtime_sources(["Scale", "caffe2x.targets.tensorflow.runtime:Scale"], "caffe2x.targets.torch.runtime")


def test_only_plain_python_rules_are_copied():
    """What a runtime class pulls from caffe2x.layers must run with no import at all."""
    for module in ("caffe2x.targets.torch.runtime", "caffe2x.targets.tensorflow.runtime"):
        classes = [n for n, d in module_definitions(module).items() if d.kind == "class"]
        rules = [s for s in runtime_source(module, classes) if not s.startswith(("class ", "@"))]
        namespace: dict = {"__builtins__": __builtins__}
        exec(compile("\n\n".join(rules), "<rules>", "exec"), namespace)  # our own package's code
        assert namespace["ave_pool_window_sizes"](6, 4, 3, 2, 1) == [3, 3, 3, 2]
        assert namespace["apply_eltwise"]("SUM", [1.0, 2.0], [2.0, 1.0], max) == 4.0
        assert namespace["apply_mvn"](3.0, False, 0.0, lambda t: 1.0, None) == 2.0
