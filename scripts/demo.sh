#!/usr/bin/env bash
# The main job on a bundled model: the trained LeNet (real MNIST weights).
# Shows its layers, converts it to ONNX, and verifies the ONNX model layer by
# layer against the blobs the real Caffe produced (exit 1 if any diverges).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
net=fixtures/golden/lenet_mnist_trained
mkdir -p out
set -x
.venv/bin/caffe2x inspect $net/net.prototxt -w $net/net.caffemodel --input-shape data=4,1,28,28
.venv/bin/caffe2x convert $net/net.prototxt -w $net/net.caffemodel --to onnx -o out/lenet.onnx --force
.venv/bin/caffe2x verify $net/net.prototxt -w $net/net.caffemodel --to onnx \
  --reference $net/blobs.npz --report out/lenet_onnx_report.json --force
