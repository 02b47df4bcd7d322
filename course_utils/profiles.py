"""Every per-profile figure in one place: data sizes, epochs, batch size, what grading and the
site build may take, and the assignments' accuracy thresholds.

A profile is the one knob that trades time for fidelity. It never changes an architecture or
weakens a check. ``COURSE_PROFILE`` selects it (:func:`course_utils.config.get_profile`). This
module imports nothing heavy, so the grader and the site builder read it without torch.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

PROFILE_ENV = "COURSE_PROFILE"


@dataclass(frozen=True)
class Grading:
    """What grading one submission may take (training is skipped while grading)."""

    cell_timeout_s: int      # one cell, wall clock (nbgrader's Execute.timeout; the judge enforces it)
    memory_gb: float         # the judge's private memory (RLIMIT_DATA)
    cpu_s: int               # CPU time of all cells together (a backstop behind the timeouts)


@dataclass(frozen=True)
class Profile:
    """How much data and how many epochs a run uses, and what grading and the site may take.

    ``*_per_class`` of ``None`` means the whole split (5,000 train / 1,000 test per class).
    ``eval_per_class`` is the fixed, seeded test subset that graders evaluate on.
    """

    name: str
    train_per_class: int | None
    test_per_class: int | None
    eval_per_class: int | None
    epochs: int
    batch_size: int
    description: str
    grading: Grading
    site_cell_timeout_s: int      # one chapter cell while the site is built (Jupyter Book's is 30 s)

    @property
    def train_size(self) -> int:
        return 10 * (self.train_per_class or 5000)

    @property
    def test_size(self) -> int:
        return 10 * (self.test_per_class or 1000)

    def as_dict(self) -> dict:
        return asdict(self)


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke", train_per_class=30, test_per_class=20, eval_per_class=20,
        epochs=1, batch_size=50,
        description="seconds: proves the plumbing works (tests, CI)",
        grading=Grading(cell_timeout_s=120, memory_gb=4.0, cpu_s=600), site_cell_timeout_s=300,
    ),
    "cpu": Profile(
        name="cpu", train_per_class=250, test_per_class=100, eval_per_class=100,
        epochs=4, batch_size=64,
        description="a real but small run: each chapter executes in <= 5 min on 2 CPU cores",
        grading=Grading(cell_timeout_s=300, memory_gb=6.0, cpu_s=1800), site_cell_timeout_s=600,
    ),
    "full": Profile(
        name="full", train_per_class=None, test_per_class=None, eval_per_class=None,
        epochs=30, batch_size=128,
        description="all 50,000/10,000 images and the epochs a real course uses (GPU)",
        grading=Grading(cell_timeout_s=900, memory_gb=16.0, cpu_s=3600), site_cell_timeout_s=3600,
    ),
}


# --- Accuracy thresholds of the assignments' hidden tests ----------------------------------
# One per assignment and profile, as a fraction of the fixed grading subset
# (data.eval_loader(profile): smoke 200 images, cpu 1,000, full the whole 10,000-image test
# split; A2 counts only its five target classes). Each comes from a committed run record of the
# reference solution (course_utils/records/, made by `make results`) minus a stated margin, for
# the data variant that record ran on; tests/test_records.py holds every threshold to its
# record. A threshold no record backs yet says why in ``provisional``.


@dataclass(frozen=True)
class Threshold:
    """The accuracy a hidden test requires, and where that number comes from."""

    value: float              # fraction of the grading subset
    record: str               # run name of the record: records.load(record, profile)
    margin: float             # the record's test accuracy minus value is at least this
    data_variant: str = "cifar10-jpeg-q75"
    provisional: str = ""     # why no record backs the value yet ("" once one does)


NO_GPU = "provisional: no full-profile record yet (no GPU was lent); re-derive after `make results`"


def _from_records(aid: str, smoke: tuple[float, float], cpu: tuple[float, float], full: float,
                  full_margin: float = 0.03) -> dict[str, Threshold]:
    """``(value, margin)`` for the profiles with records of ``aid``'s reference; ``full`` waits."""
    return {"smoke": Threshold(smoke[0], aid, smoke[1]),
            "cpu": Threshold(cpu[0], aid, cpu[1]),
            "full": Threshold(full, aid, full_margin, provisional=NO_GPU)}


# The accuracies these come from are in course_utils/records/<profile>/<aid>.json. Chance is
# 10 % (A2: 20 %, five target classes); tests/test_records.py checks that each reference's
# untrained network stays below every smoke and cpu value.
ACCURACY_THRESHOLDS: dict[str, dict[str, Threshold]] = {
    "a1_vgg": _from_records("a1_vgg", smoke=(0.13, 0.03), cpu=(0.30, 0.11), full=0.80),
    "a2_finetune": _from_records("a2_finetune", smoke=(0.45, 0.29), cpu=(0.65, 0.10), full=0.70),
    "a3_inception": _from_records("a3_inception", smoke=(0.15, 0.07), cpu=(0.40, 0.07), full=0.80),
    "a4_resnet": _from_records("a4_resnet", smoke=(0.13, 0.07), cpu=(0.25, 0.12), full=0.90),
}
# A2 with COURSE_BACKBONE=imagenet (torchvision ResNet-18 with ImageNet weights): no such
# weights exist offline, so no record backs any of these.
_NO_IMAGENET = "provisional: no record (ImageNet weights cannot be fetched where the records were made)"
ACCURACY_THRESHOLDS["a2_finetune_imagenet"] = {
    p: Threshold(v, "a2_finetune_imagenet", 0.03, provisional=_NO_IMAGENET)
    for p, v in {"smoke": 0.35, "cpu": 0.55, "full": 0.70}.items()
}


def accuracy_threshold(assignment: str, profile: str) -> float:
    """The accuracy (a fraction) the hidden test of ``assignment`` requires in ``profile``.

    A provisional threshold (``ACCURACY_THRESHOLDS[a][p].provisional``) is returned too: grading
    on a GPU must work before its record exists. Its reason says how to replace it.
    """
    name = profile.strip().lower()
    if name not in PROFILES:
        raise ValueError(f"Unknown profile {profile!r}. Choose one of: {', '.join(PROFILES)}.")
    return ACCURACY_THRESHOLDS[assignment][name].value


def transfer_threshold(backbone: str, profile: str) -> float:
    """A2's threshold for the backbone in use (``'course'`` or ``'imagenet'``)."""
    return accuracy_threshold("a2_finetune" if backbone == "course" else "a2_finetune_imagenet", profile)


# Just the values, ``{assignment: {profile: fraction}}``, for pages and reports that print them.
THRESHOLD_VALUES: dict[str, dict[str, float]] = {
    aid: {p: t.value for p, t in by_profile.items()} for aid, by_profile in ACCURACY_THRESHOLDS.items()}
