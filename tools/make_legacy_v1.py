"""Write legacy V1 (`layers { type: CONVOLUTION }`) versions of current-format nets.

    python tools/make_legacy_v1.py OUT_DIR NET.prototxt...

Used to make fixtures/legacy_v1/*.prototxt: the classic nets as their
original releases were written, to test the V1 upgrade path. Nets with
layer types that V1 lacks (BatchNorm, Scale, ...) are refused.
"""

from __future__ import annotations

import sys
from pathlib import Path

from google.protobuf import text_format

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from caffe2x.io.prototxt import read_prototxt  # noqa: E402
from caffe2x.io.upgrade import V1_TYPE_NAMES  # noqa: E402
from caffe2x.schema import NetParameter, V1LayerParameter  # noqa: E402

V1_ENUM = {name: enum for enum, name in V1_TYPE_NAMES.items() if name}


def downgrade(net) -> NetParameter:
    legacy = NetParameter(name=net.name)
    for layer in net.layer:
        if layer.type == "Input":  # V1 nets declared inputs with input/input_dim
            for top, shape in zip(layer.top, layer.input_param.shape):
                legacy.input.append(top)
                legacy.input_dim.extend(shape.dim)
            continue
        if layer.type not in V1_ENUM:
            raise SystemExit(f"layer '{layer.name}': type {layer.type} does not exist in V1")
        v1 = legacy.layers.add(name=layer.name, type=V1LayerParameter.LayerType.Value(V1_ENUM[layer.type]))
        v1.bottom.extend(layer.bottom)
        v1.top.extend(layer.top)
        for descriptor, value in layer.ListFields():
            if descriptor.name.endswith("_param"):
                getattr(v1, descriptor.name).CopyFrom(value)
        for spec in layer.param:
            v1.blobs_lr.append(spec.lr_mult)
            v1.weight_decay.append(spec.decay_mult)
    return legacy


def main(argv: list[str]) -> int:
    out_dir = Path(argv[0])
    out_dir.mkdir(parents=True, exist_ok=True)
    for path in argv[1:]:
        name = Path(path).parent.name
        text = text_format.MessageToString(downgrade(read_prototxt(path)))
        (out_dir / f"{name}.prototxt").write_text(text)
        print(f"wrote {out_dir / name}.prototxt")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
