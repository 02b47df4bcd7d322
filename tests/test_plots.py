"""Every plot helper draws what it promises from real-shaped inputs, readably: no text under
9 pt as shown on the page (a figure wider than the page is shrunk, its text with it), epoch
axes with whole-number ticks only, galleries that show every class."""
import matplotlib
import matplotlib.pyplot as plt
import pytest
import torch
import torch.nn as nn

from course_utils import plots
from course_utils.data import CLASSES
from course_utils.train import History

matplotlib.use("Agg")


def history(epochs):
    ramp = [i / epochs for i in range(1, epochs + 1)]
    return History(train_loss=[2 - r for r in ramp], train_acc=ramp,
                   val_loss=[2.1 - r for r in ramp], val_acc=[0.9 * r for r in ramp],
                   epoch_time=[1] * epochs, images_per_s=[10] * epochs)


def class_sorted(per_class=20):
    """A split sorted by class, like the ImageFolder copy of CIFAR-10: airplanes first."""
    labels = torch.arange(10).repeat_interleave(per_class)
    images = torch.randint(0, 256, (len(labels), 3, 32, 32), dtype=torch.uint8)
    return images, labels


def readable(fig):
    plt.close(fig)                 # drawn and measured, not shown: keep pyplot's list short
    assert fig.get_figwidth() <= plots.PAGE_WIDTH_IN + 1e-9, fig.get_figwidth()
    # the inline backend saves with bbox_inches="tight": text past the edge widens the picture
    tight = fig.get_tightbbox().width
    assert tight <= plots.PAGE_WIDTH_IN * 1.05, f"{tight:.2f} in wide once cropped to its text"
    small = [(t, round(s, 1)) for t, s in plots.text_sizes(fig) if s < plots.MIN_TEXT_PT]
    assert not small, f"text under {plots.MIN_TEXT_PT} pt on the page: {small[:5]}"


def visible_ticks(ax):
    lo, hi = ax.get_xlim()
    return [t for t in ax.get_xticks() if lo <= t <= hi]


def test_history_plot_has_loss_and_accuracy_curves():
    fig = plots.plot_history(history(2))
    loss_ax, acc_ax = fig.axes
    assert len(loss_ax.lines) == 2 and list(acc_ax.lines[0].get_ydata()) == [50.0, 100.0]


@pytest.mark.parametrize("epochs", [1, 2, 3, 4, 7, 30])
def test_history_plot_ticks_whole_epochs_only_and_is_readable(epochs):
    fig = plots.plot_history(history(epochs), title="a title")
    fig.draw_without_rendering()
    for ax in fig.axes:
        ticks = visible_ticks(ax)
        assert ticks and all(float(t).is_integer() for t in ticks), ticks
    readable(fig)


def test_the_text_size_check_sees_a_figure_shrunk_to_the_page():
    fig, ax = plt.subplots(figsize=(2 * plots.PAGE_WIDTH_IN, 3))
    ax.set_title("a title", fontsize=12)
    ax.tick_params(labelsize=10)
    assert plots.smallest_text_pt(fig) == pytest.approx(5.0)   # 10 pt at half size
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.text(0.5, 0.5, "tiny", fontsize=6)
    assert plots.smallest_text_pt(fig) == 6


def test_image_grid_titles_mark_wrong_predictions_red():
    images = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8)
    fig = plots.show_images(images, labels=[0, 1, 2], preds=[0, 2, 2], ncols=3)
    titles = [ax.title for ax in fig.axes[:3]]
    assert [t.get_color() for t in titles] == ["green", "red", "green"]
    assert "true: automobile" in titles[1].get_text()


@pytest.mark.parametrize("ncols, with_preds", [(10, False), (5, True)])
def test_image_grids_fit_the_page_with_readable_labels(ncols, with_preds):
    images, labels = class_sorted(2)
    preds = (labels + 1) % 10 if with_preds else None
    readable(plots.show_images(images, labels, preds, ncols=ncols, title="a grid"))


