"""Run records: what a training run of the course achieved, where, on which data, and how.

Every figure the book states for the ``full`` profile comes from a record that ``make results``
wrote (``python -m course_tools.results``). Records are small JSON files shipped in the package,
one per run name and profile: ``course_utils/records/<profile>/<name>.json``. A chapter built
in ``smoke`` or ``cpu`` shows the recorded full run beside its own live run::

    from course_utils import records
    records.show("ch5_resnet20", live=history)

Run names are fixed (:data:`RUN_NAMES`); ``course_tools/results.py`` defines what each trains.
"""
from __future__ import annotations

import json
import os
import re
import textwrap
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

# Chapter runs, then the assignments' reference solutions.
RUN_NAMES = (
    "ch2_vgg11", "ch3_feature_extraction", "ch3_finetune", "ch4_googlenet",
    "ch5_plain20", "ch5_resnet20", "ch5_plain56", "ch5_resnet56", "speedrun",
    "a1_vgg", "a2_finetune", "a3_inception", "a4_resnet",
)
PROFILE_NAMES = ("smoke", "cpu", "full")
RECORDS_DIR = Path(__file__).resolve().parent / "records"   # package data, beside this module
HISTORY_KEYS = ("train_loss", "train_acc", "val_loss", "val_acc", "epoch_time")


@dataclass
class Record:
    """One recorded run. Accuracies are fractions; times are seconds.

    ``test_accuracy`` is measured on ``test_images`` images: the whole 10,000-image test split in
    the ``full`` profile, the profile's evaluation subset otherwise (``test_set`` says which).
    ``history`` holds per-epoch lists under :data:`HISTORY_KEYS` (``val_*`` on the test subset
    the run validates on). ``extra`` holds run-specific figures (e.g. the speed run's accuracy
    with flip TTA), each explained by its key.
    """

    name: str
    profile: str
    device: str                 # "NVIDIA H100 80GB HBM3", "cpu (2 cores)"
    data_variant: str           # "cifar10" (lossless) or "cifar10-jpeg-q75" (the offline copy)
    test_accuracy: float
    test_images: int
    test_set: str               # e.g. "test split, all 10,000 images"
    epochs: int
    wall_s: float               # training + final evaluation, data already loaded
    history: dict[str, list[float]]
    torch: str
    commit: str
    date: str                   # ISO 8601, UTC
    command: str                # what made it, from the repository root
    extra: dict = field(default_factory=dict)
    checkpoint: str | None = None   # file name beside the record, when weights were committed

    @property
    def is_full(self) -> bool:
        return self.profile == "full"

    def as_history(self):
        """The per-epoch curves as a :class:`course_utils.train.History` (for ``plot_history``)."""
        from .train import History
        return History(**{k: list(self.history.get(k, [])) for k in HISTORY_KEYS})

    def summary(self) -> str:
        """One line that says what was recorded, where, when and on which data."""
        return (f"{self.profile} profile, recorded on {self.device}, {self.date[:10]}, "
                f"{self.data_variant}: {100 * self.test_accuracy:.2f} % test accuracy "
                f"({self.test_images:,} images) in {self.wall_s:.0f} s")

    def to_json(self) -> str:
        text = json.dumps(asdict(self), indent=1)
        # Lists of numbers on one line each: a record stays short enough to read in a diff.
        return re.sub(r"\[\s+([-0-9.e,\s]*?)\s+\]", lambda m: "[" + " ".join(m.group(1).split()) + "]", text) + "\n"

    @classmethod
    def from_json(cls, text: str) -> "Record":
        data = json.loads(text)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def record_path(name: str, profile: str = "full", root: str | Path | None = None) -> Path:
    return Path(root or RECORDS_DIR) / profile / f"{name}.json"


def save(record: Record, root: str | Path | None = None) -> Path:
    """Write ``record`` as ``<root>/<profile>/<name>.json`` (atomically) and return the path."""
    path = record_path(record.name, record.profile, root)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(record.to_json())
    os.replace(tmp, path)
    return path


def load(name: str, profile: str = "full", root: str | Path | None = None) -> Record | None:
    """The record of run ``name`` in ``profile``, or ``None`` when none was made.

    ``make results`` makes the runs of :data:`RUN_NAMES`; other tools may add their own names
    (lower-case letters, digits and ``_``).
    """
    if not re.fullmatch(r"[a-z0-9_]+", name) or profile not in PROFILE_NAMES:
        raise ValueError(f"not a run name and profile: {name!r}, {profile!r}")
    path = record_path(name, profile, root)
    return Record.from_json(path.read_text()) if path.exists() else None


