"""The IR data model: Graph, Node, Value (NCHW, SSA, in Caffe's terms). Nothing here
reads files or knows a layer type's rules: the front end (caffe2x.frontend) builds it."""
