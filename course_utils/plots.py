"""Pictures the chapters show: curves, image grids, confusion matrices, filters, feature maps.

Every figure here is drawn to be read on the page: at most :data:`PAGE_WIDTH_IN` wide (a wider
figure is shrunk to the page's width, and its text with it) and no text smaller than
:data:`MIN_TEXT_PT` points as the reader sees it. :func:`smallest_text_pt` measures that, for
these figures and for any a chapter draws itself.
"""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import torch
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator

from .data import CLASSES, denormalize

# The widest figure a chapter page shows at full size: 750 px at the inline backend's 100 dpi,
# about the width of the article column of the book's theme at 1280 px.
PAGE_WIDTH_IN = 7.5
MIN_TEXT_PT = 9   # the smallest text a reader should have to read, in points at full size
TEXT_PT = 10      # labels, titles and tick labels of the figures below


def text_sizes(fig, page_width_in: float = PAGE_WIDTH_IN) -> list[tuple[str, float]]:
    """``(text, size in points)`` for every visible text of ``fig``, as shown on the page.

    A figure wider than ``page_width_in`` is scaled down to fit, so its text shrinks by the
    same factor. Tick labels exist only once the figure is drawn, so this draws it (no output).
    """
    fig.draw_without_rendering()
    scale = min(1.0, page_width_in / fig.get_figwidth())
    return [(t.get_text(), t.get_fontsize() * scale) for t in fig.findobj(Text)
            if t.get_visible() and t.get_text().strip()]


def smallest_text_pt(fig, page_width_in: float = PAGE_WIDTH_IN) -> float:
    """The size of the smallest visible text of ``fig`` as shown on the page, in points."""
    return min((size for _, size in text_sizes(fig, page_width_in)), default=math.inf)


def integer_ticks(ax) -> None:
    """Ticks on whole numbers only: an epoch (or step) axis never reads 1.5.

    ``min_n_ticks=1``: a one-epoch run (its axis spans 0.95 to 1.05) gets the single tick 1,
    where the default would fall back to fractional ticks.
    """
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))


