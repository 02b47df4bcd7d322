"""Parameter counts and a torchsummary table that works on CPU and CUDA alike."""
from __future__ import annotations

import torch.nn as nn


def iter_parameters(model: nn.Module):
    """Every distinct parameter tensor with its dotted name, read from the module tree itself.

    Walks ``_modules``/``_parameters`` directly, so a patched ``Module.parameters`` or
    ``named_parameters`` (say, in a student's notebook) cannot change the count.
    """
    seen, stack = set(), [("", model)]
    while stack:
        prefix, module = stack.pop()
        for name, p in vars(module).get("_parameters", {}).items():
            if p is not None and id(p) not in seen:
                seen.add(id(p))
                yield prefix + name, p
        children = list(vars(module).get("_modules", {}).items())
        for name, child in reversed(children):
            if child is not None:
                stack.append((f"{prefix}{name}.", child))


def count_parameters(model: nn.Module) -> dict[str, int]:
    """``{'total', 'trainable', 'frozen'}`` numbers of scalar parameters."""
    total = trainable = 0
    for _, p in iter_parameters(model):
        total += p.numel()
        trainable += p.numel() if p.requires_grad else 0
    return {"total": total, "trainable": trainable, "frozen": total - trainable}


def summarize(model: nn.Module, input_size=(3, 32, 32), batch_size: int = -1) -> None:
    """Print torchsummary's layer table on whichever device ``model`` lives on.

    torchsummary assumes CUDA unless told otherwise; we tell it where the model is.
    """
    from torchsummary import summary
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()  # BatchNorm would otherwise see a batch of 2 random images and update its statistics
    try:
        summary(model, input_size, batch_size=batch_size, device="cuda" if device.type == "cuda" else "cpu")
    finally:
        model.train(was_training)
    counts = count_parameters(model)
    print(f"trainable {counts['trainable']:,} / frozen {counts['frozen']:,} / total {counts['total']:,}")
