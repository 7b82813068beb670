"""Random valid Caffe nets for property tests: each layer is drawn from the
supported types with random parameters, wired to random earlier blobs, and
kept only if Caffe's shape rules accept it."""

from __future__ import annotations

from hypothesis import strategies as st

from caffe2x.errors import Caffe2xError
from caffe2x.io.prototxt import parse_prototxt_text

NAME_CHARS = "ab_/-.: 1é"


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _spatial(draw, kind: str) -> str:
    if kind == "Convolution":
        kernel = draw(st.integers(1, 3))
        group = draw(st.sampled_from([1, 2]))
        return (f"convolution_param {{ num_output: {draw(st.integers(1, 3)) * group} kernel_size: {kernel} "
                f"stride: {draw(st.integers(1, 2))} pad: {draw(st.integers(0, 1))} group: {group} "
                f"dilation: {draw(st.integers(1, 2))} bias_term: {str(draw(st.booleans())).lower()} }}")
    if kind == "Deconvolution":
        return (f"convolution_param {{ num_output: {draw(st.integers(1, 4))} kernel_size: {draw(st.integers(1, 3))} "
                f"stride: {draw(st.integers(1, 2))} }}")
    if draw(st.booleans()) and draw(st.booleans()):
        return f"pooling_param {{ pool: {draw(st.sampled_from(['MAX', 'AVE']))} global_pooling: true }}"
    kernel = draw(st.integers(2, 3))
    return (f"pooling_param {{ pool: {draw(st.sampled_from(['MAX', 'AVE']))} kernel_size: {kernel} "
            f"stride: {draw(st.integers(1, 2))} pad: {draw(st.integers(0, kernel - 1))} }}")


def _params(draw, kind: str) -> str:
    if kind in ("Convolution", "Deconvolution", "Pooling"):
        return _spatial(draw, kind)
    simple = {
        "ReLU": lambda: f"relu_param {{ negative_slope: {draw(st.sampled_from([0, 0.1]))} }}",
        "ELU": lambda: f"elu_param {{ alpha: {draw(st.sampled_from([0.5, 1.0]))} }}",
        "PReLU": lambda: f"prelu_param {{ channel_shared: {str(draw(st.booleans())).lower()} }}",
        "LRN": lambda: (f"lrn_param {{ local_size: {draw(st.sampled_from([1, 3, 5]))} alpha: 0.1 beta: 0.75 "
                        f"k: {draw(st.sampled_from([1, 2]))} norm_region: "
                        f"{draw(st.sampled_from(['ACROSS_CHANNELS', 'WITHIN_CHANNEL']))} }}"),
        "BatchNorm": lambda: "batch_norm_param { eps: 0.001 }",
        "Scale": lambda: f"scale_param {{ bias_term: {str(draw(st.booleans())).lower()} }}",
        "Power": lambda: "power_param { power: 2 scale: 0.5 shift: 1 }",
        "Softmax": lambda: f"softmax_param {{ axis: {draw(st.sampled_from([1, 2, -1]))} }}",
        "InnerProduct": lambda: f"inner_product_param {{ num_output: {draw(st.integers(1, 5))} }}",
        "Flatten": lambda: "",
        "Dropout": lambda: "dropout_param { dropout_ratio: 0.3 }",
        "Concat": lambda: "concat_param { axis: 1 }",
        "Eltwise": lambda: draw(st.sampled_from(["", "eltwise_param { operation: PROD }",
                                                 "eltwise_param { operation: MAX }",
                                                 "eltwise_param { coeff: 0.5 coeff: -2 }"])),
    }
    return simple.get(kind, lambda: "")()


KINDS = ["Convolution", "Deconvolution", "Pooling", "ReLU", "ELU", "PReLU", "Sigmoid", "TanH", "AbsVal",
         "BNLL", "LRN", "BatchNorm", "Scale", "Power", "Softmax", "Dropout", "Eltwise", "Concat",
         "InnerProduct", "Flatten"]


@st.composite
def random_nets(draw, max_layers: int = 7) -> str:
    """A prototxt of a random valid net."""
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 4)), draw(st.integers(4, 9)), draw(st.integers(4, 9)))
    dims = " ".join(f"dim: {d}" for d in shape)
    lines = [f'layer {{ name: "in" type: "Input" top: "data" input_param {{ shape {{ {dims} }} }} }}']
    tops, names = ["data"], []
    for index in range(draw(st.integers(1, max_layers))):
        kind = draw(st.sampled_from(KINDS))
        fresh = draw(st.text(NAME_CHARS, min_size=1, max_size=6)) + f"#{index}"
        # Caffe allows several layers with one name (HED has five "crop"s): sometimes reuse one.
        name = draw(st.sampled_from(names)) if names and draw(st.integers(0, 3)) == 0 else fresh
        bottoms = [draw(st.sampled_from(tops))]
        if kind in ("Eltwise", "Concat"):
            bottoms.append(draw(st.sampled_from(tops)))
        in_place = kind in ("ReLU", "Dropout", "BatchNorm", "Scale", "TanH") and draw(st.booleans())
        top = bottoms[0] if in_place else fresh
        candidate = (f"layer {{ name: {quote(name)} type: {quote(kind)} "
                     + " ".join(f"bottom: {quote(b)}" for b in bottoms)
                     + f" top: {quote(top)} {_params(draw, kind)} }}")
        if _valid("\n".join([*lines, candidate])):
            lines.append(candidate)
            names.append(name)
            if not in_place:
                tops.append(top)
    if len(lines) == 1:  # every drawn layer was invalid: keep the net non-trivial
        lines.append('layer { name: "relu" type: "ReLU" bottom: "data" top: "relu" }')
    return "\n".join(lines) + "\n"


def _valid(text: str) -> bool:
    from caffe2x import graph_from_net

    try:
        graph_from_net(parse_prototxt_text(text))
    except Caffe2xError:
        return False
    return True