def plot_history(history, title: str | None = None):
    """Loss and accuracy per epoch, train and validation side by side."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(PAGE_WIDTH_IN, 3.2))
    epochs = range(1, history.epochs + 1)
    ax_loss.plot(epochs, history.train_loss, "o-", label="train")
    ax_acc.plot(epochs, [100 * a for a in history.train_acc], "o-", label="train")
    if history.val_loss:
        ax_loss.plot(epochs, history.val_loss, "o-", label="validation")
        ax_acc.plot(epochs, [100 * a for a in history.val_acc], "o-", label="validation")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for ax in (ax_loss, ax_acc):
        integer_ticks(ax)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=TEXT_PT)
    if title:
        fig.suptitle(title, fontsize=TEXT_PT + 1)
    fig.tight_layout()
    return fig


def _as_display(images: torch.Tensor) -> torch.Tensor:
    """uint8 or normalised float N×3×H×W → float N×H×W×3 in [0, 1]."""
    images = images.detach().cpu()
    images = images.float() / 255 if images.dtype == torch.uint8 else denormalize(images.float())
    return images.permute(0, 2, 3, 1)


def gallery_indices(labels, per_class: int = 1, seed: int = 0) -> torch.Tensor:
    """Indices of ``per_class`` examples of every class in ``labels``, class after class.

    The order is round robin (one of each class, then a second of each, ...), so that a grid
    with one column per class shows every class in every row. Examples are drawn at random
    (seeded) within their class: the first items of a class-sorted split would all be
    airplanes. A class with fewer examples contributes what it has.
    """
    labels = torch.as_tensor(labels).cpu()
    gen = torch.Generator().manual_seed(seed)
    picks = []
    for c in labels.unique(sorted=True).tolist():
        idx = torch.nonzero(labels == c).flatten()
        picks.append(idx[torch.randperm(len(idx), generator=gen)[:per_class]])
    rounds = [p[r] for r in range(per_class) for p in picks if r < len(p)]
    return torch.stack(rounds) if rounds else torch.empty(0, dtype=torch.long)


def show_gallery(images: torch.Tensor, labels, preds=None, per_class: int = 1,
                 classes=CLASSES, ncols: int | None = None, seed: int = 0,
                 title: str | None = None):
    """A grid of ``per_class`` images of every class (with predictions, when given)."""
    pick = gallery_indices(labels, per_class, seed)
    labels = torch.as_tensor(labels).cpu()
    shown_preds = None if preds is None else torch.as_tensor(preds).cpu()[pick]
    n_classes = len(labels.unique())
    return show_images(images[pick.to(images.device)], labels[pick], shown_preds,
                       classes=classes, ncols=ncols or min(n_classes, 5), title=title)


def show_images(images: torch.Tensor, labels=None, preds=None, classes=CLASSES,
                ncols: int = 8, title: str | None = None):
    """A grid of images titled with their label (with predictions: right in green, wrong in red).

    With ``preds`` a title is the prediction, and for a wrong one a second line says the
    true class. The grid is at most a page wide; use few columns when titles are long.
    """
    shown = _as_display(images)
    nrows = math.ceil(len(shown) / ncols)
    cell = min(1.4, PAGE_WIDTH_IN / ncols)
    line_in = TEXT_PT / 72 * 1.3            # the height of one line of title text
    title_lines = 0 if labels is None else (2 if preds is not None else 1)
    fig, axes = plt.subplots(nrows, ncols, squeeze=False,
                             figsize=(cell * ncols, (cell + title_lines * line_in) * nrows))
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= len(shown):
            continue
        ax.imshow(shown[i].numpy(), interpolation="nearest")
        if labels is not None:
            text, color = classes[int(labels[i])], "black"
            if preds is not None:
                right = int(preds[i]) == int(labels[i])
                text = classes[int(preds[i])] + ("\n" if right else f"\ntrue: {text}")
                color = "green" if right else "red"
            ax.set_title(text, fontsize=TEXT_PT if cell >= 1 else MIN_TEXT_PT, color=color)
    if title:
        fig.suptitle(title, fontsize=TEXT_PT + 1)
    fig.tight_layout()
    return fig


def plot_confusion_matrix(cm: torch.Tensor, classes=CLASSES, normalize: bool = True,
                          title: str | None = None):
    """Rows are true classes, columns predictions; normalised per row by default."""
    cm = cm.float()
    shown = cm / cm.sum(1, keepdim=True).clamp(min=1) if normalize else cm
    fig, ax = plt.subplots(figsize=(6.5, 5.6))
    im = ax.imshow(shown.numpy(), cmap="Blues", vmin=0)
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set(xlabel="predicted", ylabel="true", title=title or "confusion matrix")
    for i in range(len(classes)):
        for j in range(len(classes)):
            value = f"{shown[i, j]:.2f}".lstrip("0") if normalize else f"{int(cm[i, j])}"
            ax.text(j, i, value, ha="center", va="center", fontsize=MIN_TEXT_PT,
                    color="white" if shown[i, j] > shown.max() / 2 else "black")
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig


def plot_layer_costs(names, params, macs, title: str | None = None):
    """Parameters and multiply-accumulates per layer, as two bar charts sharing the layer axis."""
    fig, (ax1, ax2) = plt.subplots(1, 2, sharey=True,
                                   figsize=(PAGE_WIDTH_IN, 1.2 + 0.32 * len(names)))
    ax1.barh(list(names), [p / 1e6 for p in params])
    ax1.set(xlabel="parameters (millions)", title=f"parameters: {sum(params) / 1e6:.1f} M")
    ax2.barh(list(names), [m / 1e9 for m in macs], color="C1")
    ax2.set(xlabel="multiply-accumulates (billions)",
            title=f"work per image: {sum(macs) / 1e9:.1f} G MACs")
    ax1.invert_yaxis()
    if title:
        fig.suptitle(title, fontsize=TEXT_PT + 1)
    fig.tight_layout()
    return fig


def _panel_grid(count: int, ncols: int, max_cell_in: float):
    """A grid of square panels for ``count`` images, as wide as the page allows."""
    nrows = math.ceil(count / ncols)
    cell = min(max_cell_in, PAGE_WIDTH_IN / ncols)
    return plt.subplots(nrows, ncols, figsize=(cell * ncols, cell * nrows + 0.4), squeeze=False)


def show_filters(weight: torch.Tensor, ncols: int = 8, title: str | None = None):
    """First-layer filters (out×3×k×k) as small RGB images, each rescaled to [0, 1]."""
    w = weight.detach().cpu().float()
    lo = w.amin(dim=(1, 2, 3), keepdim=True)
    hi = w.amax(dim=(1, 2, 3), keepdim=True)
    w = ((w - lo) / (hi - lo).clamp(min=1e-8)).permute(0, 2, 3, 1)
    fig, axes = _panel_grid(len(w), ncols, max_cell_in=1.0)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < len(w):
            ax.imshow((w[i] if w.shape[-1] == 3 else w[i, ..., 0]).numpy(), interpolation="nearest", cmap="gray")
    fig.suptitle(title or f"{len(w)} filters of size {weight.shape[-2]}×{weight.shape[-1]}",
                 fontsize=TEXT_PT + 1)
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
    fig, axes = _panel_grid(len(maps), ncols, max_cell_in=1.3)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < len(maps):
            ax.imshow(maps[i].numpy(), cmap="viridis")
    fig.suptitle(title or f"feature maps {tuple(captured['out'].shape[1:])}", fontsize=TEXT_PT + 1)
    fig.tight_layout()
    return fig
