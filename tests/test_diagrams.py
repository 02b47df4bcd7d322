"""The block diagrams (VGG stage, Inception module, residual block) say what each layer is
and how many channels it outputs, derive the output shape, and are readable on the page."""
import matplotlib
import matplotlib.pyplot as plt
import pytest

from course_utils import diagrams, plots, specs

matplotlib.use("Agg")


def texts(fig):
    labels = [text for text, _ in plots.text_sizes(fig)]
    assert fig.get_figwidth() <= plots.PAGE_WIDTH_IN
    assert plots.smallest_text_pt(fig) >= plots.MIN_TEXT_PT
    plt.close(fig)
    return labels


def test_vgg_stage_shows_each_convolution_and_the_pool_that_halves_the_size():
    labels = texts(diagrams.vgg_stage((256, 256), in_channels=128, size=56, batch_norm=False))
    assert labels.count("3×3 conv, 256 channels") == 2 and labels.count("ReLU") == 2
    assert "2×2 max-pool, stride 2" in labels
    assert "input 128 × 56 × 56" in labels and "output 256 × 28 × 28" in labels
    assert "BatchNorm + ReLU" in texts(diagrams.vgg_stage((64,), in_channels=3, size=32))


@pytest.mark.parametrize("name", ["3a", "4e"])
def test_inception_block_concatenates_its_four_branches(name):
    cfg = specs.GOOGLENET_INCEPTION[name]
    labels = texts(diagrams.inception_block(cfg, size=14))
    out = specs.inception_out_channels(cfg)
    assert any(t.startswith("concatenate channels (dim=1)") and t.endswith(f"= {out}")
               for t in labels), labels
    assert f"output {out} × 14 × 14" in labels
    assert f"5×5 conv\n→ {cfg.ch5x5}" in labels and f"1×1 conv\n→ {cfg.ch5x5red}" in labels


def test_naive_inception_block_passes_every_input_channel_through_its_pool():
    cfg = specs.GOOGLENET_INCEPTION["3a"]
    labels = texts(diagrams.inception_block(cfg, naive=True))
    out = specs.naive_inception_out_channels(cfg.in_channels, cfg.ch1x1, cfg.ch3x3, cfg.ch5x5)
    assert f"output {out} × 28 × 28" in labels
    assert not any(t.startswith("1×1 conv\n→ 96") for t in labels)   # no reductions


def test_residual_block_adds_an_identity_or_a_projection_shortcut():
    labels = texts(diagrams.residual_block(16, 16, stride=1, size=32))
    assert "identity" in labels and "F(x) + x" in labels and "output 16 × 32 × 32" in labels
    labels = texts(diagrams.residual_block(16, 32, stride=2, size=32))
    assert "1×1 conv, stride 2\n+ BatchNorm" in labels and "output 32 × 16 × 16" in labels
    labels = texts(diagrams.residual_block(16, 32, stride=2, shortcut="zero-pad channels"))
    assert "zero-pad channels" in labels
