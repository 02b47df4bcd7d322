"""Every chapter executes in the smoke profile (once per test run, shared with the site build),
draws the figures it teaches with, and fits the page: no figure wider than the text column, no
long output left uncollapsed. What each chapter prints is checked in its own tests/test_chNN_*.py."""
import pytest

import chapter_checks as pages
from conftest import ROOT, requires_cifar10
from notebook_runner import count_images, execute_notebook, outputs_text


@requires_cifar10
@pytest.mark.timeout(1800)   # the first test to ask for a chapter pays for its execution
@pytest.mark.parametrize("name", pages.MIN_FIGURES)
def test_chapter_executes_in_smoke_draws_its_figures_and_fits_the_page(executed_notebook, name):
    nb, seconds = executed_notebook(ROOT / "book" / f"{name}.ipynb")
    assert "profile: smoke" in outputs_text(nb)
    assert count_images(nb) >= pages.MIN_FIGURES[name]
    assert pages.layout_problems(nb) == []
    print(f"{name}, smoke profile: {seconds:.0f} s")


def test_every_chapter_of_the_book_is_listed():
    assert sorted(pages.MIN_FIGURES) == sorted(p.stem for p in (ROOT / "book").glob("[0-9][0-9]_*.ipynb"))


CPU_BUDGET_S = 300   # the cpu profile's promise: each chapter in <= 5 min on 2 CPU cores
# conftest draws off-screen in the test process; a kernel needs the inline backend to show plots.
INLINE = {"MPLBACKEND": "module://matplotlib_inline.backend_inline"}


@pytest.mark.slow
@requires_cifar10
@pytest.mark.timeout(CPU_BUDGET_S * 6)
@pytest.mark.parametrize("name", [n for n in pages.MIN_FIGURES if n != "06_training_fast"])  # 6: its own test
def test_chapter_runs_in_the_cpu_profile_within_five_minutes(name, tmp_path):
    """Timings on a shared machine are noisy: run this suite on an idle one."""
    # Chapter 3 with the course backbone: no ImageNet weights on CI machines
    nb, seconds = execute_notebook(ROOT / "book" / f"{name}.ipynb", cwd=tmp_path, profile="cpu",
                                   timeout=CPU_BUDGET_S * 3, env={"COURSE_BACKBONE": "course", **INLINE})
    print(f"{name}, cpu profile: {seconds:.0f} s")
    assert "profile: cpu" in outputs_text(nb)
    assert count_images(nb) >= pages.MIN_FIGURES[name]
    assert seconds <= CPU_BUDGET_S, f"{seconds:.0f} s > {CPU_BUDGET_S} s"
