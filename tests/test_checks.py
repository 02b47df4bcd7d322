"""Grader checks pass on right answers and fail with actionable messages on wrong ones."""
import re

import pytest
import torch
import torch.nn as nn

from course_utils import checks


def tiny_net():
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(8 * 4 * 4, 10))


def message(excinfo) -> str:
    return str(excinfo.value)


def test_output_shape_passes_and_returns_the_output():
    out = checks.check_output_shape(tiny_net(), (5, 3, 8, 8), (5, 10))
    assert out.shape == (5, 10)


def test_output_shape_says_expected_and_got():
    with pytest.raises(AssertionError) as e:
        checks.check_output_shape(tiny_net()[:-1], (2, 3, 8, 8), (2, 10))
    assert "expected (2, 10), got (2, 128)" in message(e) and "Hint:" in message(e)


def test_forward_returning_shape_is_named_as_such():
    class ReturnsShape(nn.Module):
        def forward(self, x):
            return x.shape
    with pytest.raises(AssertionError, match=r"not its \.shape"):
        checks.check_output_shape(ReturnsShape(), (2, 3, 8, 8), (2, 10))


def test_forward_that_raises_becomes_a_failed_check():
    with pytest.raises(AssertionError, match="raised RuntimeError"):
        checks.check_output_shape(nn.Linear(5, 2), (2, 3, 8, 8), (2, 2))


def test_param_count_exact_with_signed_difference():
    net = tiny_net()
    checks.check_param_count(net, 3 * 8 * 9 + 8 + 128 * 10 + 10)
    with pytest.raises(AssertionError) as e:
        checks.check_param_count(net, 1000)
    assert re.search(r"expected 1,000, got 1,514 \(\+514\)", message(e))


def test_trainable_count_and_names():
    net = tiny_net()
    for p in net[0].parameters():
        p.requires_grad = False
    checks.check_trainable_count(net, 1290)
    checks.check_trainable_names(net, ["4.weight", "4.bias"])
    with pytest.raises(AssertionError, match=r"should be frozen: \['4.bias'\]"):
        checks.check_trainable_names(net, ["4.weight"])


def test_count_ignores_a_patched_parameters_method(monkeypatch):
    net = tiny_net()
    monkeypatch.setattr(nn.Module, "parameters", lambda self, recurse=True: iter([]))
    with pytest.raises(AssertionError):
        checks.check_param_count(net, 0)


def test_layer_sequence_names_a_missing_an_extra_or_a_wrong_layer():
    expected = ["Conv2d(3->8, k3, s1, p1)", "ReLU", "MaxPool2d(k2, s2)", "Flatten", "Linear(128->10)"]
    checks.check_layer_sequence(tiny_net(), expected)
    missing = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(128, 10))
    with pytest.raises(AssertionError, match=r"expected 5 layers, got 4\. Hint: ReLU is missing after "
                                             r"Conv2d\(3->8, k3, s1, p1\) \(layer 0\)"):
        checks.check_layer_sequence(missing, expected)
    extra = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(8), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(128, 10))
    with pytest.raises(AssertionError, match=r"BatchNorm2d\(8\) is there after ReLU \(layer 1\) but should not be"):
        checks.check_layer_sequence(extra, expected)
    swapped = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.MaxPool2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(128, 10))
    with pytest.raises(AssertionError, match=r"layer 1: expected ReLU, got MaxPool2d\(k2, s2\)\. Hint: the layers "
                                             r"before it were right \(Conv2d\(3->8, k3, s1, p1\)\)"):
        checks.check_layer_sequence(swapped, expected)
    first = nn.Sequential(nn.Conv2d(3, 8, 5, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(128, 10))
    with pytest.raises(AssertionError, match="it is the first layer"):
        checks.check_layer_sequence(first, expected)


def test_output_shape_hint_names_the_class_count_when_only_it_differs():
    with pytest.raises(AssertionError, match="1000 values per example where 10 are expected"):
        checks.check_output_shape(nn.Linear(8, 1000), (2, 8), (2, 10))


def test_module_types_present_and_absent():
    checks.check_module_types(tiny_net(), present=[nn.ReLU], absent=[nn.BatchNorm2d])
    with pytest.raises(AssertionError, match="at least one BatchNorm2d"):
        checks.check_module_types(tiny_net(), present=[nn.BatchNorm2d])


def test_check_close_reports_the_largest_difference():
    checks.check_close(torch.ones(3), torch.ones(3), "ones")
    with pytest.raises(AssertionError, match="maximum difference of 0.5"):
        checks.check_close(torch.tensor([1.0, 1.5]), torch.ones(2), "values")


def test_accuracy_threshold_message_names_the_profile():
    checks.check_accuracy(0.5, 0.5)
    with pytest.raises(AssertionError, match=r"at least 60.0% in the 'cpu' profile, got 42.0%"):
        checks.check_accuracy(0.42, 0.60, profile="cpu")


def test_missing_weights_file_says_what_to_submit(tmp_path):
    with pytest.raises(AssertionError, match=r"a1_vgg_model.pt.*submit that file"):
        checks.load_trained_weights(tiny_net(), tmp_path / "a1_vgg_model.pt")


def test_weights_of_another_architecture_are_refused(tmp_path):
    path = tmp_path / "w.pt"
    torch.save(nn.Linear(3, 3).state_dict(), path)
    with pytest.raises(AssertionError, match="does not fit your model class"):
        checks.load_trained_weights(tiny_net(), path)


def test_unreadable_weights_are_a_failed_check(tmp_path):
    path = tmp_path / "w.pt"
    path.write_text("not a checkpoint")
    with pytest.raises(AssertionError, match="could not be read"):
        checks.load_trained_weights(tiny_net(), path)
