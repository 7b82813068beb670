"""Regenerate caffe2x/schema/caffe.desc from proto/caffe.proto.

Usage (needs the dev extra, which brings grpcio-tools and its bundled protoc):

    python tools/gen_schema.py           # rewrite the descriptor
    python tools/gen_schema.py --check   # exit 1 if the committed one is stale

We ship a serialized FileDescriptorSet instead of protoc's generated
caffe_pb2.py: generated modules pin the protobuf runtime's major version,
while a descriptor loads on every protobuf from 4.x to 7.x.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"
TARGET = ROOT / "caffe2x" / "schema" / "caffe.desc"


def compile_descriptor(proto_dir: Path, proto_name: str = "caffe.proto") -> bytes:
    """Run the protoc bundled with grpcio-tools and return the descriptor set.

    protoc runs in its own process: in a process that already loaded torch or
    TensorFlow, their protobuf libraries clash with grpc_tools' and crash it.
    """
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.desc"
        command = [sys.executable, "-m", "grpc_tools.protoc", f"-I{proto_dir}",
                   f"--descriptor_set_out={out}", proto_name]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"protoc failed: {result.stderr.strip()}")
        return out.read_bytes()


def main(argv: list[str]) -> int:
    fresh = compile_descriptor(PROTO_DIR)
    if "--check" in argv:
        if TARGET.read_bytes() != fresh:
            print(f"{TARGET} is stale: run python tools/gen_schema.py")
            return 1
        print(f"{TARGET} is up to date")
        return 0
    TARGET.write_bytes(fresh)
    print(f"wrote {TARGET} ({len(fresh)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
