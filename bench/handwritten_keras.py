"""Hand-written Keras (NHWC) versions of Caffe's AlexNet, GoogLeNet, VGG-16 and
ResNet-50, as a person would write them with keras.layers, for speed
comparisons with caffe2x's Keras models. `load_caffe_weights` fills them from
the same caffemodel, transposing as a person porting the weights would."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from handwritten_torch import INCEPTIONS
from keras import layers


def lrn(x, name):
    # Caffe's alpha is divided by the window size; TF's is not.
    return layers.Lambda(lambda t: tf.nn.local_response_normalization(
        t, depth_radius=2, bias=1.0, alpha=1e-4 / 5, beta=0.75), name=name)(x)


def conv(x, filters, kernel, name, stride=1, pad=0, groups=1, relu=True, bias=True):
    """Caffe's symmetric padding: 'same' where it agrees (stride 1), explicit otherwise."""
    same = stride == 1 and pad == kernel // 2
    if pad and not same:
        x = layers.ZeroPadding2D(pad)(x)
    x = layers.Conv2D(filters, kernel, stride, "same" if same else "valid", groups=groups, use_bias=bias,
                      activation="relu" if relu else None, name=name)(x)
    return x


def alexnet(classes=1000):
    inputs = keras.Input((227, 227, 3))
    x = conv(inputs, 96, 11, "conv1", stride=4)
    x = layers.MaxPooling2D(3, 2)(lrn(x, "norm1"))
    x = conv(x, 256, 5, "conv2", pad=2, groups=2)
    x = layers.MaxPooling2D(3, 2)(lrn(x, "norm2"))
    x = conv(x, 384, 3, "conv3", pad=1)
    x = conv(x, 384, 3, "conv4", pad=1, groups=2)
    x = layers.MaxPooling2D(3, 2)(conv(x, 256, 3, "conv5", pad=1, groups=2))
    x = layers.Flatten()(x)
    x = layers.Dense(4096, "relu", name="fc6")(x)
    x = layers.Dense(4096, "relu", name="fc7")(layers.Dropout(0.5)(x))
    x = layers.Dense(classes, name="fc8")(layers.Dropout(0.5)(x))
    return keras.Model(inputs, layers.Softmax()(x))


def inception(x, key):
    _, b1, b3r, b3, b5r, b5, proj = INCEPTIONS[key]
    name = f"inception_{key}"
    branch1 = conv(x, b1, 1, f"{name}_1x1")
    branch3 = conv(conv(x, b3r, 1, f"{name}_3x3_reduce"), b3, 3, f"{name}_3x3", pad=1)
    branch5 = conv(conv(x, b5r, 1, f"{name}_5x5_reduce"), b5, 5, f"{name}_5x5", pad=2)
    pooled = conv(layers.MaxPooling2D(3, 1, "same")(x), proj, 1, f"{name}_pool_proj")
    return layers.Concatenate()([branch1, branch3, branch5, pooled])


def googlenet(classes=1000):
    inputs = keras.Input((224, 224, 3))
    x = conv(inputs, 64, 7, "conv1_7x7_s2", stride=2, pad=3)
    # Caffe's ceil-mode 3x3/2 pooling on even sizes is TF's 'same'.
    x = lrn(layers.MaxPooling2D(3, 2, "same")(x), "pool1_norm1")
    x = conv(conv(x, 64, 1, "conv2_3x3_reduce"), 192, 3, "conv2_3x3", pad=1)
    x = layers.MaxPooling2D(3, 2, "same")(lrn(x, "conv2_norm2"))
    x = layers.MaxPooling2D(3, 2, "same")(inception(inception(x, "3a"), "3b"))
    for key in ("4a", "4b", "4c", "4d", "4e"):
        x = inception(x, key)
    x = layers.MaxPooling2D(3, 2, "same")(x)
    x = layers.AveragePooling2D(7)(inception(inception(x, "5a"), "5b"))
    x = layers.Dense(classes, name="loss3_classifier")(layers.Dropout(0.4)(layers.Flatten()(x)))
    return keras.Model(inputs, layers.Softmax()(x))


