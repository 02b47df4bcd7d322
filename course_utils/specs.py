"""Reference numbers the graders compare against, computed from architecture tables.

Everything here is a formula over a table (shapes, parameter counts); tests cross-check the
formulas against torchvision's models and the reference solutions. Nothing here implements a
network an assignment asks for.
"""
from __future__ import annotations


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """floor((size + 2·padding − dilation·(kernel − 1) − 1) / stride) + 1."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def conv_params(in_ch: int, out_ch: int, kernel: int, bias: bool = True) -> int:
    return out_ch * in_ch * kernel * kernel + (out_ch if bias else 0)


def linear_params(in_features: int, out_features: int, bias: bool = True) -> int:
    return in_features * out_features + (out_features if bias else 0)


def batchnorm_params(channels: int) -> int:
    """Weight and bias; running statistics are buffers, not parameters."""
    return 2 * channels


# Accuracy thresholds per assignment and profile (fractions, on the fixed grading subset).
# Each is set from measured runs of the reference solution with a margin; the comment beside
# each entry gives the measured value and the command that measured it.
ACCURACY_THRESHOLDS: dict[str, dict[str, float]] = {}


def accuracy_threshold(assignment: str, profile: str) -> float:
    return ACCURACY_THRESHOLDS[assignment][profile]


# --- VGG (Chapter 2, Assignment 1) ----------------------------------------------------------

# --- Transfer learning (Chapter 3, Assignment 2) --------------------------------------------

# --- GoogLeNet / Inception (Chapter 4, Assignment 3) ----------------------------------------

# --- ResNet (Chapter 5, Assignment 4) --------------------------------------------------------