def test_gallery_indices_take_every_class_round_robin():
    _, labels = class_sorted()
    picked = plots.gallery_indices(labels, per_class=2)
    assert labels[picked].tolist() == list(range(10)) * 2
    assert len(set(picked.tolist())) == 20
    assert plots.gallery_indices(labels, per_class=2, seed=1).tolist() != picked.tolist()


def test_gallery_of_a_class_sorted_split_shows_every_class_not_sixteen_airplanes():
    images, labels = class_sorted()
    assert set(labels[:16].tolist()) == {0}     # what taking the first 16 would show
    preds = labels.clone()
    fig = plots.show_gallery(images, labels, preds, per_class=2)
    shown = {ax.get_title().split("\n")[0] for ax in fig.axes if ax.get_title()}
    assert shown == set(CLASSES), shown
    readable(fig)


def test_gallery_of_a_short_batch_shows_the_classes_it_has():
    images, labels = class_sorted(1)
    fig = plots.show_gallery(images[:3], labels[:3])
    assert sum(1 for ax in fig.axes if ax.images) == 3


def test_confusion_matrix_plot_is_row_normalised_and_readable():
    cm = torch.tensor([[3, 1], [0, 4]])
    fig = plots.plot_confusion_matrix(cm, classes=["a", "b"])
    data = fig.axes[0].images[0].get_array()
    assert abs(float(data[0, 0]) - 0.75) < 1e-6 and abs(float(data[1, 1]) - 1.0) < 1e-6
    readable(plots.plot_confusion_matrix(torch.randint(0, 50, (10, 10)), title="ten classes"))


def test_layer_cost_chart_labels_every_layer_readably():
    names = [f"conv{i} 512→512 @14×14" for i in range(8)] + ["fc 25088→4096", "fc 4096→10"]
    fig = plots.plot_layer_costs(names, [2.4e6] * 8 + [1e8, 4e4], [4.6e8] * 8 + [1e8, 4e4])
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == names
    readable(fig)


def test_filters_and_feature_maps_draw_one_panel_each():
    conv = nn.Conv2d(3, 6, 5)
    fig = plots.show_filters(conv.weight, ncols=3)
    assert sum(1 for ax in fig.axes if ax.images) == 6
    readable(plots.show_filters(nn.Conv2d(3, 32, 3).weight, ncols=16))
    model = nn.Sequential(conv, nn.ReLU())
    fig = plots.show_feature_maps(model, conv, torch.randn(3, 32, 32), n=4, ncols=4)
    assert sum(1 for ax in fig.axes if ax.images) == 4
    readable(fig)


def test_live_run_beside_its_record_is_readable_with_whole_epoch_ticks():
    from course_utils import records
    fig = records.plot_beside(None, history(1), title="ch2_vgg11")
    for ax in fig.axes:
        ticks = visible_ticks(ax)
        assert ticks and all(float(t).is_integer() for t in ticks), ticks
    readable(fig)


def test_a_long_record_summary_wraps_instead_of_widening_the_figure():
    from course_utils import records
    record = records.Record(
        name="ch5_resnet20", profile="smoke", device="cpu (2 threads), a long processor name here",
        data_variant="cifar10-jpeg-q75", test_accuracy=0.4, test_images=1000,
        test_set="test split, the first 1,000 images in class order", epochs=1, wall_s=12.0,
        history={"train_loss": [1.0], "train_acc": [0.3], "val_loss": [1.1], "val_acc": [0.4],
                 "epoch_time": [12.0]},
        torch="2.14.1", commit="abc123", date="2026-12-03T10:00:00+00:00",
        command="python -m course_tools.results --profile smoke --only ch5_resnet20")
    assert len(record.summary()) > 100
    readable(records.plot_beside(record, history(1), title="ch5_resnet20"))
