"""Chapter 5 (ResNet) checks its own numbers against the specs, teaches with torchvision's
blocks (not Assignment 4's answer) and shows its full-profile records or says they are
missing. Execution, figures, layout and the cpu-profile budget are in test_chapters_executed.py;
page-level checks in test_book_pages.py."""
import re

import nbformat
import pytest

import chapter_checks as pages
from conftest import ROOT, requires_cifar10

CHAPTER = ROOT / "book" / "05_resnet.ipynb"


def test_chapter_draws_its_blocks_and_leaves_the_speed_run_to_chapter_6():
    nb = nbformat.read(CHAPTER, as_version=4)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# Chapter 5")
    text = "\n".join(pages.markdown(nb))
    assert "speed run" not in text and "H100" not in text     # moved to Chapter 6, unbacked
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
