"""The mobile forks' depthwise convolutions. ConvolutionDepthwise (sp2823's conv_dw_layer.cpp):
one filter per input channel whatever num_output and group say, its own reading of the
kernel/stride/pad fields. DepthwiseConvolution (yonghenglh6): Convolution itself. Every target
is checked in tests/test_mobile_targets.py."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from one_layer import normalized, reference

import caffe2x
from caffe2x.cli import main
from caffe2x.errors import ShapeError
from caffe2x.io.prototxt import parse_prototxt_text


def fork_forward(x, weight, bias, kernel, stride, pad, dilation):
    """ConvolutionDepthwiseLayer::Forward_cpu as the fork writes it: for each output position,
    the taps that fall inside the bottom, then the bias."""
    num, channels, height, width = x.shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, pad, dilation
    top_h = (height + 2 * ph - (dh * (kh - 1) + 1)) // sh + 1
    top_w = (width + 2 * pw - (dw * (kw - 1) + 1)) // sw + 1
    top = np.zeros((num, channels, top_h, top_w))
    for n in range(num):
        for c in range(channels):
            for h in range(top_h):
                for w in range(top_w):
                    value = 0.0
                    for i in range(kh):
                        for j in range(kw):
                            h_in, w_in = -ph + h * sh + i * dh, -pw + w * sw + j * dw
                            if 0 <= h_in < height and 0 <= w_in < width:
                                value += weight[c, 0, i, j] * x[n, c, h_in, w_in]
                    top[n, c, h, w] = value + (bias[c] if bias is not None else 0.0)
    return top


CASES = [  # convolution_param, (kernel, stride, pad, dilation) as the fork reads them
    ("num_output: 3 group: 2 kernel_size: 3 stride: 2 pad: 1", ((3, 3), (2, 2), (1, 1), (1, 1))),
    ("kernel_h: 3 kernel_w: 2 stride_h: 1 stride_w: 2 pad_h: 1 pad_w: 0 bias_term: false",
     ((3, 2), (1, 2), (1, 0), (1, 1))),
    ("kernel_size: 3 kernel_size: 1 stride: 1 stride: 2 pad: 2 pad: 0 dilation: 2 dilation: 1",
     ((3, 1), (1, 2), (2, 0), (2, 1))),
    # kernel_h alone does not count: the fork takes kernel_size (BVLC's Convolution refuses this)
    ("kernel_size: 2 kernel_h: 5 stride: 1 pad: 0", ((2, 2), (1, 1), (0, 0), (1, 1))),
]


@pytest.mark.parametrize(("block", "geometry"), CASES)
def test_convolution_depthwise_is_the_forks_loop(block, geometry):
    x = np.random.default_rng(1).standard_normal((2, 5, 7, 6)).astype(np.float32)
    layer = f'layer {{ name: "dw" type: "ConvolutionDepthwise" bottom: "in0" top: "out" convolution_param {{ {block} }} }}'
    got, weights = reference(layer, x, seed=2)
    kernel = geometry[0]
    assert weights[0].shape == (5, 1, *kernel)  # one filter per input channel, num_output ignored
    bias = weights[1] if "bias_term: false" not in block else None
    assert len(weights) == (1 if bias is None else 2) and (bias is None or bias.shape == (5,))
    want = fork_forward(x.astype(np.float64), weights[0], bias, *geometry)
    assert got.shape == want.shape and normalized(got, want) < 1e-6


def test_depthwise_convolution_is_convolution_with_its_group():
    x = np.random.default_rng(3).standard_normal((2, 4, 6, 6)).astype(np.float32)
    block = "num_output: 8 group: 4 kernel_size: 3 stride: 2 pad: 1"
    got, weights = reference(f'layer {{ name: "dw" type: "DepthwiseConvolution" bottom: "in0" top: "out" '
                             f"convolution_param {{ {block} }} }}", x, seed=4)
    want, conv_weights = reference(f'layer {{ name: "dw" type: "Convolution" bottom: "in0" top: "out" '
                                   f"convolution_param {{ {block} }} }}", x, seed=4)
    assert [w.shape for w in weights] == [w.shape for w in conv_weights] == [(8, 1, 3, 3), (8,)]
    assert np.array_equal(got, want)


def _net(block: str, layer_type: str = "ConvolutionDepthwise") -> str:
    return ('layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 4 dim: 8 dim: 8 } } }\n'
            f'layer {{ name: "conv2_1/dw" type: "{layer_type}" bottom: "data" top: "dw" '
            f"convolution_param {{ {block} }} }}\n")


@pytest.mark.parametrize(("block", "message"), [
    ("kernel_size: 3 pad: 1", "needs stride"),
    ("kernel_size: 3 stride: 1", "needs pad"),
    ("stride: 1 pad: 1 kernel_h: 3", "needs kernel"),
    ("kernel_size: 3 stride: 0 pad: 1", "must be positive"),
    ("kernel_size: 11 stride: 1 pad: 0", "exceeds the padded input"),
])
def test_what_the_fork_cannot_run_is_a_shape_error_naming_the_layer(block, message):
    with pytest.raises(ShapeError, match=message) as error:
        caffe2x.graph_from_net(parse_prototxt_text(_net(block)))
    assert "conv2_1/dw" in str(error.value)


def test_a_depthwise_convolution_group_that_does_not_divide_the_channels_is_refused():
    with pytest.raises(ShapeError, match="group 3 does not divide the 4 input channels"):
        caffe2x.graph_from_net(parse_prototxt_text(_net("num_output: 3 group: 3 kernel_size: 3",
                                                        "DepthwiseConvolution")))


def test_the_cli_refuses_a_convolution_depthwise_without_stride_and_writes_nothing(tmp_path):
    (tmp_path / "net.prototxt").write_text(_net("num_output: 4 kernel_size: 3 pad: 1"))
    out = tmp_path / "model"
    result = CliRunner().invoke(main, ["convert", str(tmp_path / "net.prototxt"), "--to", "pytorch", "-o", str(out),
                                       "--random-weights"])
    assert result.exit_code == 2, result.output
    assert "conv2_1/dw" in result.output and "needs stride" in result.output and "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.prototxt"]


@pytest.mark.parametrize("layer_type", ["ConvolutionDepthwise", "DepthwiseConvolution"])
def test_a_batchnorm_and_scale_after_a_depthwise_convolution_fold_into_it(layer_type):
    """As after a Convolution (MobileNet's dw -> BatchNorm -> Scale): the default passes leave
    one node, which computes the same top."""
    from caffe2x.passes import run_passes
    from caffe2x.reference import run
    from caffe2x.weights import fill_random

    net = _net("num_output: 4 group: 4 kernel_size: 3 stride: 2 pad: 1 bias_term: false", layer_type) + (
        'layer { name: "bn" type: "BatchNorm" bottom: "dw" top: "dw" }\n'
        'layer { name: "scale" type: "Scale" bottom: "dw" top: "dw" scale_param { bias_term: true } }\n')
    graph = fill_random(caffe2x.graph_from_net(parse_prototxt_text(net)), seed=6)
    folded = run_passes(graph)
    assert [node.type for node in folded.nodes if node.type != "Input"] == [layer_type]
    assert [w.shape for w in folded.nodes[-1].weights] == [(4, 1, 3, 3), (4,)]
    x = {"data": np.random.default_rng(7).standard_normal((1, 4, 8, 8)).astype(np.float32)}
    want, got = run(graph, x)[graph.outputs[0]], run(folded, x)[folded.outputs[0]]
    assert normalized(got, want) < 1e-6
