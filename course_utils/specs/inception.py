"""GoogLeNet / Inception (Chapter 4, Assignment 3): Table 1 of Szegedy et al. (2015), "Going
deeper with convolutions", and the small CIFAR-10 network of A3.

A network is a stem and a body of rows: :func:`conv_block` and :func:`max_pool` rows, and
inception module names looked up in a table of :class:`InceptionConfig` rows. The records are
tuples, so plain tuples in the same order (``("conv", 64, 3, 1, 1)``,
``(192, 64, 96, 128, 16, 32, 32)``) are accepted wherever a record is.
"""
from __future__ import annotations

from typing import NamedTuple

from .layers import conv_bn_params, conv_output_size, conv_params, linear_params, pool_output_size

__all__ = ["InceptionConfig", "ConvRow", "PoolRow", "conv_block", "max_pool",
           "INCEPTION_FIELDS", "INCEPTION_BRANCHES", "GOOGLENET_INCEPTION", "GOOGLENET_STEM", "GOOGLENET_BODY",
           "GOOGLENET_AUX_AFTER", "AUX_LOSS_WEIGHT", "TORCHVISION_KERNEL5", "A3_INCEPTION", "A3_STEM", "A3_BODY",
           "inception_out_channels", "inception_branch_channels", "inception_branch_params",
           "inception_block_params", "inception_aux_params",
           "naive_inception_out_channels", "naive_inception_params", "reduced_inception_params",
           "naive_inception_macs", "reduced_inception_macs",
           "network_shapes", "network_params", "googlenet_shapes", "googlenet_params",
           "a3_network_shapes", "a3_network_params"]


class InceptionConfig(NamedTuple):
    """One inception module: the arguments of torchvision's ``Inception``, in its order."""
    in_channels: int
    ch1x1: int      # branch1x1: a 1×1 conv
    ch3x3red: int   # branch3x3: a 1×1 reduction, then a 3×3 conv
    ch3x3: int
    ch5x5red: int   # branch5x5: a 1×1 reduction, then a 5×5 conv
    ch5x5: int
    pool_proj: int  # branch_pool: a 3×3 max-pool, then a 1×1 projection

    # str() stays the plain tuple, so that a message like f"InceptionBlock{cfg}" reads as the call.
    __str__ = tuple.__repr__


# Rows outside the inception modules keep their kind as the first field, so that a row is still
# the tuple ("conv", out_channels, kernel, stride, padding) that A3's notebook describes.
class ConvRow(NamedTuple):
    """A conv (no bias) → BatchNorm → ReLU block, torchvision's ``BasicConv2d``."""
    kind: str  # "conv"
    out_channels: int
    kernel_size: int
    stride: int
    padding: int

    __str__ = tuple.__repr__


class PoolRow(NamedTuple):
    """``nn.MaxPool2d(kernel_size, stride, padding, ceil_mode=ceil_mode)``."""
    kind: str  # "maxpool"
    kernel_size: int
    stride: int
    padding: int
    ceil_mode: bool

    __str__ = tuple.__repr__


def conv_block(out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0) -> ConvRow:
    return ConvRow("conv", out_channels, kernel_size, stride, padding)


def max_pool(kernel_size: int, stride: int, padding: int = 0, ceil_mode: bool = False) -> PoolRow:
    return PoolRow("maxpool", kernel_size, stride, padding, ceil_mode)


INCEPTION_FIELDS = InceptionConfig._fields
# The four branches as Assignment 3 names them, in concatenation order.
INCEPTION_BRANCHES = {
    "branch1x1": "a 1×1 ConvBlock in_channels → ch1x1",
    "branch3x3": "a 1×1 ConvBlock in_channels → ch3x3red, then a 3×3 ConvBlock (padding=1) → ch3x3",
    "branch5x5": "a 1×1 ConvBlock in_channels → ch5x5red, then a 5×5 ConvBlock (padding=2) → ch5x5",
    "branch_pool": "a 3×3 max-pool (stride=1, padding=1), then a 1×1 ConvBlock in_channels → pool_proj",
}

# Table 1 of the paper, the same numbers as torchvision's googlenet.py.
GOOGLENET_INCEPTION: dict[str, InceptionConfig] = {
    "3a": InceptionConfig(192, 64, 96, 128, 16, 32, 32),
    "3b": InceptionConfig(256, 128, 128, 192, 32, 96, 64),
    "4a": InceptionConfig(480, 192, 96, 208, 16, 48, 64),
    "4b": InceptionConfig(512, 160, 112, 224, 24, 64, 64),
    "4c": InceptionConfig(512, 128, 128, 256, 24, 64, 64),
    "4d": InceptionConfig(512, 112, 144, 288, 32, 64, 64),
    "4e": InceptionConfig(528, 256, 160, 320, 32, 128, 128),
    "5a": InceptionConfig(832, 256, 160, 320, 32, 128, 128),
    "5b": InceptionConfig(832, 384, 192, 384, 48, 128, 128),
}
GOOGLENET_STEM = (conv_block(64, 7, stride=2, padding=3), max_pool(3, stride=2, ceil_mode=True),
                  conv_block(64, 1), conv_block(192, 3, padding=1), max_pool(3, stride=2, ceil_mode=True))
