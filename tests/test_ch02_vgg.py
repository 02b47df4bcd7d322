"""Chapter 2 (VGG): committed clean, opens with the setup cells, builds VGG-11 from torchvision's
table and builder without giving away the A1 answer, executes in the smoke profile with its
plots, shape walk-throughs (224 and 32), the parameter count equal to torchvision's vgg11, and
torchsummary tables; (slow suite) runs in the cpu profile within the 5-minute budget."""
from pathlib import Path

import nbformat
import pytest
import torchvision

from conftest import have_cifar10, requires_cifar10
from course_grader import leaks
from course_utils import specs
from course_utils.summary import count_parameters
from notebook_runner import count_images, execute_notebook, outputs_text

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = ROOT / "book" / "02_vgg.ipynb"
CPU_BUDGET_S = 300
# conftest sets MPLBACKEND=Agg for the test process; a kernel needs the inline backend to show plots.
INLINE = {"MPLBACKEND": "module://matplotlib_inline.backend_inline"}
A = specs.VGG_CFGS["vgg11"]

SETUP_CELL = '''# Setup: on Colab (or anywhere the course package is missing) install it; locally this does nothing.
try:
    import course_utils
except ImportError:
    %pip install --quiet "cnn-course @ git+https://github.com/cnn-course/cnn-course"
    import course_utils'''


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_chapter_is_committed_without_outputs():
    for cell in code_cells(nbformat.read(CHAPTER, as_version=4)):
        assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


def test_chapter_opens_with_the_setup_cells():
    first, second = code_cells(nbformat.read(CHAPTER, as_version=4))[:2]
    assert first.source == SETUP_CELL
    assert "profile = show_setup()" in second.source and "seed_everything(0)" in second.source


def test_chapter_builds_with_torchvision_blocks_and_leaks_no_a1_answer():
    source = "\n".join(c.source for c in code_cells(nbformat.read(CHAPTER, as_version=4)))
    assert "from torchvision.models.vgg import VGG, cfgs, make_layers" in source
    assert "make_layers(cfgs[" in source and "summarize(" in source
    for answer in ("def make_features", "class VGG11CIFAR", "VGG11_CFG", "nn.Linear(512"):
        assert answer not in source, answer
    found, scanned = leaks.scan([CHAPTER], ROOT / "solutions")
    assert scanned == 1 and found == [], "\n".join(map(str, found))


@pytest.fixture(scope="module")
def executed():
    if not have_cifar10():
        pytest.skip("CIFAR-10 is not on disk (set COURSE_DATA_DIR)")
    nb, seconds = execute_notebook(CHAPTER, profile="smoke", timeout=900, env=INLINE)
    return nb, outputs_text(nb), seconds


def test_chapter_executes_in_smoke_and_shows_its_plots(executed):
    nb, text, seconds = executed
    assert "profile: smoke" in text
    # shape per stage, parameters vs work, receptive fields, VGG-19's depth at 32×32
    assert count_images(nb) >= 4
    print(f"chapter 2, smoke profile: {seconds:.0f} s")


def test_chapter_count_equals_torchvision_vgg11(executed):
    _, text, _ = executed
    n = count_parameters(torchvision.models.vgg11(weights=None))["total"]
    assert f"torchvision.models.vgg11(weights=None): {n:,}" in text
    assert text.count(f": {n:,}") >= 4  # torchvision, the chapter's build, the layer table, the formula


def test_chapter_walks_through_the_stages_at_224_and_32(executed):
    _, text, _ = executed
    for stage, shape in enumerate(specs.vgg_stage_shapes(A, 224)[1:], 1):
        assert ", maxpool " in text and f" {shape}\n" in text, (stage, shape)
    assert "flatten: 512 × 7 × 7 = 25,088" in text
    for big, small in zip(specs.vgg_stage_shapes(A, 224), specs.vgg_stage_shapes(A, 32)):
        assert f"{str(big):>16}  {str(small):>14}" in text, (big, small)
    assert f"flatten at 224×224: {specs.vgg_flatten_features(A, 224):,}   at 32×32: {specs.vgg_flatten_features(A, 32):,}" in text


def test_chapter_shows_the_49_copies_on_32x32(executed):
    _, text, _ = executed
    assert "features: (2, 512, 1, 1) → avgpool: (2, 512, 7, 7) → logits: (2, 1000)" in text
    assert "all 49 positions hold the same 512 numbers: True" in text


def test_chapter_prints_torchsummary_for_both_input_sizes(executed):
    _, text, _ = executed
    assert text.count("Total params: 132,863,336") == 2
    assert "[-1, 64, 224, 224]" in text and "[-1, 64, 32, 32]" in text


@requires_cifar10
@pytest.mark.slow
def test_chapter_runs_in_the_cpu_profile_within_five_minutes():
    nb, seconds = execute_notebook(CHAPTER, profile="cpu", timeout=CPU_BUDGET_S * 3, env=INLINE)
    print(f"chapter 2, cpu profile: {seconds:.0f} s")
    assert count_images(nb) >= 4
    assert seconds <= CPU_BUDGET_S, f"{seconds:.0f} s > {CPU_BUDGET_S} s (timings on a shared machine are noisy)"
