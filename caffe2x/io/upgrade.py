"""Upgrade legacy nets in code: V0 and V1 layers, and the old input fields.

Mirrors Caffe's upgrade_proto.cpp: the result is a NetParameter that uses
only `layer` (LayerParameter) with the inputs as a leading Input layer
named "input", exactly as Caffe builds it.
"""

from __future__ import annotations

from ..errors import PrototxtError
from ..forks import FORK_V1_TYPE_NAMES
from ..schema import LayerParameter, NetParameter, V1LayerParameter
from .params.blocks import V1_TYPE, carrier_bytes, fork_blocks

V1_TYPE_NAMES = {
    "NONE": "", "ABSVAL": "AbsVal", "ACCURACY": "Accuracy", "ARGMAX": "ArgMax", "BNLL": "BNLL",
    "CONCAT": "Concat", "CONTRASTIVE_LOSS": "ContrastiveLoss", "CONVOLUTION": "Convolution",
    "DATA": "Data", "DECONVOLUTION": "Deconvolution", "DROPOUT": "Dropout",
    "DUMMY_DATA": "DummyData", "EUCLIDEAN_LOSS": "EuclideanLoss", "ELTWISE": "Eltwise",
    "EXP": "Exp", "FLATTEN": "Flatten", "HDF5_DATA": "HDF5Data", "HDF5_OUTPUT": "HDF5Output",
    "HINGE_LOSS": "HingeLoss", "IM2COL": "Im2col", "IMAGE_DATA": "ImageData",
    "INFOGAIN_LOSS": "InfogainLoss", "INNER_PRODUCT": "InnerProduct", "LRN": "LRN",
    "MEMORY_DATA": "MemoryData", "MULTINOMIAL_LOGISTIC_LOSS": "MultinomialLogisticLoss",
    "MVN": "MVN", "POOLING": "Pooling", "POWER": "Power", "RELU": "ReLU", "SIGMOID": "Sigmoid",
    "SIGMOID_CROSS_ENTROPY_LOSS": "SigmoidCrossEntropyLoss", "SILENCE": "Silence",
    "SOFTMAX": "Softmax", "SOFTMAX_LOSS": "SoftmaxWithLoss", "SPLIT": "Split", "SLICE": "Slice",
    "TANH": "TanH", "WINDOW_DATA": "WindowData", "THRESHOLD": "Threshold",
}

V0_TYPE_NAMES = {
    "accuracy": "Accuracy", "bnll": "BNLL", "concat": "Concat", "conv": "Convolution",
    "data": "Data", "dropout": "Dropout", "euclidean_loss": "EuclideanLoss",
    "flatten": "Flatten", "hdf5_data": "HDF5Data", "hdf5_output": "HDF5Output",
    "im2col": "Im2col", "images": "ImageData", "infogain_loss": "InfogainLoss",
    "innerproduct": "InnerProduct", "lrn": "LRN",
    "multinomial_logistic_loss": "MultinomialLogisticLoss", "pool": "Pooling",
    "relu": "ReLU", "sigmoid": "Sigmoid", "softmax": "Softmax",
    "softmax_loss": "SoftmaxWithLoss", "split": "Split", "tanh": "TanH",
    "window_data": "WindowData", "padding": "Padding",
}

# V1 fields copied verbatim: same name, same message type in LayerParameter.
_V1_PLAIN_FIELDS = ("bottom", "top", "name", "include", "exclude", "loss_weight")


def upgrade_net(net, source: str) -> NetParameter:
    """Return a current-format copy of `net` (which may be V0, V1 or mixed-era inputs)."""
    if net.layer and net.layers:
        raise PrototxtError(
            f"{source}: uses both 'layer' (current) and 'layers' (legacy V1) fields; "
            "Caffe refuses such nets. Use one format."
        )
    upgraded = NetParameter()
    upgraded.CopyFrom(net)
    if net.layers:
        del upgraded.layers[:]
        v1_layers = _merge_v0_padding(list(net.layers), source)
        for v1 in v1_layers:
            upgraded.layer.append(_upgrade_v1_layer(v1, source))
    _upgrade_inputs(upgraded, source)
    return upgraded


def _upgrade_v1_layer(v1, source: str):
    layer = LayerParameter()
    if v1.HasField("layer"):
        v1 = _upgrade_v0_layer(v1, source)
    for descriptor, value in v1.ListFields():
        name = descriptor.name
        if name in _V1_PLAIN_FIELDS or name.endswith("_param"):
            target = getattr(layer, name)
            if hasattr(target, "extend"):  # repeated field
                target.extend(value)
            elif descriptor.message_type is not None:
                target.CopyFrom(value)
            else:
                setattr(layer, name, value)
    layer.MergeFromString(carrier_bytes(v1))  # fork blocks cut from the text travel along
    layer.type = _v1_type_name(v1, layer, source)
    _upgrade_param_specs(v1, layer)
    return layer


def _v1_type_name(v1, layer, source: str) -> str:
    """The current type name of a V1 layer: BVLC's enum value, or a fork's (DeepLab's
    `type: INTERP`), which the prototxt reader kept aside as the "v1_type" block."""
    fork_type = fork_blocks(layer).get(V1_TYPE)
    if fork_type is None:
        return V1_TYPE_NAMES[V1LayerParameter.LayerType.Name(v1.type)]
    name = FORK_V1_TYPE_NAMES.get(fork_type.value)
    if name is None:
        raise PrototxtError(
            f"{source}: line {fork_type.line}, column {fork_type.column}: V1 layer '{v1.name}' has type "
            f"{fork_type.value}, which is neither BVLC Caffe's nor a V1 type of a fork caffe2x knows "
            f"({', '.join(sorted(FORK_V1_TYPE_NAMES))}).")
    return name