GOOGLENET_BODY = ("3a", "3b", max_pool(3, stride=2, ceil_mode=True),
                  "4a", "4b", "4c", "4d", "4e", max_pool(2, stride=2, ceil_mode=True),
                  "5a", "5b")
# Auxiliary classifiers read the outputs of these modules during training only; their losses
# are added to the main loss with this weight.
GOOGLENET_AUX_AFTER = ("4a", "4d")
AUX_LOSS_WEIGHT = 0.3
# torchvision's Inception uses a 3×3 kernel in its "5×5" branch (pytorch/vision#906, kept so that
# the ported weights load); pass this as ``kernel5`` to count torchvision's modules.
TORCHVISION_KERNEL5 = 3

# Assignment 3: a small GoogLeNet for 32×32 images. The stem keeps the full resolution for one
# 3×3 conv block, because GoogLeNet's stem would shrink 32×32 to 4×4 before the first module;
# two max-pools bring 32 → 16 → 8, then global average pooling and one linear layer classify.
A3_INCEPTION: dict[str, InceptionConfig] = {
    "3a": InceptionConfig(64, 32, 32, 48, 8, 16, 16),
    "3b": InceptionConfig(112, 48, 48, 64, 12, 24, 24),
    "4a": InceptionConfig(160, 64, 64, 96, 16, 32, 32),
    "4b": InceptionConfig(224, 80, 80, 112, 16, 32, 32),
}
A3_STEM = (conv_block(64, 3, padding=1), max_pool(3, stride=2, padding=1))
A3_BODY = ("3a", "3b", max_pool(3, stride=2, padding=1), "4a", "4b")


def _branch_convs(cfg, kernel5: int = 5) -> dict[str, list[tuple[int, int, int]]]:
    """``(in, out, kernel)`` of each branch's convolutions, in concatenation order."""
    cfg = InceptionConfig._make(cfg)
    return {
        "branch1x1": [(cfg.in_channels, cfg.ch1x1, 1)],
        "branch3x3": [(cfg.in_channels, cfg.ch3x3red, 1), (cfg.ch3x3red, cfg.ch3x3, 3)],
        "branch5x5": [(cfg.in_channels, cfg.ch5x5red, 1), (cfg.ch5x5red, cfg.ch5x5, kernel5)],
        "branch_pool": [(cfg.in_channels, cfg.pool_proj, 1)],  # the max-pool before it has no parameters
    }


def inception_branch_channels(cfg) -> dict[str, int]:
    """Output channels of each branch, in concatenation order."""
    cfg = InceptionConfig._make(cfg)
    return dict(zip(INCEPTION_BRANCHES, (cfg.ch1x1, cfg.ch3x3, cfg.ch5x5, cfg.pool_proj)))


def inception_out_channels(cfg) -> int:
    """ch1x1 + ch3x3 + ch5x5 + pool_proj: the branches are concatenated along the channels."""
    return sum(inception_branch_channels(cfg).values())


def inception_branch_params(cfg, kernel5: int = 5) -> dict[str, int]:
    """Parameters of each branch of an inception block built from conv + BatchNorm blocks."""
    return {branch: sum(conv_bn_params(*conv) for conv in convs)
            for branch, convs in _branch_convs(cfg, kernel5).items()}


def inception_block_params(in_channels: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int,
                           ch5x5: int, pool_proj: int, kernel5: int = 5) -> int:
    """Parameters of an inception block (conv + BatchNorm blocks); (3a): 164,064 with 5×5 kernels."""
    cfg = InceptionConfig(in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj)
    return sum(inception_branch_params(cfg, kernel5).values())


def inception_aux_params(in_channels: int, num_classes: int = 1000) -> int:
    """torchvision's InceptionAux: avg-pool to 4×4, 1×1 conv block → 128, fc 2048 → 1024 → classes."""
    return conv_bn_params(in_channels, 128, 1) + linear_params(128 * 4 * 4, 1024) + linear_params(1024, num_classes)


# Chapter 4 compares the naive module (1×1, 3×3 and 5×5 convolutions and a 3×3 max-pool, all on
# the input) with the one with 1×1 reductions, by convolution weights (bias optional) and by the
# multiply-accumulates of a size×size input with 'same' padding.

def _naive_convs(in_channels, ch1x1, ch3x3, ch5x5) -> list[tuple[int, int, int]]:
    return [(in_channels, ch1x1, 1), (in_channels, ch3x3, 3), (in_channels, ch5x5, 5)]


def _reduced_convs(cfg: InceptionConfig) -> list[tuple[int, int, int]]:
    return [conv for convs in _branch_convs(cfg).values() for conv in convs]


def _weights(convs, bias: bool) -> int:
    return sum(conv_params(i, o, k, bias) for i, o, k in convs)


def _macs(convs, size: int) -> int:
    return size * size * sum(i * o * k * k for i, o, k in convs)


