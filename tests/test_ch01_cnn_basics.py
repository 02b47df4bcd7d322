"""Chapter 1 (CNN basics): teaches training before using `fit` (the loop written out and run,
then `fit` shown to be that loop) and prints the numerical checks it teaches (softmax and
cross-entropy, backpropagation against a nudged weight, two linear layers collapse, a
hand-made convolution equals nn.Conv2d, parameter counts). Execution, figures, layout and the
cpu-profile budget are in test_chapters_executed.py; page-level checks in test_book_pages.py."""
import re
from pathlib import Path


import chapter_checks as pages
from course_grader import leaks
from course_utils import specs

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = ROOT / "book" / "01_cnn_basics.ipynb"
LOOP_LINES = ("for x, y in train_loader:", "logits = mlp(x)", "loss = F.cross_entropy(logits, y)",
              "optimizer.zero_grad()", "loss.backward()", "optimizer.step()")
# Each term is defined (in bold) where the chapter introduces it, before `fit` is first used.
TERMS = ("parameters", "logits", "softmax", "cross-entropy loss", "gradient", "Gradient descent",
         "learning rate", "Backpropagation", "mini-batch", "stochastic gradient descent (SGD)",
         "epoch", "Momentum", "Nesterov momentum", "Weight decay", "overfitting",
         "A learning-rate schedule: one-cycle.")


def test_chapter_uses_the_course_plumbing_and_leaks_no_answer():
    source = "\n".join(c.source for c in pages.code_cells(pages.read(CHAPTER)))
    for call in ("fit(", "cifar10_loaders(", "torchvision_loader(", "cifar10_transforms(",
                 "specs.conv_output_size(", "plot_confusion_matrix(", "show_filters(",
                 "plot_history(", "show_gallery(", "onecycle("):
        assert call in source, call
    found, scanned = leaks.scan([CHAPTER], ROOT / "solutions")
    assert scanned == 1 and found == [], "\n".join(map(str, found))


def test_chapter_writes_out_the_training_loop_before_it_uses_fit():
    cells = pages.code_cells(pages.read(CHAPTER))
    loop = next(i for i, c in enumerate(cells) if "loss.backward()" in c.source
                and "optimizer.step()" in c.source)
    lines = [line.split("#")[0].strip() for line in cells[loop].source.splitlines()]
    assert [line for line in lines if line in LOOP_LINES] == list(LOOP_LINES)
    first_fit = next(i for i, c in enumerate(cells) if re.search(r"\bfit\(", c.source))
    assert loop < first_fit, "the loop comes first; fit is introduced as that loop, packaged"
    assert "scheduler=None" in cells[first_fit].source  # the like-for-like comparison


def test_chapter_defines_each_training_term_before_fit_uses_them():
    nb = pages.read(CHAPTER)
    # fit with its defaults (momentum, weight decay, one-cycle), not the like-for-like run
    default_fit = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code"
                       and re.search(r"\bfit\(", c.source) and "scheduler=None" not in c.source)
    before = " ".join(" ".join(c.source.split()) for c in nb.cells[:default_fit]
                      if c.cell_type == "markdown")
    missing = [t for t in TERMS if f"**{t}**" not in before]
    assert not missing, f"not defined (in bold) before fit is used: {missing}"


def test_chapter_checks_softmax_cross_entropy_and_backpropagation(executed):
    _, text, _ = executed
    assert "F.cross_entropy == mean of -log(softmax[true class]): True" in text
    grads = re.search(r"backpropagation (-?[\d.]+), nudging the weight (-?[\d.]+)", text)
    assert grads and abs(float(grads[1]) - float(grads[2])) < 1e-4, grads
    before, after = map(float, re.search(r"before the step ([\d.]+), after ([\d.]+)", text).groups())
    assert after < before, "one step of gradient descent lowers the loss of its batch"


def test_chapter_runs_the_loop_and_fit_reaches_the_same_weights(executed):
    _, text, _ = executed
    assert "epoch 1: mean loss" in text and "pixel MLP, test accuracy" in text
    assert "largest difference between the two networks' weights: 0.0e+00" in text


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
