#!/usr/bin/env bash
# The main job on a bundled model: the trained LeNet (real MNIST weights).
# Shows its layers, then runs Caffe's forward pass (NumPy reference) on the
# inputs the real Caffe was given and writes every blob to out/lenet_blobs.npz.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
net=fixtures/golden/lenet_mnist_trained
mkdir -p out
set -x
.venv/bin/caffe2x inspect $net/net.prototxt -w $net/net.caffemodel --input-shape data=4,1,28,28
.venv/bin/caffe2x run $net/net.prototxt -w $net/net.caffemodel --inputs $net/blobs.npz \
  -o out/lenet_blobs.npz --force
