"""The Caffe front end: a parsed net (caffe2x.io) -> the IR (caffe2x.ir).

Caffe's TEST-phase filter and training-only layers (select), data layers and
input shapes (inputs), in-place tops to SSA values with every layer's shape
rule (build), and the caffemodel's blobs onto the nodes (weights)."""
