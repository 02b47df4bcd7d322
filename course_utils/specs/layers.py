"""Output sizes and parameter counts of single layers: what every architecture's formulas add up."""
from __future__ import annotations

__all__ = ["conv_output_size", "pool_output_size", "conv_params", "linear_params", "batchnorm_params",
           "conv_bn_params", "mlp_params"]


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """floor((size + 2·padding − dilation·(kernel − 1) − 1) / stride) + 1."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def pool_output_size(size: int, kernel: int, stride: int, padding: int = 0, ceil_mode: bool = False) -> int:
    """Output size of ``nn.MaxPool2d``; with ``ceil_mode`` the last window must start inside the input."""
    span = size + 2 * padding - kernel
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def conv_params(in_ch: int, out_ch: int, kernel: int, bias: bool = True) -> int:
    return out_ch * in_ch * kernel * kernel + (out_ch if bias else 0)


def linear_params(in_features: int, out_features: int, bias: bool = True) -> int:
    return in_features * out_features + (out_features if bias else 0)


def batchnorm_params(channels: int) -> int:
    """Weight and bias; running statistics are buffers, not parameters."""
    return 2 * channels


def conv_bn_params(in_ch: int, out_ch: int, kernel: int) -> int:
    """A conv → BatchNorm (→ ReLU) block: the conv has no bias, BatchNorm's shift replaces it."""
    return conv_params(in_ch, out_ch, kernel, bias=False) + batchnorm_params(out_ch)


def mlp_params(in_features: int, hidden, num_classes: int) -> int:
    """Linear layers in_features → hidden… → num_classes (ReLU and dropout have no parameters)."""
    sizes = [in_features, *hidden, num_classes]
    return sum(linear_params(a, b) for a, b in zip(sizes, sizes[1:]))
