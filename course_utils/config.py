"""Run profiles, device choice and seeding.

A profile is the one knob that trades time for fidelity (subset sizes, epochs, batch size).
It never changes an architecture or weakens a check. ``COURSE_PROFILE`` selects it.
"""
from __future__ import annotations

import os
import random
from dataclasses import asdict, dataclass

import numpy as np
import torch

PROFILE_ENV = "COURSE_PROFILE"


@dataclass(frozen=True)
class Profile:
    """How much data and how many epochs a run uses.

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
    ),
    "cpu": Profile(
        name="cpu", train_per_class=250, test_per_class=100, eval_per_class=100,
        epochs=4, batch_size=64,
        description="a real but small run: each chapter executes in <= 5 min on 2 CPU cores",
    ),
    "full": Profile(
        name="full", train_per_class=None, test_per_class=None, eval_per_class=None,
        epochs=30, batch_size=128,
        description="all 50,000/10,000 images and the epochs a real course uses (GPU)",
    ),
}


def default_profile_name() -> str:
    return "full" if torch.cuda.is_available() else "cpu"


def get_profile(name: str | None = None) -> Profile:
    """The profile named by ``name``, else ``$COURSE_PROFILE``, else full on CUDA / cpu."""
    name = name or os.environ.get(PROFILE_ENV) or default_profile_name()
    try:
        return PROFILES[name.strip().lower()]
    except KeyError:
        raise ValueError(
            f"Unknown profile {name!r} (from ${PROFILE_ENV}). "
            f"Choose one of: {', '.join(PROFILES)}."
        ) from None


def get_device(prefer: str | None = None) -> torch.device:
    """CUDA when available, else CPU (``prefer='cpu'`` forces the CPU)."""
    if prefer:
        return torch.device(prefer)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) once, at the top of a run."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


def show_setup(profile: Profile | None = None, device: torch.device | None = None) -> Profile:
    """Print the active profile and device: the first output of every notebook."""
    profile = profile or get_profile()
    device = device or get_device()
    sizes = f"{profile.train_size:,} train / {profile.test_size:,} test images"
    print(f"profile: {profile.name} ({profile.description})")
    print(f"  {sizes}, {profile.epochs} epoch(s), batch size {profile.batch_size}")
    print(f"device: {device}" + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""))
    print(f"torch {torch.__version__}")
    return profile
