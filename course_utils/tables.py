"""Tables the chapters show: a small :class:`Table` (HTML in a notebook, aligned text elsewhere)
and the formatting that would otherwise fill a chapter's code cells.

* :func:`vgg_stages` — VGG's stages with their output shapes at one or more input sizes;
* :func:`compare_runs` — the architectures side by side (parameters, accuracy, time), read
  from the committed run records (:mod:`course_utils.records`), "no record yet" where none
  exists. Chapter 4 shows it for VGG and GoogLeNet; Chapter 5 adds its ResNets by name.
"""
from __future__ import annotations

import html
from collections.abc import Iterable, Sequence


class Table:
    """Rows under a header. A notebook shows it as an HTML table; ``print`` as aligned text."""

    def __init__(self, header: Sequence[str], rows: Iterable[Sequence], title: str | None = None,
                 notes: Sequence[str] = ()):
        self.header = [str(h) for h in header]
        self.rows = [[_cell(v) for v in row] for row in rows]
        self.title = title
        self.notes = list(notes)
        if any(len(row) != len(self.header) for row in self.rows):
            raise ValueError("every row needs one value per column")

    def column(self, name: str) -> list[str]:
        i = self.header.index(name)
        return [row[i] for row in self.rows]

    def __str__(self) -> str:
        columns = range(len(self.header))
        widths = [max(len(r[i]) for r in [self.header, *self.rows]) for i in columns]
        numeric = [all(_is_number(r[i]) for r in self.rows) for i in columns]

        def line(row):
            return "  ".join(v.rjust(w) if num else v.ljust(w)
                             for v, w, num in zip(row, widths, numeric)).rstrip()

        lines = ([self.title] if self.title else []) + [line(self.header)]
        lines += ["  ".join("-" * w for w in widths)] + [line(r) for r in self.rows]
        return "\n".join(lines + self.notes)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        def tag(name, v, right=False):
            style = ' style="text-align:right"' if right else ""
            return f"<{name}{style}>{html.escape(v)}</{name}>"

        head = "".join(tag("th", h) for h in self.header)
        body = "".join("<tr>" + "".join(tag("td", v, _is_number(v)) for v in row) + "</tr>"
                       for row in self.rows)
        caption = f"<caption>{html.escape(self.title)}</caption>" if self.title else ""
        notes = "".join(f"<p>{html.escape(n)}</p>" for n in self.notes)
        return (f'<div style="overflow-x:auto"><table>{caption}<thead><tr>{head}</tr></thead>'
                f"<tbody>{body}</tbody></table>{notes}</div>")


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:,.3g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _is_number(text: str) -> bool:
    return text.replace(",", "").replace(".", "").replace("%", "").strip().isdigit()


# --- Chapter 2: VGG's stages ----------------------------------------------------------------

def vgg_stage_rows(cfg) -> list[str]:
    """The layers of each stage of a VGG config list, e.g. ``'conv3-256, conv3-256, maxpool'``."""
    stages, current = [], []
    for v in cfg:
        current.append("maxpool" if v == "M" else f"conv3-{v}")
        if v == "M":
            stages.append(", ".join(current))
            current = []
    return stages


def vgg_stages(cfg, sizes: Sequence[int] = (224,), title: str | None = None) -> Table:
    """Stage by stage: its layers and its output (C, H, W) for each input size in ``sizes``."""
    from .specs import vgg_stage_shapes
    shapes = [vgg_stage_shapes(cfg, size) for size in sizes]
    header = ["stage", "layers"] + [f"output at {s}×{s}" for s in sizes]
    rows = [["0", "input", *(str(s[0]) for s in shapes)]]
    for i, layers in enumerate(vgg_stage_rows(cfg), 1):
        rows.append([str(i), layers, *(str(s[i]) for s in shapes)])
    return Table(header, rows, title=title)


# --- Chapters 4 and 5: the architectures side by side, from run records ---------------------

# What the book calls each chapter run (a run name alone is accepted too).
RUN_LABELS = {
    "ch2_vgg11": "VGG-11 (Chapter 2)",
    "ch3_feature_extraction": "course CNN, frozen features + new head (Chapter 3)",
    "ch3_finetune": "course CNN, fine-tuned (Chapter 3)",
    "ch4_googlenet": "CIFAR GoogLeNet (Chapter 4)",
    "ch5_plain20": "plain-20 (Chapter 5)",
    "ch5_resnet20": "ResNet-20 (Chapter 5)",
    "ch5_plain56": "plain-56 (Chapter 5)",
    "ch5_resnet56": "ResNet-56 (Chapter 5)",
    "speedrun": "ResNet-9 speed run (Chapter 5)",
}
NO_RECORD = "no record yet"


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def compare_runs(runs: Iterable[str], params: dict[str, int] | None = None,
                 profile: str = "full", root=None) -> Table:
    """One row per run name: parameters, test accuracy, epochs, training time and device.

    The figures come from the committed records of ``profile`` (``records.load``); a run
    without one reads "no record yet". ``params`` gives the parameter count of a run's network
    when its record does not carry one (``record.extra["params"]``). Append runs to compare
    more, e.g. ``compare_runs([*CHAPTER_RUNS, "ch5_resnet20"])``.
    """
    from . import records
    params = params or {}
    rows, variants = [], set()
    for name in runs:
        record = records.load(name, profile, root)
        n = params.get(name) or (record.extra.get("params") if record else None)
        label = RUN_LABELS.get(name, name)
        if record is None:
            rows.append([label, f"{n:,}" if n else "—", NO_RECORD, "", "", ""])
            continue
        variants.add(record.data_variant)
        rows.append([label, f"{n:,}" if n else "—", f"{100 * record.test_accuracy:.1f} %",
                     str(record.epochs), _minutes(record.wall_s), record.device])
    notes = [f"{profile}-profile records (course_utils/records/{profile}/), test accuracy on "
             "the whole 10,000-image test split" if profile == "full" else
             f"{profile}-profile records"]
    if variants:
        notes.append("data: " + ", ".join(sorted(variants)))
    return Table(["network", "parameters", "test accuracy", "epochs", "training time", "device"],
                 rows, notes=notes)


# The chapter runs that train a network from scratch on all of CIFAR-10, in course order.
CHAPTER_RUNS = ("ch2_vgg11", "ch4_googlenet")
