"""Write tests/hostile/: broken and malicious inputs, each with the error it must give.

    python tools/make_hostile.py

Each case is a prototxt (and maybe a caffemodel) plus an entry in cases.json:
the command line to run, the typed error class, and a pattern its one-paragraph
message must contain. tests/test_hostile.py runs them all: exit code 2, that
message, no traceback, nothing written.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from caffe2x.schema import NetParameter  # noqa: E402

OUT = ROOT / "tests" / "hostile"
LENET = ROOT / "fixtures" / "golden" / "lenet_mnist_trained"
ELTWISE = ROOT / "fixtures" / "golden" / "eltwise"
INPUT = 'layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 4 dim: 8 dim: 8 } } }\n'
CASES: list[dict] = []


def case(name: str, error: str, match: str, prototxt: str | None = None, weights: bytes | None = None,
         args: list[str] | None = None, weights_for: str | None = None) -> None:
    entry = {"name": name, "error": error, "match": match, "args": args or []}
    if prototxt is not None:
        (OUT / f"{name}.prototxt").write_text(prototxt, encoding="utf-8")
        entry["prototxt"] = f"{name}.prototxt"
    if weights is not None:
        (OUT / f"{name}.caffemodel").write_bytes(weights)
        entry["weights"] = f"{name}.caffemodel"
    if weights_for:
        entry["prototxt"] = weights_for
    CASES.append(entry)


def layer(text: str) -> str:
    return INPUT + text + "\n"


def syntax_cases() -> None:
    case("syntax_missing_brace", "PrototxtError", "line 2", INPUT + 'layer { name: "r" type: "ReLU"\n')
    case("syntax_bad_token", "PrototxtError", "line 2, column", INPUT + 'layer { name: "r" type: ReLU }\n')
    case("syntax_unknown_field", "PrototxtError", "no field named \"kernal_size\"",
         layer('layer { name: "c" type: "Convolution" bottom: "data" top: "c" '
               'convolution_param { num_output: 2 kernal_size: 3 } }'))
    case("syntax_unknown_enum", "PrototxtError", "has no value named AVERAGE",
         layer('layer { name: "p" type: "Pooling" bottom: "data" top: "p" pooling_param { pool: AVERAGE } }'))
    case("syntax_wrong_type", "PrototxtError", "line 2", layer('layer { name: "c" type: "Convolution" bottom: "data" '
                                                              'top: "c" convolution_param { num_output: "four" } }'))
    case("syntax_repeated_singular", "PrototxtError", "line 2", layer('layer { name: "a" name: "b" type: "ReLU" }'))
    case("binary_as_prototxt", "PrototxtError", "binary file", None, args=[])
    (OUT / "binary_as_prototxt.prototxt").write_bytes(b"\x0a\x05LeNet\x00\x00\xff\xfe" * 4)
    CASES[-1]["prototxt"] = "binary_as_prototxt.prototxt"
    (OUT / "not_utf8.prototxt").write_bytes(b'name: "caf\xe9"\n' + INPUT.encode())
    CASES.append({"name": "not_utf8", "error": "PrototxtError", "match": "not valid UTF-8",
                  "prototxt": "not_utf8.prototxt", "args": []})
    case("empty_net", "GraphError", "no layers", "# nothing here\n")
    case("legacy_mixed_formats", "PrototxtError", "both 'layer'", INPUT + 'layers { name: "x" type: RELU }\n')
    case("legacy_v0_unknown_type", "PrototxtError", "unknown type 'magic'",
         'input: "data" input_dim: 1 input_dim: 1 input_dim: 4 input_dim: 4\n'
         'layers { layer { name: "m" type: "magic" } bottom: "data" top: "m" }\n')
    case("legacy_input_dim_count", "PrototxtError", "need 8 input_dim",
         'input: "a" input: "b" input_dim: 1 input_dim: 2 input_dim: 3\n')
    case("include_and_exclude", "PrototxtError", "both include and exclude",
         layer('layer { name: "r" type: "ReLU" bottom: "data" top: "r" include { phase: TEST } '
               'exclude { phase: TRAIN } }'))


def graph_cases() -> None:
    case("bottom_never_produced", "GraphError", "'ghost' is never produced",
         layer('layer { name: "r" type: "ReLU" bottom: "ghost" top: "r" }'))
    case("cycle", "GraphError", "only produced later, by layer 'b'",
         layer('layer { name: "a" type: "ReLU" bottom: "b" top: "a" }\n'
               'layer { name: "b" type: "ReLU" bottom: "a" top: "b" }'))
    case("duplicate_top", "GraphError", "already produced by 'a'",
         layer('layer { name: "a" type: "ReLU" bottom: "data" top: "x" }\n'
               'layer { name: "b" type: "Sigmoid" bottom: "data" top: "x" }'))
    case("too_many_bottoms", "GraphError", "has 2 bottoms; ReLU takes 1",
         layer('layer { name: "r" type: "ReLU" bottom: "data" bottom: "data" top: "r" }'))
    case("unsupported_layers", "UnsupportedLayerError", "Python (2): 'py1', 'py2'",
         layer('layer { name: "py1" type: "Python" bottom: "data" top: "a" }\n'
               'layer { name: "ohem" type: "BoxAnnotatorOHEM" bottom: "data" top: "b" }\n'
               'layer { name: "py2" type: "Python" bottom: "a" top: "c" }'))
    case("data_layer_without_shape", "InputShapeError", "give it with --input-shape",
         'layer { name: "mnist" type: "Data" top: "data" top: "label" data_param { source: "x" batch_size: 4 } }\n'
         'layer { name: "r" type: "ReLU" bottom: "data" top: "r" }\n')
    case("input_without_shape", "InputShapeError", "no shape for input 'data'",
         'layer { name: "data" type: "Input" top: "data" }\nlayer { name: "r" type: "ReLU" bottom: "data" top: "r" }\n')
    case("bad_input_shape_option", "InputShapeError", "is not NAME=D0,D1", layer(""),
         args=["--input-shape", "data=1,-3,8"])
    case("unknown_input_shape_name", "InputShapeError", "'image', which is not a net input", layer(""),
         args=["--input-shape", "image=1,3,8,8"])
    case("unknown_plugin", "RegistryError", "cannot import plugin", layer(""), args=["--plugin", "no.such.plugin"])


def shape_cases() -> None:
    def conv(params: str) -> str:
        return layer(f'layer {{ name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param {{ {params} }} }}')

    case("negative_dim", "ShapeError", "dims must be positive",
         'layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: -3 dim: 8 } } }\n')
    case("zero_dim", "ShapeError", "dims must be positive",
         'layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 0 dim: 3 } } }\n')
    case("absurd_input", "ShapeError", "at most 2147483647 elements",
         'layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1000000 dim: 1000000 } } }\n')
    case("absurd_intermediate", "ShapeError", "at most 2147483647 elements",
         layer('layer { name: "t" type: "Tile" bottom: "data" top: "t" tile_param { tiles: 100000000 } }'))
    case("group_not_dividing", "ShapeError", "group 3 does not divide the 4 input channels",
         conv("num_output: 6 kernel_size: 3 group: 3"))
    case("num_output_not_divisible", "ShapeError", "does not divide num_output 5",
         conv("num_output: 5 kernel_size: 3 group: 2"))
    case("kernel_larger_than_input", "ShapeError", "exceeds the padded input", conv("num_output: 2 kernel_size: 11"))
    case("kernel_h_without_w", "ShapeError", "kernel_h and kernel_w must be given together",
         conv("num_output: 2 kernel_h: 3"))
    case("zero_stride", "ShapeError", "stride must be positive", conv("num_output: 2 kernel_size: 3 stride: 0"))
    case("pool_window_too_large", "ShapeError", "larger than the padded input",
         layer('layer { name: "p" type: "Pooling" bottom: "data" top: "p" pooling_param { kernel_size: 12 } }'))
    case("pool_pad_not_below_kernel", "ShapeError", "must be smaller than kernel",
         layer('layer { name: "p" type: "Pooling" bottom: "data" top: "p" pooling_param { kernel_size: 2 pad: 2 } }'))
    case("stochastic_pooling", "Caffe2xError", "STOCHASTIC pooling",
         layer('layer { name: "p" type: "Pooling" bottom: "data" top: "p" pooling_param { pool: STOCHASTIC '
               'kernel_size: 2 } }'), args=["convert:onnx"])
    case("lrn_even_size", "ShapeError", "must be odd",
         layer('layer { name: "l" type: "LRN" bottom: "data" top: "l" lrn_param { local_size: 4 } }'))
    case("eltwise_shape_mismatch", "ShapeError", "bottoms have different shapes",
         layer('layer { name: "p" type: "Pooling" bottom: "data" top: "p" pooling_param { kernel_size: 2 stride: 2 } }\n'
               'layer { name: "e" type: "Eltwise" bottom: "data" bottom: "p" top: "e" }'))
    case("eltwise_coeff_count", "ShapeError", "3 coeff values for 2 bottoms",
         layer('layer { name: "e" type: "Eltwise" bottom: "data" bottom: "data" top: "e" '
               'eltwise_param { coeff: 1 coeff: 2 coeff: 3 } }'))
    case("concat_mismatch", "ShapeError", "differ outside axis 1",
         layer('layer { name: "p" type: "Pooling" bottom: "data" top: "p" pooling_param { kernel_size: 2 stride: 2 } }\n'
               'layer { name: "c" type: "Concat" bottom: "data" bottom: "p" top: "c" }'))
    case("slice_points_wrong", "ShapeError", "slice_point values for 2 tops",
         layer('layer { name: "s" type: "Slice" bottom: "data" top: "a" top: "b" slice_param { slice_point: 1 '
               'slice_point: 2 } }'))
    case("reshape_impossible", "ShapeError", "cannot infer -1",
         layer('layer { name: "r" type: "Reshape" bottom: "data" top: "r" reshape_param { shape { dim: 0 dim: 7 '
               'dim: -1 } } }'))
    case("reshape_two_free_dims", "ShapeError", "at most one dimension may be -1",
         layer('layer { name: "r" type: "Reshape" bottom: "data" top: "r" reshape_param { shape { dim: -1 '
               'dim: -1 } } }'))
    case("crop_out_of_range", "ShapeError", "exceeds axis",
         layer('layer { name: "big" type: "Input" top: "big" input_param { shape { dim: 1 dim: 4 dim: 9 dim: 9 } } }\n'
               'layer { name: "c" type: "Crop" bottom: "data" bottom: "big" top: "c" }'))
    case("softmax_axis_out_of_range", "ShapeError", "axis 4 is out of range",
         layer('layer { name: "s" type: "Softmax" bottom: "data" top: "s" softmax_param { axis: 4 } }'))
    case("argmax_top_k_too_large", "ShapeError", "top_k 9 exceeds axis size 4",
         layer('layer { name: "a" type: "ArgMax" bottom: "data" top: "a" argmax_param { top_k: 9 axis: 1 } }'))
    case("flatten_axes_reversed", "ShapeError", "comes after end_axis",
         layer('layer { name: "f" type: "Flatten" bottom: "data" top: "f" flatten_param { axis: 3 end_axis: 1 } }'))


def weight_cases() -> None:
    lenet = (LENET / "net.caffemodel").read_bytes()
    lenet_args = ["--input-shape", "data=1,1,28,28"]
    case("caffemodel_truncated_half", "WeightsError", "truncated or corrupt", weights=lenet[: len(lenet) // 2],
         weights_for="../../fixtures/golden/lenet_mnist_trained/net.prototxt", args=lenet_args)
    case("caffemodel_truncated_tail", "WeightsError", "truncated or corrupt", weights=lenet[:-7],
         weights_for="../../fixtures/golden/lenet_mnist_trained/net.prototxt", args=lenet_args)
    case("caffemodel_empty", "WeightsError", "empty", weights=b"",
         weights_for="../../fixtures/golden/lenet_mnist_trained/net.prototxt", args=lenet_args)
    case("caffemodel_garbage", "WeightsError", "not a valid caffemodel", weights=bytes(range(256)) * 8,
         weights_for="../../fixtures/golden/lenet_mnist_trained/net.prototxt", args=lenet_args)
    case("caffemodel_is_text", "WeightsError", "text prototxt", weights=(LENET / "net.prototxt").read_bytes(),
         weights_for="../../fixtures/golden/lenet_mnist_trained/net.prototxt", args=lenet_args)
    case("caffemodel_of_another_net", "WeightsError", "is it for another net",
         weights=(ELTWISE / "net.caffemodel").read_bytes(),
         weights_for="../../fixtures/golden/lenet_mnist_trained/net.prototxt", args=lenet_args)
    case("blob_count_disagrees_with_shape", "WeightsError", "declares shape [2, 4, 3, 3] (72 values) but holds 71",
         layer('layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 2 '
               'kernel_size: 3 bias_term: false } }'), weights=_net_blob("c", (2, 4, 3, 3), 71))
    case("blob_wrong_shape", "WeightsError", "expected shape [2, 4, 3, 3], the caffemodel has [2, 4, 5, 5]",
         layer('layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 2 '
               'kernel_size: 3 bias_term: false } }'), weights=_net_blob("c", (2, 4, 5, 5), 200))
    case("blob_missing_bias", "WeightsError", "needs 2 blob(s), the caffemodel has 1",
         layer('layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 2 '
               'kernel_size: 3 } }'), weights=_net_blob("c", (2, 4, 3, 3), 72))
    case("blob_length_over_2gb", "WeightsError", "declares 3000000000 bytes",
         weights=_oversized_field(), weights_for="../../fixtures/golden/lenet_mnist_trained/net.prototxt",
         args=lenet_args)


def _net_blob(layer_name: str, shape: tuple[int, ...], count: int) -> bytes:
    net = NetParameter(name="hostile")
    blob = net.layer.add(name=layer_name, type="Convolution").blobs.add()
    blob.shape.dim.extend(shape)
    blob.data.extend([0.5] * count)
    return net.SerializeToString()


def _oversized_field() -> bytes:
    """A NetParameter whose first layer claims 3 GB: more than protobuf can hold, and than the file has."""
    from caffe2x.io.wire_writer import varint

    return bytes([0xA2, 0x06]) + varint(3_000_000_000) + b"\x0a\x05conv1"  # field 100 (layer), wire type 2


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*"):
        if old.suffix in (".prototxt", ".caffemodel", ".json"):
            old.unlink()
    syntax_cases()
    graph_cases()
    shape_cases()
    weight_cases()
    (OUT / "cases.json").write_text(json.dumps(CASES, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {len(CASES)} cases to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
