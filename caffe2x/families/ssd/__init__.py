"""The SSD fork's layers (weiliu89/caffe, branch ssd): Normalize, Permute, PriorBox,
DetectionOutput. One module per layer: parameters, shape rule, the fork's arithmetic,
reference kernel and an emitter per target."""
