"""ResNet (Chapter 5, Assignment 4): He et al. (2016), "Deep residual learning for image
recognition" — torchvision's BasicBlock ResNets (ResNet-18/34) and the CIFAR ResNets of §4.2.

Shortcuts follow the paper's option B: the identity when a block keeps the shape, otherwise a
projection, a 1×1 convolution (stride of the block, no bias) followed by BatchNorm. torchvision
uses the same rule, so one formula serves both families. No convolution has a bias, because
BatchNorm follows each of them.
"""
from __future__ import annotations

from typing import NamedTuple

from .layers import conv_bn_params, conv_output_size, linear_params

__all__ = ["RESNET_CIFAR_WIDTHS", "RESNET18_LAYERS", "RESNET_IMAGENET_WIDTHS", "BlockConfig",
           "resnet_cifar_blocks_per_stage", "needs_projection", "shortcut_params", "basic_block_params",
           "stage_plan", "resnet_cifar_plan", "resnet_cifar_params", "resnet_imagenet_params", "resnet18_params",
           "resnet_imagenet_shapes", "resnet_cifar_shapes"]

RESNET_CIFAR_WIDTHS = (16, 32, 64)          # channels of the three stages (He et al. 2016, §4.2)
RESNET18_LAYERS = (2, 2, 2, 2)              # BasicBlocks per stage, torchvision's ``layers``
RESNET_IMAGENET_WIDTHS = (64, 128, 256, 512)


class BlockConfig(NamedTuple):
    """One BasicBlock: the arguments of torchvision's and Assignment 4's ``BasicBlock``."""
    in_planes: int
    planes: int
    stride: int


def resnet_cifar_blocks_per_stage(depth: int) -> int:
    """``n`` of a CIFAR ResNet with ``depth = 6n + 2`` layers (n ≥ 1); ``ValueError`` otherwise."""
    if not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
        raise ValueError(f"a CIFAR ResNet has depth 6n + 2 (8, 14, 20, 32, 44, 56, 110, ...), got {depth!r}")
    return (depth - 2) // 6


def needs_projection(in_planes: int, planes: int, stride: int) -> bool:
    """A block needs a projection shortcut when it changes the resolution or the channels."""
    return stride != 1 or in_planes != planes


def shortcut_params(in_planes: int, planes: int, stride: int = 1) -> int:
    """0 for the identity; conv 1×1 (no bias) + BatchNorm for a projection."""
    return conv_bn_params(in_planes, planes, 1) if needs_projection(in_planes, planes, stride) else 0


def basic_block_params(in_planes: int, planes: int, stride: int = 1) -> int:
    """Two 3×3 conv + BatchNorm pairs and the shortcut."""
    branch = conv_bn_params(in_planes, planes, 3) + conv_bn_params(planes, planes, 3)
    return branch + shortcut_params(in_planes, planes, stride)


def stage_plan(in_planes: int, widths, blocks_per_stage, first_stride: int = 1) -> list[BlockConfig]:
    """Every BasicBlock of the stages, in order; each stage after the first starts with stride 2."""
    plan = []
    for i, (planes, blocks) in enumerate(zip(widths, blocks_per_stage)):
        for b in range(blocks):
            stride = (first_stride if i == 0 else 2) if b == 0 else 1
            plan.append(BlockConfig(in_planes, planes, stride))
            in_planes = planes
    return plan


def resnet_cifar_plan(depth: int) -> list[BlockConfig]:
    n = resnet_cifar_blocks_per_stage(depth)
    return stage_plan(RESNET_CIFAR_WIDTHS[0], RESNET_CIFAR_WIDTHS, (n, n, n))


def _resnet_params(stem_kernel: int, plan: list[BlockConfig], num_classes: int, in_channels: int) -> int:
    """A stem conv + BatchNorm, the blocks of ``plan``, global average pooling and one linear layer."""
    stem = conv_bn_params(in_channels, plan[0].in_planes, stem_kernel)
    blocks = sum(basic_block_params(*block) for block in plan)
    return stem + blocks + linear_params(plan[-1].planes, num_classes)


def resnet_cifar_params(depth: int, num_classes: int = 10, in_channels: int = 3) -> int:
    """The CIFAR ResNet of He et al. (2016, §4.2) with projection shortcuts: a 3×3 stem (16
    channels), three stages of n BasicBlocks (16/32/64 channels). ResNet-20: 272,474."""
    return _resnet_params(3, resnet_cifar_plan(depth), num_classes, in_channels)


def resnet_imagenet_params(layers=RESNET18_LAYERS, num_classes: int = 1000, in_channels: int = 3) -> int:
    """A BasicBlock ResNet for 224×224 images (ResNet-18/34): 7×7 stem, 4 stages."""
    return _resnet_params(7, stage_plan(RESNET_IMAGENET_WIDTHS[0], RESNET_IMAGENET_WIDTHS, layers),
                          num_classes, in_channels)


def resnet18_params(num_classes: int = 1000) -> int:
    """ResNet-18 at 224×224: 11,689,512 for 1000 classes, as torchvision's resnet18."""
    return resnet_imagenet_params(RESNET18_LAYERS, num_classes)


def _stage_shapes(widths, size: int, prefix: str) -> list[tuple[str, tuple[int, int, int]]]:
    """``(prefix + number, (C, H, W))`` after each stage; a stage's first 3×3 conv has stride 2
    from the second stage on."""
    shapes, h = [], size
    for i, planes in enumerate(widths):
        if i > 0:
            h = conv_output_size(h, 3, stride=2, padding=1)
        shapes.append((f"{prefix}{i + 1}", (planes, h, h)))
    return shapes


def resnet_imagenet_shapes(layers=RESNET18_LAYERS, size: int = 224, num_classes: int = 1000) -> list[tuple[str, tuple[int, ...]]]:
    """``(name, (C, H, W))`` after each top-level module, named as in torchvision's ResNet."""
    widths = RESNET_IMAGENET_WIDTHS[:len(layers)]
    h = conv_output_size(size, 7, stride=2, padding=3)
    shapes = [(name, (widths[0], h, h)) for name in ("conv1", "bn1", "relu")]
    h = conv_output_size(h, 3, stride=2, padding=1)
    shapes.append(("maxpool", (widths[0], h, h)))
    return shapes + _stage_shapes(widths, h, "layer") + [("avgpool", (widths[-1], 1, 1)), ("fc", (num_classes,))]


def resnet_cifar_shapes(depth: int, size: int = 32, num_classes: int = 10) -> list[tuple[str, tuple[int, ...]]]:
    """``(name, (C, H, W))`` after the stem, each stage (n blocks), the pooling and the classifier."""
    resnet_cifar_blocks_per_stage(depth)   # validates the depth; the shapes do not depend on n
    widths = RESNET_CIFAR_WIDTHS
    return ([("stem", (widths[0], size, size))] + _stage_shapes(widths, size, "stage")
            + [("avgpool", (widths[-1], 1, 1)), ("fc", (num_classes,))])
