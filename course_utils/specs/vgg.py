"""VGG (Chapter 2, Assignment 1): Table 1 of Simonyan & Zisserman (2015), "Very deep
convolutional networks for large-scale image recognition", and the CIFAR-10 variant of A1."""
from __future__ import annotations

from .layers import batchnorm_params, conv_output_size, conv_params, mlp_params

__all__ = ["VGG_CFGS", "VGG_POOLED_SIZE", "VGG_CLASSIFIER_HIDDEN", "VGG_CIFAR_CLASSIFIER_HIDDEN",
           "vgg_conv_widths", "vgg_layer_shapes", "vgg_stage_shapes", "vgg_flatten_features",
           "vgg_features_params", "vgg_params", "vgg_cifar_params",
           "vgg_features_layer_sequence", "vgg_cifar_layer_sequence"]

# Columns A, B, D, E of the paper, the same lists as torchvision.models.vgg.cfgs: an int is a
# 3×3 convolution (padding 1, bias) with that many output channels, followed by ReLU
# (BatchNorm + ReLU in the "_bn" variants); "M" is a 2×2 max-pool with stride 2.
VGG_CFGS: dict[str, list[int | str]] = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
              512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}
# The ImageNet classifier (paper and torchvision): the features are average-pooled to 7×7,
# flattened to 7·7·512 = 25,088, then Linear → 4,096 → 4,096 → classes, ReLU + dropout between.
VGG_POOLED_SIZE = 7
VGG_CLASSIFIER_HIDDEN = (4096, 4096)
# Assignment 1's CIFAR-10 variant: no average pool (five 2×2 pools take 32×32 to 1×1), flatten
# 512, then Linear 512 → 512, ReLU, Linear 512 → classes. No dropout: short runs with BatchNorm
# learn faster without it.
VGG_CIFAR_CLASSIFIER_HIDDEN = (512,)


def vgg_conv_widths(cfg) -> list[int]:
    """Output channels of the convolutions of a VGG table, in order."""
    return [v for v in cfg if v != "M"]


def vgg_layer_shapes(cfg, size: int = 224, in_channels: int = 3) -> list[tuple[str, tuple[int, int, int]]]:
    """``(layer, (C, H, W) after it)`` for every entry of a VGG table, starting from the input.

    A 3×3 convolution with padding 1 keeps H×W; a 2×2 pool with stride 2 halves it (rounding
    down, as ``nn.MaxPool2d`` does).
    """
    c, h = in_channels, size
    rows = [("input", (c, h, h))]
    for v in cfg:
        if v == "M":
            h = conv_output_size(h, kernel=2, stride=2)
            rows.append(("maxpool 2×2", (c, h, h)))
        else:
            c, h = v, conv_output_size(h, kernel=3, stride=1, padding=1)
            rows.append((f"conv3-{v}", (c, h, h)))
    return rows


def vgg_stage_shapes(cfg, size: int = 224, in_channels: int = 3) -> list[tuple[int, int, int]]:
    """The (C, H, W) at the input and after each max-pool: one row per stage."""
    return [shape for name, shape in vgg_layer_shapes(cfg, size, in_channels) if not name.startswith("conv")]


def vgg_flatten_features(cfg, size: int) -> int:
    """Length of the flattened feature map of a ``size``×``size`` input (no average pool)."""
    c, h, w = vgg_layer_shapes(cfg, size)[-1][1]
    return c * h * w


def vgg_features_params(cfg, batch_norm: bool = False, in_channels: int = 3) -> int:
    """Parameters of the convolutional part: 3×3 convs with bias (+ BatchNorm weight and bias)."""
    total = 0
    for v in vgg_conv_widths(cfg):
        total += conv_params(in_channels, v, 3) + (batchnorm_params(v) if batch_norm else 0)
        in_channels = v
    return total


def vgg_params(cfg, batch_norm: bool = False, num_classes: int = 1000) -> int:
    """torchvision's VGG (any input size: it average-pools to 7×7 first); vgg11: 132,863,336."""
    flat = vgg_conv_widths(cfg)[-1] * VGG_POOLED_SIZE ** 2
    return vgg_features_params(cfg, batch_norm) + mlp_params(flat, VGG_CLASSIFIER_HIDDEN, num_classes)


def vgg_cifar_params(cfg, batch_norm: bool = False, num_classes: int = 10,
                     hidden=VGG_CIFAR_CLASSIFIER_HIDDEN) -> int:
    """Assignment 1's CIFAR variant: the same features, a classifier on the 512-d flatten of 32×32."""
    flat = vgg_flatten_features(cfg, 32)
    return vgg_features_params(cfg, batch_norm) + mlp_params(flat, hidden, num_classes)


# Layer sequences are in the words of course_utils.checks.describe_layer; dropout, identity and
# flatten layers are not listed because the sequence check ignores them.
def vgg_features_layer_sequence(cfg, batch_norm: bool = False, in_channels: int = 3) -> list[str]:
    """What the leaf layers of a VGG feature extractor built from ``cfg`` must be, in order."""
    layers = []
    for v in cfg:
        if v == "M":
            layers.append("MaxPool2d(k2, s2)")
            continue
        layers.append(f"Conv2d({in_channels}->{v}, k3, s1, p1)")
        layers += [f"BatchNorm2d({v})", "ReLU"] if batch_norm else ["ReLU"]
        in_channels = v
    return layers


def vgg_cifar_layer_sequence(cfg, batch_norm: bool = False, num_classes: int = 10,
                             hidden=VGG_CIFAR_CLASSIFIER_HIDDEN) -> list[str]:
    """Assignment 1's whole network: the features, then Linear/ReLU pairs and the last Linear."""
    sizes = [vgg_flatten_features(cfg, 32), *hidden, num_classes]
    head = []
    for a, b in zip(sizes, sizes[1:]):
        head += [f"Linear({a}->{b})", "ReLU"]
    return vgg_features_layer_sequence(cfg, batch_norm) + head[:-1]
