"""Transfer learning (Chapter 3, Assignment 2): the course's source network and a new head.

The source network (course_utils.pretrained.CourseCNN) is a VGG-style table of 3×3 conv widths
and "M" (2×2 max-pool), each conv with bias + BatchNorm, then a global average pool and one
Linear head. Transfer learning keeps everything but the head and trains a new one.
"""
from __future__ import annotations

from .layers import linear_params
from .vgg import vgg_conv_widths, vgg_features_params

__all__ = ["plain_cnn_features_params", "plain_cnn_feature_dim", "head_params", "head_param_names"]


def plain_cnn_features_params(cfg, in_channels: int = 3, batch_norm: bool = True) -> int:
    """Parameters of a conv table like ``[32, "M", 64, ...]``: VGG's formula, BatchNorm by default."""
    return vgg_features_params(cfg, batch_norm, in_channels)


def plain_cnn_feature_dim(cfg) -> int:
    """Length of the pooled feature vector: the last conv width of the table."""
    return vgg_conv_widths(cfg)[-1]


def head_params(in_features: int, num_classes: int) -> int:
    """A new Linear head: the only trainable parameters when the features are frozen."""
    return linear_params(in_features, num_classes)


def head_param_names(head: str) -> list[str]:
    """Parameter names of a Linear head at dotted path ``head`` (``'fc'``, ``'classifier.1'``)."""
    return [f"{head}.weight", f"{head}.bias"]