def naive_inception_out_channels(in_channels: int, ch1x1: int, ch3x3: int, ch5x5: int) -> int:
    """The pool branch passes all input channels through, so the output grows by in_channels."""
    return ch1x1 + ch3x3 + ch5x5 + in_channels


def naive_inception_params(in_channels: int, ch1x1: int, ch3x3: int, ch5x5: int, bias: bool = False) -> int:
    return _weights(_naive_convs(in_channels, ch1x1, ch3x3, ch5x5), bias)


def reduced_inception_params(in_channels: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int,
                             ch5x5: int, pool_proj: int, bias: bool = False) -> int:
    cfg = InceptionConfig(in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj)
    return _weights(_reduced_convs(cfg), bias)


def naive_inception_macs(size: int, in_channels: int, ch1x1: int, ch3x3: int, ch5x5: int) -> int:
    """Multiply-accumulates of the naive module's convolutions on a size×size input."""
    return _macs(_naive_convs(in_channels, ch1x1, ch3x3, ch5x5), size)


def reduced_inception_macs(size: int, in_channels: int, ch1x1: int, ch3x3red: int, ch3x3: int,
                           ch5x5red: int, ch5x5: int, pool_proj: int) -> int:
    cfg = InceptionConfig(in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj)
    return _macs(_reduced_convs(cfg), size)


# --- whole networks from stem, body and table ---------------------------------------------------

def _as_row(row):
    """A stem or body row as its record; an inception module's name stays a str."""
    if isinstance(row, str):
        return row
    record = {"conv": ConvRow, "maxpool": PoolRow}.get(row[0] if len(row) else None)
    if record is None:
        raise ValueError(f"unknown row {row!r}")
    return record._make(row)


def _module(name: str, table, in_channels: int) -> InceptionConfig:
    """The table's row for module ``name``, which must take the channels the previous row gives."""
    cfg = InceptionConfig._make(table[name])
    if cfg.in_channels != in_channels:
        raise ValueError(f"inception {name} expects {cfg.in_channels} input channels, gets {in_channels}")
    return cfg


def network_shapes(stem, body, table, size: int, in_channels: int = 3) -> list[tuple[str, tuple[int, int, int]]]:
    """``(label, (C, H, W))`` after every row of ``stem`` then ``body``."""
    shapes, c, h = [], in_channels, size
    for row in map(_as_row, (*stem, *body)):
        if isinstance(row, str):
            c = inception_out_channels(_module(row, table, c))
            label = f"inception {row}"
        elif row.kind == "conv":
            c, h = row.out_channels, conv_output_size(h, row.kernel_size, row.stride, row.padding)
            label = f"conv {row.kernel_size}×{row.kernel_size}/{row.stride}"
        else:
            h = pool_output_size(h, row.kernel_size, row.stride, row.padding, row.ceil_mode)
            label = f"maxpool {row.kernel_size}×{row.kernel_size}/{row.stride}"
        shapes.append((label, (c, h, h)))
    return shapes


def network_params(stem, body, table, num_classes: int, in_channels: int = 3, kernel5: int = 5,
                   aux_after=()) -> int:
    """Conv blocks + inception blocks + the final linear layer after global average pooling
    (+ an auxiliary classifier after each module named in ``aux_after``)."""
    total, c = 0, in_channels
    for row in map(_as_row, (*stem, *body)):
        if isinstance(row, str):
            cfg = _module(row, table, c)
            c = inception_out_channels(cfg)
            total += sum(inception_branch_params(cfg, kernel5).values())
            total += inception_aux_params(c, num_classes) if row in aux_after else 0
        elif row.kind == "conv":
            total += conv_bn_params(c, row.out_channels, row.kernel_size)
            c = row.out_channels
    return total + linear_params(c, num_classes)


def googlenet_shapes(size: int = 224) -> list[tuple[str, tuple[int, int, int]]]:
    """GoogLeNet's feature shapes; at 224×224 inception (3a) sees 192×28×28, (5b) gives 1024×7×7."""
    return network_shapes(GOOGLENET_STEM, GOOGLENET_BODY, GOOGLENET_INCEPTION, size)


def googlenet_params(num_classes: int = 1000, aux_logits: bool = False, kernel5: int = 5) -> int:
    """GoogLeNet with BatchNorm blocks. ``kernel5=TORCHVISION_KERNEL5`` counts torchvision's
    ``googlenet(weights=None, aux_logits=False, init_weights=True)``: 6,624,904."""
    return network_params(GOOGLENET_STEM, GOOGLENET_BODY, GOOGLENET_INCEPTION, num_classes, kernel5=kernel5,
                          aux_after=GOOGLENET_AUX_AFTER if aux_logits else ())


def a3_network_shapes(size: int = 32) -> list[tuple[str, tuple[int, int, int]]]:
    return network_shapes(A3_STEM, A3_BODY, A3_INCEPTION, size)


def a3_network_params(num_classes: int = 10) -> int:
    return network_params(A3_STEM, A3_BODY, A3_INCEPTION, num_classes)
