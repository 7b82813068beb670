"""Fields that Caffe forks added to BVLC's own parameter blocks, declared once here so
that their nets read (see declare.register_field). Each names the fork and the number
its caffe.proto gives the field; caffe2x reads them from the prototxt, by name."""

from .declare import Enum, Field, register_field

_DEEPLAB_V1 = "DeepLab v1 (deeplab/deeplab-public)"
_DEEPLAB_V2 = "DeepLab v2 (deeplab-public-ver2, e.g. talent518/deeplab-public-ver2@51750fa)"
_SEGNET = "SegNet (alexgkendall/caffe-segnet@344c113)"
_FAST_RCNN = "Fast/Faster R-CNN (rbgirshick/caffe-fast-rcnn@3d85336)"

# DeepLab v1's atrous convolution: `hole` is the kernel dilation (BVLC later named it
# `dilation`); hole_h/hole_w per axis. ConvolutionParameter fields 17-19 in DeepLab v1.
register_field("convolution_param", Field("hole", 17, "uint32", default=1), fork=_DEEPLAB_V1)
register_field("convolution_param", Field("hole_h", 18, "uint32", default=1), fork=_DEEPLAB_V1)
register_field("convolution_param", Field("hole_w", 19, "uint32", default=1), fork=_DEEPLAB_V1)

# Bayesian SegNet: Monte Carlo dropout, masks drawn at test time too.
register_field("dropout_param", Field("sample_weights_test", 2, "bool", default=False), fork=_SEGNET)
# Fast R-CNN: scale_train false = no 1/(1-p) scaling in training, so TEST multiplies by (1-p).
register_field("dropout_param", Field("scale_train", 2, "bool", default=True), fork=_FAST_RCNN)

# DeepLab's ImageSegData reads image_data_param with a label type and an ignore label,
# and transform_param with a rectangular crop.
LABEL_TYPE = Enum("LabelType", {"NONE": 0, "IMAGE": 1, "PIXEL": 2})
register_field("image_data_param", Field("ignore_label", 15, "int32", default=255), fork=_DEEPLAB_V2)
register_field("image_data_param", Field("label_type", 16, LABEL_TYPE, default="IMAGE"), fork=_DEEPLAB_V2)
register_field("transform_param", Field("crop_width", 9, "uint32", default=0), fork=_DEEPLAB_V2)
register_field("transform_param", Field("crop_height", 10, "uint32", default=0), fork=_DEEPLAB_V2)
