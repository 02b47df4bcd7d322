"""Every plot helper draws what it promises from real-shaped inputs."""
import matplotlib
import torch
import torch.nn as nn

from course_utils import plots
from course_utils.train import History

matplotlib.use("Agg")


def test_history_plot_has_loss_and_accuracy_curves():
    h = History(train_loss=[2.0, 1.5], train_acc=[0.2, 0.4], val_loss=[2.1, 1.7], val_acc=[0.2, 0.35],
                epoch_time=[1, 1], images_per_s=[10, 10])
    fig = plots.plot_history(h)
    loss_ax, acc_ax = fig.axes
    assert len(loss_ax.lines) == 2 and list(acc_ax.lines[0].get_ydata()) == [20.0, 40.0]


def test_image_grid_titles_mark_wrong_predictions_red():
    images = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8)
    fig = plots.show_images(images, labels=[0, 1, 2], preds=[0, 2, 2], ncols=3)
    titles = [ax.title for ax in fig.axes[:3]]
    assert [t.get_color() for t in titles] == ["green", "red", "green"]
    assert "true: automobile" in titles[1].get_text()


def test_confusion_matrix_plot_is_row_normalised():
    cm = torch.tensor([[3, 1], [0, 4]])
    fig = plots.plot_confusion_matrix(cm, classes=["a", "b"])
    data = fig.axes[0].images[0].get_array()
    assert abs(float(data[0, 0]) - 0.75) < 1e-6 and abs(float(data[1, 1]) - 1.0) < 1e-6


def test_filters_and_feature_maps_draw_one_panel_each():
    conv = nn.Conv2d(3, 6, 5)
    fig = plots.show_filters(conv.weight, ncols=3)
    assert sum(1 for ax in fig.axes if ax.images) == 6
    model = nn.Sequential(conv, nn.ReLU())
    fig = plots.show_feature_maps(model, conv, torch.randn(3, 32, 32), n=4, ncols=4)
    assert sum(1 for ax in fig.axes if ax.images) == 4
