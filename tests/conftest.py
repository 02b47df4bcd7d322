"""Test-wide settings: the smoke profile, and the offline CIFAR-10 copy when it exists."""
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data" / "cifar10"

# Set before anything imports course_utils, and inherited by every kernel a test starts.
os.environ["COURSE_PROFILE"] = "smoke"
os.environ.setdefault("COURSE_OFFLINE", "1")  # tests never download: CI has no network
if "COURSE_DATA_DIR" not in os.environ and SHARED_DATA.is_dir():
    os.environ["COURSE_DATA_DIR"] = str(SHARED_DATA)
# Plots in this process draw off-screen; kernels started by tests keep Jupyter's inline backend
# (an exported MPLBACKEND would reach them and their figures would never become outputs).
import matplotlib  # noqa: E402

matplotlib.use("Agg")


def have_cifar10() -> bool:
    from course_utils.data import data_root, layout
    return layout(data_root()) is not None


requires_cifar10 = pytest.mark.skipif(not have_cifar10(), reason="CIFAR-10 is not on disk (set COURSE_DATA_DIR)")


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT
