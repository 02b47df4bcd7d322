"""Accuracy, confusion matrix and per-class accuracy against hand-counted examples."""
import pytest
import torch

from course_utils import metrics

PREDS = torch.tensor([0, 1, 1, 2, 2, 2])
LABELS = torch.tensor([0, 1, 2, 2, 2, 0])


def test_accuracy_from_labels_and_from_logits():
    assert metrics.accuracy(PREDS, LABELS) == pytest.approx(4 / 6)
    logits = torch.nn.functional.one_hot(PREDS, 3).float()
    assert metrics.accuracy(logits, LABELS) == pytest.approx(4 / 6)


def test_accuracy_of_nothing_is_an_error():
    with pytest.raises(ValueError):
        metrics.accuracy(torch.tensor([]), torch.tensor([]))


def test_confusion_matrix_counts_true_rows_and_predicted_columns():
    cm = metrics.confusion_matrix(PREDS, LABELS, 3)
    assert cm.tolist() == [[1, 0, 1], [0, 1, 0], [0, 1, 2]]
    assert cm.sum() == len(LABELS)


def test_per_class_accuracy_is_recall():
    acc = metrics.per_class_accuracy(PREDS, LABELS, 3)
    assert acc.tolist() == pytest.approx([0.5, 1.0, 2 / 3])
