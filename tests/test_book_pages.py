"""The pages a student reads, checked without executing them: code that fits the page, no
accuracy or timing in the prose that no record or output backs, exercises at the end of every
chapter, readable figures as written, galleries that sample every class, notebooks committed
clean."""
import re

import pytest

import chapter_checks as pages
from conftest import ROOT

CHAPTERS = list(pages.MIN_FIGURES)   # every chapter (test_chapters_executed checks the list against book/)
INTRO = ROOT / "book" / "intro.md"


def chapter(name):
    return pages.read(ROOT / "book" / f"{name}.ipynb")


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_is_committed_without_outputs_or_execution_counts(name):
    dirty = [c.source[:60] for c in pages.code_cells(chapter(name))
             if c.outputs or c.execution_count is not None]
    assert not dirty, dirty


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_opens_with_the_setup_cells(name):
    first, second = pages.code_cells(chapter(name))[:2]
    assert first.source == pages.SETUP_CELL
    assert "profile = show_setup()" in second.source and "seed_everything(0)" in second.source


@pytest.mark.parametrize("name", CHAPTERS)
def test_code_fits_the_page(name):
    assert pages.long_code_lines(chapter(name)) == []


@pytest.mark.parametrize("name", CHAPTERS)
def test_prose_states_no_accuracy_or_time_that_no_record_backs(name):
    assert pages.unbacked_claims(pages.markdown(chapter(name))) == []


def test_intro_states_no_accuracy_or_time_that_no_record_backs():
    assert pages.unbacked_claims([INTRO.read_text()]) == []


@pytest.mark.parametrize("text, flagged", [
    ("A full-width GoogLeNet reaches about 93 % on CIFAR-10.", True),
    ("It trains in a few minutes on a laptop.", True),
    ("Training took 784 s.", True),
    ("Frozen features win by more than 10 points in our run.", True),
    ("Better than chance (10 %), but poor.", False),
    ("The record `ch4_googlenet` above says 91 % in 63 s.", False),
    ("The cpu profile has a 5-minute budget per chapter.", False),
    ("Every 3×3 convolution keeps the size; two pools give 8×8 maps.", False),
    ("The loss is $-\\log p_y$, and $p = 10\\%$ in math is not prose.", False),
])
def test_the_claim_detector_flags_unbacked_numbers_only(text, flagged):
    assert bool(pages.unbacked_claims([text])) is flagged


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_ends_with_three_or_more_exercises(name):
    nb = chapter(name)
    items = pages.exercises(nb)
    assert len(items) >= 3, items
    last_headings = [t for t in pages.markdown(nb) if re.search(r"^## ", t, re.MULTILINE)]
    assert "## Exercises" in last_headings[-1], "the exercises close the chapter"


@pytest.mark.parametrize("name", CHAPTERS)
def test_figures_as_written_are_readable_and_fit_the_page(name):
    assert pages.small_fonts_and_wide_figures(chapter(name)) == []


@pytest.mark.parametrize("name", CHAPTERS)
def test_no_gallery_shows_the_first_items_of_a_class_sorted_split(name):
    assert pages.prefix_galleries(chapter(name)) == []


def test_the_gallery_check_flags_a_prefix_slice():
    nb = pages.read(ROOT / "book" / "01_cnn_basics.ipynb")
    nb.cells[-1].cell_type = "code"
    nb.cells[-1].source = "show_images(test_loader.images[:16], truth[:16], preds[:16])"
    nb.cells[-1].outputs, nb.cells[-1].execution_count = [], None
    assert pages.prefix_galleries(nb) != []
