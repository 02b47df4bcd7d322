"""Accuracy, per-class accuracy and the confusion matrix, from predictions and labels."""
from __future__ import annotations

import torch


def _preds(outputs: torch.Tensor) -> torch.Tensor:
    return outputs.argmax(1) if outputs.ndim == 2 else outputs


def accuracy(outputs: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction correct; ``outputs`` are logits (N×C) or predicted labels (N)."""
    labels = torch.as_tensor(labels)
    if len(labels) == 0:
        raise ValueError("accuracy of an empty set is undefined")
    return (_preds(outputs).cpu() == labels.cpu()).float().mean().item()


def confusion_matrix(outputs: torch.Tensor, labels: torch.Tensor, num_classes: int = 10) -> torch.Tensor:
    """``cm[i, j]`` counts examples of true class ``i`` predicted as ``j``."""
    preds, labels = _preds(outputs).cpu().long(), torch.as_tensor(labels).cpu().long()
    return torch.bincount(labels * num_classes + preds, minlength=num_classes ** 2).view(num_classes, num_classes)


def per_class_accuracy(outputs: torch.Tensor, labels: torch.Tensor, num_classes: int = 10) -> torch.Tensor:
    """Recall of each class (NaN for a class with no examples)."""
    cm = confusion_matrix(outputs, labels, num_classes).float()
    return cm.diag() / cm.sum(1)