def vgg16(classes=1000):
    inputs = x = keras.Input((224, 224, 3))
    for stage, (width, count) in enumerate(((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)), start=1):
        for index in range(1, count + 1):
            x = conv(x, width, 3, f"conv{stage}_{index}", pad=1)
        x = layers.MaxPooling2D(2, 2)(x)
    x = layers.Dense(4096, "relu", name="fc6")(layers.Flatten()(x))
    x = layers.Dense(4096, "relu", name="fc7")(layers.Dropout(0.5)(x))
    x = layers.Dense(classes, name="fc8")(layers.Dropout(0.5)(x))
    return keras.Model(inputs, layers.Softmax()(x))


def bottleneck(x, block, planes, stride, project):
    def conv_bn(y, filters, kernel, branch, stride=1, pad=0, relu=True):
        y = conv(y, filters, kernel, f"res{block}_branch{branch}", stride=stride, pad=pad, relu=False, bias=False)
        y = layers.BatchNormalization(epsilon=1e-5, name=f"bn{block}_branch{branch}")(y)
        return layers.ReLU()(y) if relu else y

    shortcut = conv_bn(x, planes * 4, 1, "1", stride=stride, relu=False) if project else x
    y = conv_bn(x, planes, 1, "2a", stride=stride)
    y = conv_bn(y, planes, 3, "2b", pad=1)
    y = conv_bn(y, planes * 4, 1, "2c", relu=False)
    return layers.ReLU()(layers.Add()([shortcut, y]))


def resnet50(classes=1000):
    inputs = keras.Input((224, 224, 3))
    x = conv(inputs, 64, 7, "conv1", stride=2, pad=3, relu=False)
    x = layers.ReLU()(layers.BatchNormalization(epsilon=1e-5, name="bn_conv1")(x))
    x = layers.MaxPooling2D(3, 2, "same")(x)
    for stage, (planes, blocks, stride) in enumerate(((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)), start=2):
        for index in range(blocks):
            x = bottleneck(x, f"{stage}{'abcdef'[index]}", planes, stride if index == 0 else 1, index == 0)
    x = layers.Flatten()(layers.AveragePooling2D(7)(x))
    return keras.Model(inputs, layers.Softmax()(layers.Dense(classes, name="fc1000")(x)))


# Dense layers that follow a Flatten of a spatial map: (height, width, channels).
FLATTENED = {"alexnet": {"fc6": (6, 6, 256)}, "vgg16": {"fc6": (7, 7, 512)}}


def load_caffe_weights(model: keras.Model, graph, flattened: dict) -> keras.Model:
    """Copy a caffe2x graph's weights into a hand-written Keras model by layer name."""
    nodes = {node.name.replace("/", "_"): node for node in graph.nodes}
    scales = {node.name.replace("scale", "bn", 1): node for node in graph.nodes if node.type == "Scale"}
    for layer in model.layers:
        node = nodes.get(layer.name)
        if node is None or not node.weights:
            continue
        w = [np.asarray(a, np.float32) for a in node.weights]
        if isinstance(layer, layers.Conv2D):
            layer.set_weights([w[0].transpose(2, 3, 1, 0), *w[1:2]])
        elif isinstance(layer, layers.Dense) and layer.name in flattened:
            # Caffe flattens C,H,W; Keras flattens H,W,C.
            h, wd, c = flattened[layer.name]
            layer.set_weights([w[0].reshape(-1, c, h, wd).transpose(2, 3, 1, 0).reshape(h * wd * c, -1), w[1]])
        elif isinstance(layer, layers.Dense):
            layer.set_weights([w[0].T, w[1]])
        elif isinstance(layer, layers.BatchNormalization):
            factor = 0.0 if float(w[2][0]) == 0 else 1.0 / float(w[2][0])
            scale = [np.asarray(a, np.float32) for a in scales[node.name].weights]
            layer.set_weights([scale[0], scale[1], w[0] * factor, w[1] * factor])
    return model


BUILDERS = {"alexnet": alexnet, "googlenet": googlenet, "vgg16": vgg16, "resnet50": resnet50}


def build(name: str, graph) -> keras.Model:
    return load_caffe_weights(BUILDERS[name](), graph, FLATTENED.get(name, {}))
