"""Chapter 1 (CNN basics): committed clean, opens with the setup cells, executes in the smoke
profile with its plots and the numerical checks it teaches (two linear layers collapse, a
hand-made convolution equals nn.Conv2d, parameter counts), and (slow suite) runs in the cpu
profile within the 5-minute budget."""
from pathlib import Path

import nbformat
import pytest

from conftest import have_cifar10, requires_cifar10
from course_grader import leaks
from course_utils import specs
from notebook_runner import count_images, execute_notebook, outputs_text

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = ROOT / "book" / "01_cnn_basics.ipynb"
CPU_BUDGET_S = 300  # the cpu profile's promise: each chapter in <= 5 min on 2 CPU cores
# conftest sets MPLBACKEND=Agg for the test process; a kernel needs the inline backend to show plots.
INLINE = {"MPLBACKEND": "module://matplotlib_inline.backend_inline"}

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


def test_chapter_uses_the_course_plumbing_and_leaks_no_answer():
    source = "\n".join(c.source for c in code_cells(nbformat.read(CHAPTER, as_version=4)))
    for call in ("fit(", "cifar10_loaders(", "torchvision_loader(", "cifar10_transforms(",
                 "specs.conv_output_size(", "plot_confusion_matrix(", "show_filters(", "plot_history("):
        assert call in source, call
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
    # RGB channels, class grid, k-NN curve, neighbours, ReLU fit, parameter bars, pooling,
    # receptive fields, a torchvision batch, curves, confusion matrix, predictions, filters
    assert count_images(nb) >= 13
    print(f"chapter 1, smoke profile: {seconds:.0f} s")


def test_chapter_shows_that_linear_layers_collapse_and_relu_does_not(executed):
    _, text, _ = executed
    assert "two linear layers == one linear layer: True" in text
    assert "with a ReLU in between, largest difference from the collapsed layer:" in text


def test_chapter_convolution_by_hand_equals_conv2d(executed):
    _, text, _ = executed
    assert "loops == F.conv2d: True" in text
    assert "unfold + matmul == nn.Conv2d: True" in text


def test_chapter_counts_fc_local_and_conv_parameters(executed):
    _, text, _ = executed
    conv = specs.conv_params(3, 64, 3)
    for n in (specs.linear_params(3 * 32 * 32, 64 * 32 * 32), 32 * 32 * conv, conv):
        assert f"{n:,} parameters" in text, n


def test_chapter_reports_knn_accuracy_and_cost(executed):
    _, text, _ = executed
    assert "k =  1: accuracy" in text and "G multiply-adds" in text


def test_chapter_compares_the_two_loaders_and_trains_lenet(executed):
    _, text, _ = executed
    assert text.count("images/s") == 2
    assert "Total params: 62,006" in text  # LeNet-5 for 3×32×32: 456 + 2,416 + 48,120 + 10,164 + 850
    assert "epoch 1/1" in text and "LeNet-5:" in text


@requires_cifar10
@pytest.mark.slow
def test_chapter_runs_in_the_cpu_profile_within_five_minutes():
    nb, seconds = execute_notebook(CHAPTER, profile="cpu", timeout=CPU_BUDGET_S * 3, env=INLINE)
    print(f"chapter 1, cpu profile: {seconds:.0f} s")
    assert count_images(nb) >= 13
    assert seconds <= CPU_BUDGET_S, f"{seconds:.0f} s > {CPU_BUDGET_S} s (timings on a shared machine are noisy)"
