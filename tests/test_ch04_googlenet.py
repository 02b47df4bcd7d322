"""Chapter 4 (GoogLeNet / Inception): gives away no A3 answer, prints its checks, trains the
CIFAR adaptation beside the record of its full run and closes with the architectures side by
side from the records. Execution, figures, layout and the cpu-profile budget are in
test_chapters_executed.py; page-level checks in test_book_pages.py."""
from pathlib import Path

import pytest
import torchvision

from course_grader import leaks
from course_utils import records, specs, tables
from course_utils.summary import count_parameters

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = ROOT / "book" / "04_googlenet.ipynb"


def test_chapter_builds_with_torchvision_blocks_and_leaks_no_a3_answer():
    source = CHAPTER.read_text()
    assert "from torchvision.models.googlenet import BasicConv2d, Inception" in source
    assert "class InceptionBlock" not in source and "class ConvBlock" not in source
    found, scanned = leaks.scan([CHAPTER], ROOT / "solutions")
    assert scanned == 1 and found == [], "\n".join(map(str, found))


# The first test to use the executed chapter pays for the run: about a minute on an idle
# machine, several on a busy shared one.
EXECUTION_TIMEOUT = pytest.mark.timeout(1800)


@EXECUTION_TIMEOUT
def test_chapter_shows_each_naive_branch_and_both_concatenations(executed):
    _, text, _ = executed
    c_in, n1, _, n3, _, n5, _ = specs.GOOGLENET_INCEPTION["3a"]
    for channels in (n1, n3, n5, c_in):
        assert f"(2, {channels}, 100, 100)" in text
    assert "dim=0 on the batch -> RuntimeError" in text
    assert f"dim=1 on the batch -> (2, {specs.naive_inception_out_channels(c_in, n1, n3, n5)}, 100, 100)" in text


@EXECUTION_TIMEOUT
def test_chapter_reports_the_naive_and_reduced_cost_of_3a(executed):
    _, text, _ = executed
    c_in, n1, r3, n3, r5, n5, pp = row = specs.GOOGLENET_INCEPTION["3a"]
    assert (f"weights: naive {specs.naive_inception_params(c_in, n1, n3, n5):,} -> "
            f"reduced {specs.reduced_inception_params(*row):,}") in text


@EXECUTION_TIMEOUT
def test_chapter_googlenet_has_torchvisions_parameter_count(executed):
    _, text, _ = executed
    n = count_parameters(torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=True))["total"]
    assert f"table-built {n:,} | torchvision {n:,} | formula {n:,}" in text


@EXECUTION_TIMEOUT
def test_chapter_walks_through_the_shapes_at_224(executed):
    _, text, _ = executed
    for label, shape in specs.googlenet_shapes(224):
        assert f"{label:16s} {str(shape):18s}" in text, label


@EXECUTION_TIMEOUT
def test_chapter_shows_aux_losses_in_training_and_logits_only_at_inference(executed):
    _, text, _ = executed
    assert "training: GoogLeNetOutputs" in text and f"+ {specs.AUX_LOSS_WEIGHT} × (" in text
    assert "inference: Tensor of shape (2, 1000)" in text


@EXECUTION_TIMEOUT
def test_chapter_trains_the_cifar_adaptation(executed):
    _, text, _ = executed
    assert "epoch 1/1" in text and "test accuracy" in text
    record = records.load("ch4_googlenet")
    assert (record.summary() if record else records.missing_line("ch4_googlenet")) in text


@EXECUTION_TIMEOUT
def test_chapter_closes_with_the_architectures_side_by_side_from_records(executed):
    _, text, _ = executed
    vgg = count_parameters(torchvision.models.vgg11_bn(weights=None, num_classes=10))["total"]
    for name, label in (("ch2_vgg11", "VGG-11 (Chapter 2)"),
                        ("ch4_googlenet", "CIFAR GoogLeNet (Chapter 4)")):
        row = next((line for line in text.splitlines() if line.startswith(label)), None)
        assert row is not None, label
        record = records.load(name)
        assert (f"{100 * record.test_accuracy:.1f} %" if record else tables.NO_RECORD) in row
    assert f"{vgg:,}" in next(line for line in text.splitlines()
                             if line.startswith("VGG-11 (Chapter 2)"))
