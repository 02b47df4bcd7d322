"""Choosing the run profile, the device, and seeding.

The profiles themselves, and every per-profile figure, are in :mod:`course_utils.profiles`.
"""
from __future__ import annotations

import os
import random

import numpy as np
import torch

from .profiles import PROFILE_ENV, PROFILES, Profile


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
