"""Pictures the chapters show: curves, image grids, confusion matrices, filters, feature maps."""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import torch

from .data import CLASSES, denormalize


def plot_history(history, title: str | None = None):
    """Loss and accuracy per epoch, train and validation side by side."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.5))
    epochs = range(1, history.epochs + 1)
    ax_loss.plot(epochs, history.train_loss, "o-", label="train")
    ax_acc.plot(epochs, [100 * a for a in history.train_acc], "o-", label="train")
    if history.val_loss:
        ax_loss.plot(epochs, history.val_loss, "o-", label="validation")
        ax_acc.plot(epochs, [100 * a for a in history.val_acc], "o-", label="validation")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _as_display(images: torch.Tensor) -> torch.Tensor:
    """uint8 or normalised float N×3×H×W → float N×H×W×3 in [0, 1]."""
    images = images.detach().cpu()
    images = images.float() / 255 if images.dtype == torch.uint8 else denormalize(images.float())
    return images.permute(0, 2, 3, 1)


def show_images(images: torch.Tensor, labels=None, preds=None, classes=CLASSES, ncols: int = 8,
                title: str | None = None):
    """A grid of images titled with their label (and prediction, red when wrong)."""
    shown = _as_display(images)
    nrows = math.ceil(len(shown) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.4 * ncols, 1.6 * nrows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= len(shown):
            continue
        ax.imshow(shown[i].numpy(), interpolation="nearest")
        if labels is not None:
            text, color = classes[int(labels[i])], "black"
            if preds is not None:
                text = f"{classes[int(preds[i])]}\n(true: {text})"
                color = "green" if int(preds[i]) == int(labels[i]) else "red"
            ax.set_title(text, fontsize=8, color=color)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_confusion_matrix(cm: torch.Tensor, classes=CLASSES, normalize: bool = True, title: str | None = None):
    """Rows are true classes, columns predictions; normalised per row by default."""
    cm = cm.float()
    shown = cm / cm.sum(1, keepdim=True).clamp(min=1) if normalize else cm
    fig, ax = plt.subplots(figsize=(6, 5))
    im = ax.imshow(shown.numpy(), cmap="Blues", vmin=0)
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set(xlabel="predicted", ylabel="true", title=title or "confusion matrix")
    for i in range(len(classes)):
        for j in range(len(classes)):
            value = f"{shown[i, j]:.2f}" if normalize else f"{int(cm[i, j])}"
            ax.text(j, i, value, ha="center", va="center", fontsize=7,
                    color="white" if shown[i, j] > shown.max() / 2 else "black")
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig


def show_filters(weight: torch.Tensor, ncols: int = 8, title: str | None = None):
    """First-layer filters (out×3×k×k) as small RGB images, each rescaled to [0, 1]."""
    w = weight.detach().cpu().float()
    lo = w.amin(dim=(1, 2, 3), keepdim=True)
    hi = w.amax(dim=(1, 2, 3), keepdim=True)
    w = ((w - lo) / (hi - lo).clamp(min=1e-8)).permute(0, 2, 3, 1)
    nrows = math.ceil(len(w) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols, nrows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < len(w):
            ax.imshow((w[i] if w.shape[-1] == 3 else w[i, ..., 0]).numpy(), interpolation="nearest", cmap="gray")
    fig.suptitle(title or f"{len(w)} filters of size {weight.shape[-2]}×{weight.shape[-1]}")
    fig.tight_layout()
    return fig


@torch.no_grad()
def show_feature_maps(model: torch.nn.Module, layer: torch.nn.Module, image: torch.Tensor,
                      n: int = 16, ncols: int = 8, title: str | None = None):
    """The first ``n`` channels that ``layer`` outputs for one (normalised) image."""
    captured = {}
    handle = layer.register_forward_hook(lambda m, i, o: captured.setdefault("out", o.detach().cpu()))
    try:
        model.eval()
        device = next(model.parameters()).device
        model(image.unsqueeze(0).to(device) if image.ndim == 3 else image.to(device))
    finally:
        handle.remove()
    maps = captured["out"][0][:n]
    nrows = math.ceil(len(maps) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.3 * ncols, 1.3 * nrows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < len(maps):
            ax.imshow(maps[i].numpy(), cmap="viridis")
    fig.suptitle(title or f"feature maps {tuple(captured['out'].shape[1:])}")
    fig.tight_layout()
    return fig
