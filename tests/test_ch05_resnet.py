"""Chapter 5 (ResNet) runs top to bottom in the smoke profile, shows its plots and diagrams,
checks its own numbers against the specs, teaches with torchvision's blocks (not Assignment
4's answer), reads well (code width, no unbacked figures, galleries of every class,
exercises), shows its full-profile records or says they are missing, and runs within the
5-minute budget in the cpu profile."""
import re

import nbformat
import pytest

import chapter_checks as pages
from conftest import ROOT, requires_cifar10
from notebook_runner import count_images, execute_notebook

CHAPTER = ROOT / "book" / "05_resnet.ipynb"
SETUP_CELL = pages.SETUP_CELL


def test_chapter_is_committed_without_outputs_and_starts_with_the_setup_cells():
    nb = nbformat.read(CHAPTER, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    assert code[0].source == SETUP_CELL
    assert "profile = show_setup()" in code[1].source and "seed_everything(0)" in code[1].source
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# Chapter 5")


def test_chapter_page_is_readable_and_promises_nothing_no_run_backs():
    nb = nbformat.read(CHAPTER, as_version=4)
    assert pages.long_code_lines(nb) == []
    assert pages.unbacked_claims(pages.markdown(nb)) == []
    assert pages.small_fonts_and_wide_figures(nb) == []
    assert pages.prefix_galleries(nb) == []
    text = "\n".join(pages.markdown(nb))
    assert "speed run" not in text and "H100" not in text     # moved to Chapter 6, unbacked
    assert len(pages.exercises(nb)) >= 3
    headings = [t for t in pages.markdown(nb) if re.search(r"^## ", t, re.M)]
    assert "## Exercises" in headings[-1], "the exercises close the chapter"
    source = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "diagrams.residual_block(" in source and "show_gallery(" in source
    assert any("hide-output" in c.metadata.get("tags", []) and "print(block)" in c.source
               for c in nb.cells if c.cell_type == "code")


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
    nb, _, _ = executed
    # two residual-block diagrams, gradient norms, plain vs residual curves, the ResNet-20
    # record beside this run, ResNet-20 history, confusion matrix, misclassified gallery
    assert count_images(nb) >= 8
    assert pages.tall_outputs(nb) == []
    assert pages.wide_figures(nb) == []


@requires_cifar10
@pytest.mark.timeout(1200)
def test_chapter_numbers_agree_with_the_specs(executed):
    text = executed[1]
    assert "MISMATCH" not in text and "DIFFERENT" not in text
    assert text.count(" ok") >= 6 + 10          # ResNet-20 and ResNet-18 shape walk-throughs, row by row
    assert re.search(r"specs\.resnet18_params\(\) = 11,689,512 +\(equal\)", text)
    assert "block(x) equals ReLU(x) exactly: True" in text


@requires_cifar10
@pytest.mark.timeout(1200)
def test_chapter_reports_measured_runs_not_claims(executed):
    text = executed[1]
    assert "profile: smoke" in text
    for name in ("plain-20", "ResNet-20"):
        assert re.search(rf"{name}: train loss [\d.]+, train accuracy [\d.]+%, test accuracy [\d.]+%", text), name
    # the 56-layer training pair is the full profile's; the gradient-norm probe may name it
    assert not re.search(r"(plain|ResNet)-56: train loss", text)
    assert re.search(r"plain-110 gradient norm, first conv / last conv: +[\d,.]+", text)
    for name in ("ch5_plain20", "ch5_resnet20", "ch5_plain56", "ch5_resnet56"):
        assert re.search(rf"{name}: (no full-profile record yet|full profile, recorded on )",
                         text), name
    assert "speed run" not in text


@pytest.mark.slow
@requires_cifar10
@pytest.mark.timeout(1800)
def test_chapter_runs_within_five_minutes_in_the_cpu_profile():
    """The cpu-profile budget (2 CPU cores). Timings on a shared machine are noisy."""
    _, seconds = execute_notebook(CHAPTER, profile="cpu", timeout=1200)
    assert seconds <= 300, f"Chapter 5 took {seconds:.0f} s in the cpu profile (budget 300 s)"
