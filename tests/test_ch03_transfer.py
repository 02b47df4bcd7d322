"""Chapter 3 (transfer learning) executes offline with the course backbone, teaches without
leaking A2, says what A2 asks (a frozen backbone), and backs its answer with its own output and
the records of the full runs. Figures, layout and the cpu-profile budget are in
test_chapters_executed.py; page-level checks in test_book_pages.py."""
import pytest

import chapter_checks as pages
from conftest import ROOT, requires_cifar10
from course_utils import records
from notebook_runner import outputs_text

CHAPTER = ROOT / "book" / "03_transfer_learning.ipynb"
STRATEGIES = ("(a) frozen features + new head", "(b) full fine-tuning", "(c) from scratch")


def test_chapter3_agrees_with_assignment2_on_a_frozen_backbone():
    prose = " ".join(" ".join(t.split()) for t in pages.markdown(pages.read(CHAPTER)))
    assert "fine-tune the course backbone" not in prose
    assert "the backbone stays **frozen**" in prose
    a2_page = (ROOT / "book" / "assignments" / "a2_finetune.md").read_text()
    assert "frozen" in a2_page and "test_frozen_weights_unchanged" in a2_page


def test_chapter3_contains_no_run_of_assignment2_answers():
    from course_grader.leaks import Secrets
    if not (ROOT / "solutions" / "a2_finetune" / "a2_finetune.ipynb").exists():
        pytest.skip("no A2 source notebook")
    secrets = Secrets.from_notebooks([ROOT / "solutions" / "a2_finetune" / "a2_finetune.ipynb"], root=ROOT)
    assert secrets.scan_file(CHAPTER) == []


@requires_cifar10
def test_chapter3_executes_in_smoke_with_the_course_backbone_and_an_empty_weights_cache(executed_notebook):
    from course_utils import pretrained
    nb, seconds = executed_notebook(CHAPTER)   # course backbone, empty TORCH_HOME (conftest's course_copy)
    text = outputs_text(nb)
    assert "profile: smoke" in text
    assert "backbone: course (course_cnn, weights CourseCNN_Weights.CIFAR5_SOURCE_V1)" in text
    assert "source_test_accuracy" in text and "sha256" in text
    assert "eval() 0.0000" in text  # a frozen BatchNorm in eval mode keeps its statistics
    for arch in ("vgg11", "resnet18"):  # the ImageNet recipes say how to get their weights
        assert pretrained.prefetch_command(arch) in text
    for method in ("(a)", "(b)", "(c)"):
        assert f"{method} " in text, method
    for better, worse in ((0, 2), (1, 2), (0, 1)):
        assert f"{STRATEGIES[better]} vs {STRATEGIES[worse]}: ahead at" in text
    for name in ("ch3_feature_extraction", "ch3_finetune"):
        record = records.load(name)
        assert (record.summary() if record else records.missing_line(name)) in text, name
    print(f"chapter 3 in smoke: {seconds:.0f} s")
