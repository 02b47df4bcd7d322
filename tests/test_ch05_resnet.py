"""Chapter 5 (ResNet) runs top to bottom in the smoke profile, shows its plots, checks its own
numbers against the specs, teaches with torchvision's blocks (not Assignment 4's answer), and
runs within the 5-minute budget in the cpu profile."""
import re

import nbformat
import pytest

from conftest import ROOT, requires_cifar10
from notebook_runner import count_images, execute_notebook, outputs_text

CHAPTER = ROOT / "book" / "05_resnet.ipynb"
SETUP_CELL = '''# Setup: on Colab (or anywhere the course package is missing) install it; locally this does nothing.
try:
    import course_utils
except ImportError:
    %pip install --quiet "cnn-course @ git+https://github.com/cnn-course/cnn-course"
    import course_utils'''


@pytest.fixture(scope="module")
def executed():
    nb, seconds = execute_notebook(CHAPTER, profile="smoke", timeout=900)
    return nb, seconds


def test_chapter_is_committed_without_outputs_and_starts_with_the_setup_cells():
    nb = nbformat.read(CHAPTER, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    assert code[0].source == SETUP_CELL
    assert "profile = show_setup()" in code[1].source and "seed_everything(0)" in code[1].source
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# Chapter 5")


def test_chapter_builds_its_networks_from_torchvision_blocks_not_the_assignment_classes():
    source = "\n".join(c.source for c in nbformat.read(CHAPTER, as_version=4).cells if c.cell_type == "code")
    assert "from torchvision.models.resnet import BasicBlock" in source
    assert not re.search(r"^class (BasicBlock|ResNetCIFAR)\b", source, re.M)
    assert "def train_model" not in source


def test_chapter_contains_no_run_of_assignment_solution_or_hidden_test_lines():
    from course_grader.leaks import assert_no_leaks
    assert_no_leaks([CHAPTER], ROOT / "solutions")


@requires_cifar10
@pytest.mark.timeout(1200)
def test_chapter_executes_in_smoke_and_shows_its_plots(executed):
    nb, _ = executed
    # gradient norms, plain vs ResNet curves, ResNet-20 history, confusion matrix, misclassified grid, speed run
    assert count_images(nb) >= 6


@requires_cifar10
@pytest.mark.timeout(1200)
def test_chapter_numbers_agree_with_the_specs(executed):
    text = outputs_text(executed[0])
    assert "MISMATCH" not in text and "DIFFERENT" not in text
    assert text.count(" ok") >= 6 + 10          # ResNet-20 and ResNet-18 shape walk-throughs, row by row
    assert re.search(r"specs\.resnet18_params\(\) = 11,689,512 +\(equal\)", text)
    assert "block(x) equals ReLU(x) exactly: True" in text


@requires_cifar10
@pytest.mark.timeout(1200)
def test_chapter_reports_measured_runs_not_claims(executed):
    text = outputs_text(executed[0])
    assert "profile: smoke" in text
    for name in ("plain-20", "ResNet-20"):
        assert re.search(rf"{name}: train loss [\d.]+, train accuracy [\d.]+%, test accuracy [\d.]+%", text), name
    # the 56-layer training pair is the full profile's; the gradient-norm probe may name it
    assert not re.search(r"(plain|ResNet)-56: train loss", text)
    assert re.search(r"plain-110 gradient norm, first conv / last conv: +[\d,.]+", text)
    assert re.search(r"test accuracy [\d.]+% \([\d.]+% with flip TTA\) in [\d.]+ s", text)


@pytest.mark.slow
@requires_cifar10
@pytest.mark.timeout(1800)
def test_chapter_runs_within_five_minutes_in_the_cpu_profile():
    """The cpu-profile budget (2 CPU cores). Timings on a shared machine are noisy."""
    _, seconds = execute_notebook(CHAPTER, profile="cpu", timeout=1200)
    assert seconds <= 300, f"Chapter 5 took {seconds:.0f} s in the cpu profile (budget 300 s)"
