"""Hand-written PyTorch versions of Caffe's AlexNet, GoogLeNet, VGG-16 and
ResNet-50, as a person would write them (torchvision style), for speed
comparisons with caffe2x's generated modules. `load_caffe_weights` fills them
from the same caffemodel."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class AlexNet(nn.Module):
    """BVLC AlexNet: grouped conv2/4/5, LRN after conv1 and conv2, ceil-mode pooling."""

    def __init__(self, classes: int = 1000):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 96, 11, stride=4), nn.ReLU(inplace=True),
            nn.LocalResponseNorm(5, 1e-4, 0.75, 1.0), nn.MaxPool2d(3, 2, ceil_mode=True),
            nn.Conv2d(96, 256, 5, padding=2, groups=2), nn.ReLU(inplace=True),
            nn.LocalResponseNorm(5, 1e-4, 0.75, 1.0), nn.MaxPool2d(3, 2, ceil_mode=True),
            nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 384, 3, padding=1, groups=2), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, 3, padding=1, groups=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, ceil_mode=True),
        )
        self.classifier = nn.Sequential(
            nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True), nn.Dropout(),
            nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Dropout(),
            nn.Linear(4096, classes),
        )

    def forward(self, x):
        return torch.softmax(self.classifier(torch.flatten(self.features(x), 1)), 1)

    CAFFE_LAYERS = {"conv1": "features.0", "conv2": "features.4", "conv3": "features.8", "conv4": "features.10",
                    "conv5": "features.12", "fc6": "classifier.0", "fc7": "classifier.3", "fc8": "classifier.6"}


class Inception(nn.Module):
    """One GoogLeNet inception block: four branches concatenated on channels."""

    def __init__(self, inplanes: int, b1: int, b3_reduce: int, b3: int, b5_reduce: int, b5: int, pool_proj: int):
        super().__init__()
        self.branch1 = nn.Sequential(nn.Conv2d(inplanes, b1, 1), nn.ReLU(inplace=True))
        self.branch3 = nn.Sequential(nn.Conv2d(inplanes, b3_reduce, 1), nn.ReLU(inplace=True),
                                     nn.Conv2d(b3_reduce, b3, 3, padding=1), nn.ReLU(inplace=True))
        self.branch5 = nn.Sequential(nn.Conv2d(inplanes, b5_reduce, 1), nn.ReLU(inplace=True),
                                     nn.Conv2d(b5_reduce, b5, 5, padding=2), nn.ReLU(inplace=True))
        self.branch_pool = nn.Sequential(nn.MaxPool2d(3, 1, padding=1), nn.Conv2d(inplanes, pool_proj, 1),
                                         nn.ReLU(inplace=True))

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch3(x), self.branch5(x), self.branch_pool(x)], 1)


INCEPTIONS = {  # name: (in, 1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj), from the BVLC prototxt
    "3a": (192, 64, 96, 128, 16, 32, 32), "3b": (256, 128, 128, 192, 32, 96, 64),
    "4a": (480, 192, 96, 208, 16, 48, 64), "4b": (512, 160, 112, 224, 24, 64, 64),
    "4c": (512, 128, 128, 256, 24, 64, 64), "4d": (512, 112, 144, 288, 32, 64, 64),
    "4e": (528, 256, 160, 320, 32, 128, 128), "5a": (832, 256, 160, 320, 32, 128, 128),
    "5b": (832, 384, 192, 384, 48, 128, 128),
}


class GoogLeNet(nn.Module):
    """BVLC GoogLeNet (deploy): LRN after the stem, ceil-mode pooling, no auxiliary heads."""

    def __init__(self, classes: int = 1000):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 64, 7, stride=2, padding=3), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, ceil_mode=True), nn.LocalResponseNorm(5, 1e-4, 0.75, 1.0),
            nn.Conv2d(64, 64, 1), nn.ReLU(inplace=True),
            nn.Conv2d(64, 192, 3, padding=1), nn.ReLU(inplace=True),
            nn.LocalResponseNorm(5, 1e-4, 0.75, 1.0), nn.MaxPool2d(3, 2, ceil_mode=True),
        )
        self.inception3 = nn.Sequential(Inception(*INCEPTIONS["3a"]), Inception(*INCEPTIONS["3b"]))
        self.inception4 = nn.Sequential(*(Inception(*INCEPTIONS[k]) for k in ("4a", "4b", "4c", "4d", "4e")))
        self.inception5 = nn.Sequential(Inception(*INCEPTIONS["5a"]), Inception(*INCEPTIONS["5b"]))
        self.pool = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.avgpool = nn.AvgPool2d(7)
        self.dropout = nn.Dropout(0.4)
        self.fc = nn.Linear(1024, classes)

    def forward(self, x):
        x = self.pool(self.inception3(self.stem(x)))
        x = self.pool(self.inception4(x))
        x = self.avgpool(self.inception5(x))
        return torch.softmax(self.fc(self.dropout(torch.flatten(x, 1))), 1)


def _googlenet_names() -> dict[str, str]:
    names = {"conv1/7x7_s2": "stem.0", "conv2/3x3_reduce": "stem.4", "conv2/3x3": "stem.6",
             "loss3/classifier": "fc"}
    for stage, blocks in (("3", "ab"), ("4", "abcde"), ("5", "ab")):
        for index, letter in enumerate(blocks):
            prefix = f"inception{stage}.{index}"
            for caffe, ours in (("1x1", "branch1.0"), ("3x3_reduce", "branch3.0"), ("3x3", "branch3.2"),
                                ("5x5_reduce", "branch5.0"), ("5x5", "branch5.2"), ("pool_proj", "branch_pool.1")):
                names[f"inception_{stage}{letter}/{caffe}"] = f"{prefix}.{ours}"
    return names


class VGG16(nn.Module):
    """VGG-16 (configuration D), as in torchvision without batch norm."""

    def __init__(self, classes: int = 1000):
        super().__init__()
        layers, channels = [], 3
        for width in (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"):
            if width == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(inplace=True)]
                channels = width
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(inplace=True), nn.Dropout(),
            nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Dropout(),
            nn.Linear(4096, classes),
        )

    def forward(self, x):
        return torch.softmax(self.classifier(torch.flatten(self.features(x), 1)), 1)

    def caffe_layers(self) -> dict[str, str]:
        convs = [f"conv{stage}_{i}" for stage, count in ((1, 2), (2, 2), (3, 3), (4, 3), (5, 3))
                 for i in range(1, count + 1)]
        indices = [i for i, layer in enumerate(self.features) if isinstance(layer, nn.Conv2d)]
        names = {conv: f"features.{i}" for conv, i in zip(convs, indices)}
        return {**names, "fc6": "classifier.0", "fc7": "classifier.3", "fc8": "classifier.6"}


class Bottleneck(nn.Module):
    def __init__(self, inplanes: int, planes: int, stride: int, project: bool):
        super().__init__()
        # Caffe's ResNet-50 strides in the first 1x1 convolution.
        self.conv1 = nn.Conv2d(inplanes, planes, 1, stride=stride, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes * 4, 1, stride=stride, bias=False),
                                        nn.BatchNorm2d(planes * 4)) if project else None

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + (self.downsample(x) if self.downsample is not None else x))


class ResNet50(nn.Module):
    def __init__(self, classes: int = 1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, ceil_mode=True)
        stages, inplanes = [], 64
        for planes, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
            layers = [Bottleneck(inplanes, planes, stride, True)]
            layers += [Bottleneck(planes * 4, planes, 1, False) for _ in range(blocks - 1)]
            stages.append(nn.Sequential(*layers))
            inplanes = planes * 4
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2048, classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.softmax(self.fc(torch.flatten(self.avgpool(x), 1)), 1)


def _resnet_names() -> dict[str, str]:
    names = {"conv1": "conv1", "bn_conv1": "bn1", "scale_conv1": "bn1", "fc1000": "fc"}
    for stage, blocks in ((2, 3), (3, 4), (4, 6), (5, 3)):
        for index in range(blocks):
            block, prefix = f"{stage}{'abcdef'[index]}", f"layer{stage - 1}.{index}"
            for branch, (conv, bn) in {"2a": ("conv1", "bn1"), "2b": ("conv2", "bn2"), "2c": ("conv3", "bn3"),
                                       "1": ("downsample.0", "downsample.1")}.items():
                names[f"res{block}_branch{branch}"] = f"{prefix}.{conv}"
                names[f"bn{block}_branch{branch}"] = f"{prefix}.{bn}"
                names[f"scale{block}_branch{branch}"] = f"{prefix}.{bn}"
    return names


def load_caffe_weights(module: nn.Module, graph, names: dict[str, str]) -> nn.Module:
    """Copy a caffe2x graph's weights into a hand-written module by layer name."""
    state = {}
    for node in graph.nodes:
        if node.name not in names:
            continue
        target = names[node.name]
        w = [torch.from_numpy(np.array(a, np.float32)) for a in node.weights]
        if node.type in ("Convolution", "InnerProduct"):
            state[f"{target}.weight"] = w[0]
            if len(w) > 1:
                state[f"{target}.bias"] = w[1]
        elif node.type == "BatchNorm":
            factor = 0.0 if float(w[2]) == 0 else 1.0 / float(w[2])
            state[f"{target}.running_mean"], state[f"{target}.running_var"] = w[0] * factor, w[1] * factor
            state[f"{target}.num_batches_tracked"] = torch.tensor(0)
        elif node.type == "Scale":
            state[f"{target}.weight"], state[f"{target}.bias"] = w[0], w[1]
    module.load_state_dict(state)
    return module.eval()


def build(name: str, graph) -> nn.Module:
    if name == "alexnet":
        return load_caffe_weights(AlexNet(), graph, AlexNet.CAFFE_LAYERS)
    if name == "googlenet":
        return load_caffe_weights(GoogLeNet(), graph, _googlenet_names())
    if name == "vgg16":
        vgg = VGG16()
        return load_caffe_weights(vgg, graph, vgg.caffe_layers())
    if name == "resnet50":
        # Caffe's ResNet-50 BatchNorm eps is 1e-5, PyTorch's default too.
        return load_caffe_weights(ResNet50(), graph, _resnet_names())
    raise KeyError(name)