def all_records(root: str | Path | None = None) -> list[Record]:
    """Every record under ``root`` (the package's records by default), by profile then name."""
    root = Path(root or RECORDS_DIR)
    return [Record.from_json(p.read_text()) for p in sorted(root.glob("*/*.json"))]


def missing_line(name: str, profile: str = "full") -> str:
    return f"no {profile}-profile record of {name} yet: run `make results` on a GPU"


def show(name: str, live=None, profile: str = "full", root: str | Path | None = None):
    """Print the recorded run of ``name`` in one labelled line; with ``live`` (a History), plot both.

    The plot has loss and accuracy panels: the recorded run's curves (solid) beside the live,
    smaller run of this notebook (dashed). Returns the record, or ``None`` when there is none
    (then the line says so, and only the live run is plotted).
    """
    record = load(name, profile, root)
    print(record.summary() if record else missing_line(name, profile))
    if live is not None:
        plot_beside(record, live, title=name)
    return record


def plot_beside(record: Record | None, live, title: str = ""):
    """Loss and accuracy per epoch of a recorded run and a live History, on shared axes."""
    import matplotlib.pyplot as plt

    from .plots import PAGE_WIDTH_IN, integer_ticks
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(PAGE_WIDTH_IN, 3.4))
    runs = [(live, "this run", "--")]
    if record is not None:
        runs.insert(0, (record.as_history(), f"recorded {record.profile} run", "-"))
    for history, label, style in runs:
        epochs = range(1, history.epochs + 1)
        ax_loss.plot(epochs, history.train_loss, style + "o", label=f"{label}: train", ms=3)
        ax_acc.plot(epochs, [100 * a for a in history.train_acc], style + "o", label=f"{label}: train", ms=3)
        if history.val_acc:
            ax_loss.plot(epochs, history.val_loss, style + "s", label=f"{label}: test", ms=3)
            ax_acc.plot(epochs, [100 * a for a in history.val_acc], style + "s", label=f"{label}: test", ms=3)
    ax_loss.set_ylabel("cross-entropy loss", fontsize=10)
    ax_acc.set_ylabel("accuracy (%)", fontsize=10)
    for ax in (ax_loss, ax_acc):
        ax.set_xlabel("epoch", fontsize=10)
        integer_ticks(ax)
        ax.tick_params(labelsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=9)
    where = record.summary() if record else missing_line(title or "this run")
    # a record's summary is longer than the page is wide at 10 pt: wrap it, never widen the figure
    where = textwrap.fill(where, width=95)
    fig.suptitle(f"{title}\n{where}" if title else where, fontsize=10)
    fig.tight_layout()
    return fig


# --- where a record comes from --------------------------------------------------------------

def _jpeg_quality(path: Path) -> int | None:
    """The IJG quality whose luminance table matches the file's (None when none matches)."""
    from PIL import Image
    base = [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
            14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
            18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
            49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99]
    with Image.open(path) as im:
        table = sorted(getattr(im, "quantization", {}).get(0, []))
    for q in range(1, 101):
        scale = 5000 // q if q < 50 else 200 - 2 * q
        if sorted(min(max((b * scale + 50) // 100, 1), 255) for b in base) == table:
            return q
    return None


def data_variant(root: str | Path | None = None) -> str:
    """``'cifar10'`` for torchvision's lossless files, ``'cifar10-jpeg-q75'`` for the offline copy.

    Read from the layout of the data directory: ``cifar-10-batches-py`` is the lossless
    download; an ImageFolder of JPEG files is a re-encoded copy (its quality read from the
    first file's quantisation table); PNG files are lossless.
    """
    from .data import data_root, layout
    root = Path(root or data_root())
    kind = layout(root)
    if kind == "torchvision":
        return "cifar10"
    if kind is None:
        return "unknown"
    first = min((root / "test").glob("*/*.*"), default=None)
    if first is None:
        return "unknown"
    if first.suffix.lower() == ".png":
        return "cifar10-png"
    quality = _jpeg_quality(first)
    return f"cifar10-jpeg-q{quality}" if quality else "cifar10-jpeg"


def device_name(device) -> str:
    """``'NVIDIA H100 80GB HBM3'`` on CUDA, ``'cpu (2 cores)'`` otherwise."""
    import torch
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({os.cpu_count()} cores)"