def _upgrade_param_specs(v1, layer) -> None:
    count = max(len(v1.param), len(v1.blobs_lr), len(v1.weight_decay))
    for i in range(count):
        spec = layer.param.add()
        if i < len(v1.param):
            spec.name = v1.param[i]
        if i < len(v1.blobs_lr):
            spec.lr_mult = v1.blobs_lr[i]
        if i < len(v1.weight_decay):
            spec.decay_mult = v1.weight_decay[i]


def _upgrade_v0_layer(v1, source: str):
    """Turn a V0 layer (wrapped in a V1 message) into a plain V1 layer."""
    v0 = v1.layer
    out = V1LayerParameter()
    out.CopyFrom(v1)
    out.ClearField("layer")
    out.name = v0.name
    new_type = V0_TYPE_NAMES.get(v0.type)
    if new_type is None:
        raise PrototxtError(f"{source}: V0 layer '{v0.name}' has unknown type '{v0.type}'.")
    v1_name = {v: k for k, v in V1_TYPE_NAMES.items()}[new_type]
    out.type = V1LayerParameter.LayerType.Value(v1_name)
    _copy_v0_params(v0, out, new_type)
    return out


def _copy_v0_params(v0, out, new_type: str) -> None:
    if new_type == "Convolution":
        conv = out.convolution_param
        _set_if(v0, "num_output", conv, "num_output")
        _set_if(v0, "biasterm", conv, "bias_term")
        _set_if(v0, "group", conv, "group")
        for v0_name, name in (("kernelsize", "kernel_size"), ("pad", "pad"), ("stride", "stride")):
            if v0.HasField(v0_name):
                getattr(conv, name).append(getattr(v0, v0_name))
    elif new_type == "InnerProduct":
        _set_if(v0, "num_output", out.inner_product_param, "num_output")
        _set_if(v0, "biasterm", out.inner_product_param, "bias_term")
    elif new_type == "Pooling":
        pool = out.pooling_param
        for v0_name, name in (("kernelsize", "kernel_size"), ("pad", "pad"),
                              ("stride", "stride"), ("pool", "pool")):
            _set_if(v0, v0_name, pool, name)
    elif new_type == "Dropout":
        _set_if(v0, "dropout_ratio", out.dropout_param, "dropout_ratio")
    elif new_type == "LRN":
        for name in ("local_size", "alpha", "beta", "k"):
            _set_if(v0, name, out.lrn_param, name)
    elif new_type == "Concat":
        _set_if(v0, "concat_dim", out.concat_param, "concat_dim")
    elif new_type == "Padding":
        # Kept on the layer until _merge_v0_padding folds it into its consumer.
        out.convolution_param.pad.append(v0.pad)


def _set_if(src, src_name: str, dst, dst_name: str) -> None:
    if src.HasField(src_name):
        setattr(dst, dst_name, getattr(src, src_name))


def _merge_v0_padding(layers: list, source: str) -> list:
    """Caffe's UpgradeV0PaddingLayers: a V0 'padding' layer becomes the pad of its consumer."""
    padding = {}
    result = []
    for v1 in layers:
        if v1.HasField("layer") and v1.layer.type == "padding":
            if len(v1.bottom) != 1 or len(v1.top) != 1:
                raise PrototxtError(f"{source}: V0 padding layer '{v1.layer.name}' needs 1 bottom, 1 top.")
            padding[v1.top[0]] = (v1.bottom[0], v1.layer.pad, v1.layer.name)
            continue
        if v1.HasField("layer") and len(v1.bottom) == 1 and v1.bottom[0] in padding:
            bottom, pad, pad_name = padding[v1.bottom[0]]
            if v1.layer.type not in ("conv", "pool"):
                raise PrototxtError(
                    f"{source}: V0 padding layer '{pad_name}' feeds '{v1.layer.name}', "
                    "which is neither a convolution nor a pooling layer."
                )
            v1 = _copy(v1)
            v1.bottom[0] = bottom
            v1.layer.pad = pad
        result.append(v1)
    return result


def _copy(message):
    fresh = type(message)()
    fresh.CopyFrom(message)
    return fresh


def _upgrade_inputs(net, source: str) -> None:
    """Caffe's UpgradeNetInput: input/input_dim/input_shape become an Input layer 'input'."""
    if not net.input:
        if net.input_dim or net.input_shape:
            raise PrototxtError(f"{source}: input_dim/input_shape given without any 'input' name.")
        return
    names = list(net.input)
    layer = LayerParameter(name="input", type="Input")
    layer.top.extend(names)
    if net.input_shape:
        if len(net.input_shape) != len(names):
            raise PrototxtError(
                f"{source}: {len(names)} inputs but {len(net.input_shape)} input_shape entries."
            )
        for shape in net.input_shape:
            layer.input_param.shape.add().dim.extend(shape.dim)
    elif net.input_dim:
        if len(net.input_dim) != 4 * len(names):
            raise PrototxtError(
                f"{source}: {len(names)} inputs need {4 * len(names)} input_dim values "
                f"(num, channels, height, width each), found {len(net.input_dim)}."
            )
        for i in range(len(names)):
            layer.input_param.shape.add().dim.extend(net.input_dim[4 * i : 4 * i + 4])
    existing = list(net.layer)
    del net.layer[:]
    net.layer.append(layer)
    net.layer.extend(existing)
    net.ClearField("input")
    net.ClearField("input_dim")
    net.ClearField("input_shape")
