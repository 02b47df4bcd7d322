"""Chapter 3 (transfer learning) executes offline with the course backbone and teaches without leaking A2."""
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT, requires_cifar10
from notebook_runner import count_images, execute_notebook, outputs_text

CHAPTER = ROOT / "book" / "03_transfer_learning.ipynb"
# conftest sets MPLBACKEND=Agg for the test process; a kernel needs the inline backend to show plots.
INLINE = {"MPLBACKEND": "module://matplotlib_inline.backend_inline"}
SETUP_CELL = '''# Setup: on Colab (or anywhere the course package is missing) install it; locally this does nothing.
try:
    import course_utils
except ImportError:
    %pip install --quiet "cnn-course @ git+https://github.com/cnn-course/cnn-course"
    import course_utils'''


def test_chapter3_is_committed_without_outputs_and_starts_with_the_setup_cells():
    nb = nbformat.read(CHAPTER, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].source == SETUP_CELL
    assert "profile = show_setup()" in code[1].source and "seed_everything(0)" in code[1].source
    assert all(not c.outputs and c.execution_count is None for c in code)


def test_chapter3_contains_no_run_of_assignment2_answers():
    from course_grader.leaks import Secrets
    if not (ROOT / "solutions" / "a2_finetune" / "a2_finetune.ipynb").exists():
        pytest.skip("no A2 source notebook")
    secrets = Secrets.from_notebooks([ROOT / "solutions" / "a2_finetune" / "a2_finetune.ipynb"], root=ROOT)
    assert secrets.scan_file(CHAPTER) == []


@requires_cifar10
def test_chapter3_executes_in_smoke_with_the_course_backbone_and_an_empty_weights_cache(tmp_path):
    from course_utils import pretrained
    env = {"COURSE_BACKBONE": "course", "TORCH_HOME": str(tmp_path / "torch"), **INLINE}  # no ImageNet weights
    nb, seconds = execute_notebook(CHAPTER, cwd=tmp_path, profile="smoke", env=env)
    text = outputs_text(nb)
    assert "profile: smoke" in text
    assert "backbone: course (course_cnn, weights CourseCNN_Weights.CIFAR5_SOURCE_V1)" in text
    assert "source_test_accuracy" in text and "sha256" in text
    assert "eval() 0.0000" in text  # a frozen BatchNorm in eval mode keeps its statistics
    for arch in ("vgg11", "resnet18"):  # the ImageNet recipes say how to get their weights
        assert pretrained.prefetch_command(arch) in text
    for method in ("(a)", "(b)", "(c)"):
        assert f"{method} " in text, method
    assert count_images(nb) >= 3  # two image grids and the accuracy-vs-N plot
    print(f"chapter 3 in smoke: {seconds:.0f} s")


@pytest.mark.slow
@requires_cifar10
def test_chapter3_executes_in_cpu_profile_within_five_minutes(tmp_path):
    nb, seconds = execute_notebook(CHAPTER, cwd=tmp_path, profile="cpu", timeout=600,
                                   env={"COURSE_BACKBONE": "course", **INLINE})
    print(f"chapter 3 in cpu: {seconds:.0f} s")
    assert seconds <= 300
