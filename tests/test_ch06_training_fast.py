"""Chapter 6 (training fast) climbs the whole ladder in the smoke profile one rung per
section, shows the recorded GPU runs or says which are missing, and runs within its budgets
(smoke well under a minute on an idle machine, asserted loosely; cpu within 5 minutes, slow
suite). Page-level checks are in test_book_pages.py."""
import re

import pytest

import chapter_checks as pages
from conftest import ROOT, requires_cifar10
from course_utils import speedrun
from notebook_runner import execute_notebook, outputs_text

CHAPTER = ROOT / "book" / "06_training_fast.ipynb"


def test_chapter_is_chapter_6():
    assert pages.read(CHAPTER).cells[0].source.startswith("# Chapter 6")


def test_chapter_is_in_the_table_of_contents():
    assert "book/06_training_fast" in (ROOT / "_toc.yml").read_text()


def test_each_rung_is_one_short_recipe_change_in_the_chapter():
    """Every rung after the first is taught as `replace(recipe, ...)` followed by climb()."""
    code = [c.source for c in pages.code_cells(pages.read(CHAPTER))]
    changes = [s for s in code if s.startswith("recipe = replace(recipe,")]
    assert len(changes) == len(speedrun.LADDER) - 1
    assert all("climb(recipe)" in s and len(s.splitlines()) <= 4 for s in changes)


@requires_cifar10
@pytest.mark.timeout(900)
def test_chapter_climbs_every_rung_and_shows_records_or_says_they_are_missing(executed):
    nb, text, seconds = executed
    for k, rung in enumerate(speedrun.LADDER):
        assert re.search(rf"rung {k} \({rung.key}\):\n  changed: ", text), rung.key
    assert len(re.findall(r"test accuracy [\d.]+% \([\d.]+% with \w+ TTA\) in [\d.]+ s",
                          text)) == len(speedrun.LADDER) + 1          # + the final speed run
    assert "largest correlation between features" in text
    assert "first 8 output channels equal the input: True" in text
    from course_utils import records
    if records.load(speedrun.record_name(len(speedrun.LADDER) - 1)) is None:
        assert "GPU ladder is still to be measured" in text
        assert "No recorded comparison with airbench94 yet" in text
    # smoke is meant to take well under a minute on an idle machine; a busy one is slower
    assert seconds < 300, f"{seconds:.0f} s in the smoke profile"


@pytest.mark.slow
@requires_cifar10
@pytest.mark.timeout(1800)
def test_cpu_profile_climbs_every_rung_within_the_five_minute_budget():
    """The cpu-profile budget (2 CPU cores). Timings on a shared machine are noisy."""
    nb, seconds = execute_notebook(CHAPTER, profile="cpu", timeout=1200)
    rungs = re.findall(r"^rung (\d+) ", outputs_text(nb), re.M)
    assert [int(k) for k in rungs] == list(range(len(speedrun.LADDER)))
    assert seconds <= 300, f"Chapter 6 took {seconds:.0f} s in the cpu profile (budget 300 s)"
