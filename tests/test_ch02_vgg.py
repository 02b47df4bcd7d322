"""Chapter 2 (VGG): builds VGG-11 from torchvision's table and builder without giving away the
A1 answer, prints shape walk-throughs (224 and 32), the parameter count equal to
torchvision's vgg11 and collapsed torchsummary tables, and trains VGG-11 on CIFAR-10 beside
the record of the full run. Execution, figures, layout and the cpu-profile budget are in
test_chapters_executed.py; page-level checks in test_book_pages.py."""
import re
from pathlib import Path

import torchvision

import chapter_checks as pages
from course_grader import leaks
from course_utils import records, specs
from course_utils.summary import count_parameters

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = ROOT / "book" / "02_vgg.ipynb"
A = specs.VGG_CFGS["vgg11"]


def test_chapter_builds_with_torchvision_blocks_and_leaks_no_a1_answer():
    source = "\n".join(c.source for c in pages.code_cells(pages.read(CHAPTER)))
    assert "from torchvision.models.vgg import VGG, cfgs, make_layers" in source
    assert "make_layers(cfgs[" in source and "summarize(" in source
    for answer in ("def make_features", "class VGG11CIFAR", "VGG11_CFG", "nn.Linear(512"):
        assert answer not in source, answer
    found, scanned = leaks.scan([CHAPTER], ROOT / "solutions")
    assert scanned == 1 and found == [], "\n".join(map(str, found))


def test_chapter_collapses_the_long_printouts():
    tagged = [c.source for c in pages.code_cells(pages.read(CHAPTER))
              if "hide-output" in c.metadata.get("tags", [])]
    assert any("print(vgg11.features)" in s for s in tagged)
    assert sum("summarize(" in s for s in tagged) == 2


def test_chapter_trains_vgg11_beside_the_record_of_the_full_run(executed):
    _, text, _ = executed
    n = count_parameters(torchvision.models.vgg11_bn(weights=None, num_classes=10))["total"]
    assert f"VGG-11 with BatchNorm, 10 classes: {n:,} parameters" in text
    assert "epoch 1/1" in text and "History(1 epochs" in text
    record = records.load("ch2_vgg11")
    assert (record.summary() if record else records.missing_line("ch2_vgg11")) in text


def test_chapter_count_equals_torchvision_vgg11(executed):
    _, text, _ = executed
    n = count_parameters(torchvision.models.vgg11(weights=None))["total"]
    assert f"torchvision.models.vgg11(weights=None): {n:,}" in text
    assert text.count(f": {n:,}") >= 4  # torchvision, the chapter's build, the layer table, the formula


def test_chapter_walks_through_the_stages_at_224_and_32(executed):
    _, text, _ = executed
    lines = text.splitlines()
    assert "flatten: 512 × 7 × 7 = 25,088" in text
    for layers, big in zip(["input", "conv3-64, maxpool", "conv3-128, maxpool",
                            "conv3-256, conv3-256, maxpool"], specs.vgg_stage_shapes(A, 224)):
        assert any(layers in line and line.rstrip().endswith(str(big)) for line in lines), big
    for big, small in zip(specs.vgg_stage_shapes(A, 224), specs.vgg_stage_shapes(A, 32)):
        row = re.compile(re.escape(str(big)) + r"\s+" + re.escape(str(small)) + "$")
        assert any(row.search(line.rstrip()) for line in lines), (big, small)
    assert (f"flatten at 224×224: {specs.vgg_flatten_features(A, 224):,}   "
            f"at 32×32: {specs.vgg_flatten_features(A, 32):,}") in text


def test_chapter_shows_the_49_copies_on_32x32(executed):
    _, text, _ = executed
    assert "features: (2, 512, 1, 1) → avgpool: (2, 512, 7, 7) → logits: (2, 1000)" in text
    assert "all 49 positions hold the same 512 numbers: True" in text


def test_chapter_prints_torchsummary_for_both_input_sizes(executed):
    _, text, _ = executed
    assert text.count("Total params: 132,863,336") == 2
    assert "[-1, 64, 224, 224]" in text and "[-1, 64, 32, 32]" in text
