"""Block diagrams of the course's building blocks, drawn with matplotlib (no files, no network).

One function per block type, each returning a figure that fits the page (see
:mod:`course_utils.plots`): :func:`vgg_stage` (Chapter 2), :func:`inception_block`
(Chapter 4), :func:`residual_block` (Chapter 5). Data flows from top to bottom, as in the
papers' figures; every box says what the layer is and how many channels it outputs.
"""
from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from .plots import PAGE_WIDTH_IN, TEXT_PT

# Box colours by what a layer does, the same in every diagram.
COLORS = {"conv": "#cfe2f3", "pool": "#fce5cd", "norm": "#eeeeee", "merge": "#d9ead3",
          "io": "#ffffff", "shortcut": "#fff2cc"}
ROW_IN = 0.62     # vertical distance between two layers, inches
BOX_H = 0.40


@dataclass
class Box:
    x: float      # centre, inches from the left
    y: float      # centre, inches from the bottom
    w: float
    h: float

    @property
    def top(self) -> tuple[float, float]:
        return self.x, self.y + self.h / 2

    @property
    def bottom(self) -> tuple[float, float]:
        return self.x, self.y - self.h / 2


class _Canvas:
    """A figure whose data coordinates are inches, so that boxes and text keep their size."""

    def __init__(self, width: float, height: float, title: str | None = None):
        self.fig = plt.figure(figsize=(width, height))
        self.ax = self.fig.add_axes((0, 0, 1, 1))
        self.ax.set_xlim(0, width)
        self.ax.set_ylim(0, height)
        self.ax.axis("off")
        if title:
            self.ax.text(width / 2, height - 0.22, title, ha="center", va="center",
                         fontsize=TEXT_PT + 1, weight="bold")

    def box(self, x: float, y: float, text: str, kind: str = "conv", w: float = 1.6,
            h: float = BOX_H) -> Box:
        self.ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h,
                                         boxstyle="round,pad=0.02,rounding_size=0.06",
                                         facecolor=COLORS[kind], edgecolor="#444444", lw=1))
        self.ax.text(x, y, text, ha="center", va="center", fontsize=TEXT_PT)
        return Box(x, y, w, h)

    def node(self, x: float, y: float, symbol: str, r: float = 0.17) -> Box:
        """A round merge node (``+`` for a sum)."""
        self.ax.add_patch(Circle((x, y), r, facecolor=COLORS["merge"], edgecolor="#444444"))
        self.ax.text(x, y, symbol, ha="center", va="center", fontsize=TEXT_PT + 2, weight="bold")
        return Box(x, y, 2 * r, 2 * r)

    def arrow(self, start, end) -> None:
        self.ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=11,
                                          color="#444444", lw=1, shrinkA=0, shrinkB=0))

    def path(self, points, arrow: bool = True) -> None:
        """A polyline through ``points``, with an arrow head on its last segment."""
        *line, last = points
        xs, ys = zip(*line)
        self.ax.plot(xs, ys, color="#444444", lw=1)
        if arrow:
            self.arrow(line[-1], last)

    def note(self, x: float, y: float, text: str, ha: str = "left") -> None:
        self.ax.text(x, y, text, ha=ha, va="center", fontsize=TEXT_PT, color="#555555",
                     style="italic")


def _shape(c: int, size: int) -> str:
    return f"{c} × {size} × {size}"


def vgg_stage(widths=(256, 256), in_channels: int = 128, size: int = 8,
              batch_norm: bool = True, title: str | None = None):
    """One VGG stage: 3×3 convolutions (padding 1) that keep the size, then a 2×2 max-pool.

    ``widths`` are the output channels of the stage's convolutions (one entry of VGG's table
    per convolution), ``in_channels`` × ``size`` × ``size`` the stage's input.
    """
    rows = 2 + 2 * len(widths) + 1          # input, conv + activation per conv, pool, output
    height = rows * ROW_IN + 0.5
    canvas = _Canvas(5.2, height, title or "a VGG stage")
    x, y = 1.7, height - 0.75
    prev = canvas.box(x, y, "input " + _shape(in_channels, size), "io", w=2.6)
    layers = []
    for w in widths:
        layers.append((f"3×3 conv, {w} channels", "conv", f"padding 1: stays {size}×{size}"))
        layers.append(("BatchNorm + ReLU" if batch_norm else "ReLU", "norm", None))
    layers.append(("2×2 max-pool, stride 2", "pool", f"halves the size: {size // 2}×{size // 2}"))
    layers.append(("output " + _shape(widths[-1], size // 2), "io", None))
    for text, kind, note in layers:
        y -= ROW_IN
        box = canvas.box(x, y, text, kind, w=2.6)
        canvas.arrow(prev.bottom, box.top)
        if note:
            canvas.note(x + 1.45, y, note)
        prev = box
    return canvas.fig


def inception_block(cfg=(192, 64, 96, 128, 16, 32, 32), size: int = 28, kernel5: int = 5,
                    naive: bool = False, title: str | None = None):
    """An Inception module: four branches side by side, concatenated along the channels.

    ``cfg`` is a row of GoogLeNet's table (``in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red,
    ch5x5, pool_proj``, e.g. ``specs.GOOGLENET_INCEPTION["3a"]``). ``naive=True`` draws the
    first sketch without the 1×1 reductions, whose pool branch passes every input channel on.
    """
    c_in, n1, r3, n3, r5, n5, pp = cfg
    k5 = f"{kernel5}×{kernel5}"
    if naive:
        branches = [[("1×1 conv", n1)], [("3×3 conv", n3)], [(f"{k5} conv", n5)],
                    [("3×3 max-pool", c_in)]]
    else:
        branches = [[("1×1 conv", n1)], [("1×1 conv", r3), ("3×3 conv", n3)],
                    [("1×1 conv", r5), (f"{k5} conv", n5)],
                    [("3×3 max-pool", c_in), ("1×1 conv", pp)]]
    outs = [branch[-1][1] for branch in branches]
    height = 5 * ROW_IN + 1.05
    canvas = _Canvas(PAGE_WIDTH_IN, height,
                     title or ("naive Inception module" if naive else "Inception module"))
    top_y = height - 0.75
    mid = PAGE_WIDTH_IN / 2
    source = canvas.box(mid, top_y, "input " + _shape(c_in, size), "io", w=2.6)
    concat_y = top_y - 3.5 * ROW_IN
    concat = canvas.box(mid, concat_y, "concatenate channels (dim=1): "
                        + " + ".join(map(str, outs)) + f" = {sum(outs)}", "merge", w=5.4)
    column_w = PAGE_WIDTH_IN / 4
    for i, branch in enumerate(branches):
        x = column_w * (i + 0.5)
        prev_point = source.bottom
        for j, (layer, channels) in enumerate(branch):
            y = top_y - (j + 1.1) * ROW_IN
            kind = "pool" if "pool" in layer else "conv"
            label = f"{layer}\n→ {channels}" if kind == "conv" else f"{layer}\nstride 1"
            box = canvas.box(x, y, label, kind, w=column_w - 0.2, h=0.46)
            canvas.arrow(prev_point, box.top)
            prev_point = box.bottom
        canvas.arrow(prev_point, (x, concat.top[1]))
    out = canvas.box(mid, concat_y - ROW_IN, "output " + _shape(sum(outs), size), "io", w=2.6)
    canvas.arrow(concat.bottom, out.top)
    canvas.note(0.1, 0.2, "every conv: padding keeps the size; + ReLU (BatchNorm too in "
                "torchvision's BasicConv2d)")
    return canvas.fig


def residual_block(in_channels: int = 16, out_channels: int = 16, stride: int = 1,
                   size: int = 32, shortcut: str | None = None, title: str | None = None):
    """A ResNet basic block: two 3×3 convolutions, plus a shortcut added before the last ReLU.

    The shortcut is the identity when the shape is kept; when ``stride`` or the channels
    change it must change the shape too: ``shortcut`` names how (default: a 1×1 convolution
    with the same stride, then BatchNorm).
    """
    identity = stride == 1 and in_channels == out_channels
    shortcut = shortcut or ("identity" if identity else f"1×1 conv, stride {stride}\n+ BatchNorm")
    out_size = size // stride
    height = 8 * ROW_IN + 0.5
    canvas = _Canvas(6.2, height, title or "a residual (basic) block")
    x, y = 1.8, height - 0.75
    source = canvas.box(x, y, "input x: " + _shape(in_channels, size), "io", w=2.8)
    prev = source
    main = [(f"3×3 conv, {out_channels}, stride {stride}", "conv"), ("BatchNorm + ReLU", "norm"),
            (f"3×3 conv, {out_channels}", "conv"), ("BatchNorm", "norm")]
    for text, kind in main:
        y -= ROW_IN
        box = canvas.box(x, y, text, kind, w=2.8)
        canvas.arrow(prev.bottom, box.top)
        prev = box
    y -= ROW_IN
    add = canvas.node(x, y, "+")
    canvas.arrow(prev.bottom, add.top)
    side = x + 2.55
    split_y = source.bottom[1] - 0.12
    if identity:
        canvas.path([(x, split_y), (side, split_y), (side, add.y), (x + add.w / 2, add.y)])
        canvas.note(side + 0.1, (split_y + add.y) / 2, "identity")
    else:
        short = canvas.box(side, (split_y + add.y) / 2, shortcut, "shortcut", w=1.7, h=0.55)
        canvas.path([(x, split_y), (side, split_y), short.top])
        canvas.path([short.bottom, (side, add.y), (x + add.w / 2, add.y)])
    canvas.note(x - add.w / 2 - 0.1, add.y, "F(x) + x" if identity else "F(x) + shortcut(x)",
                ha="right")
    y -= ROW_IN
    relu = canvas.box(x, y, "ReLU", "norm", w=2.8)
    canvas.arrow(add.bottom, relu.top)
    y -= ROW_IN
    out = canvas.box(x, y, "output " + _shape(out_channels, out_size), "io", w=2.8)
    canvas.arrow(relu.bottom, out.top)
    return canvas.fig
