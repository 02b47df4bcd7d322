"""Parameter counts that monkeypatching cannot fool, and torchsummary on the CPU."""
import torch.nn as nn
import torchvision

from course_utils.summary import count_parameters, iter_parameters, summarize


def test_counts_match_torchvision_resnet18():
    model = torchvision.models.resnet18(weights=None)
    assert count_parameters(model)["total"] == sum(p.numel() for p in model.parameters()) == 11_689_512


def test_frozen_parameters_are_counted_apart():
    model = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    for p in model[0].parameters():
        p.requires_grad = False
    assert count_parameters(model) == {"total": 23, "trainable": 8, "frozen": 15}


def test_shared_parameters_are_counted_once():
    layer = nn.Linear(3, 3)
    assert count_parameters(nn.Sequential(layer, layer))["total"] == 12


def test_patched_module_parameters_does_not_change_the_count(monkeypatch):
    model = nn.Linear(10, 10)
    monkeypatch.setattr(nn.Module, "parameters", lambda self, recurse=True: iter([]))
    monkeypatch.setattr(nn.Module, "named_parameters", lambda self, *a, **k: iter([]))
    assert sum(p.numel() for _, p in iter_parameters(model)) == 110


def test_summarize_runs_on_cpu_and_leaves_batchnorm_statistics_alone(capsys):
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU())
    before = model[1].running_mean.clone()
    summarize(model, (3, 8, 8))
    out = capsys.readouterr().out
    assert "Conv2d-1" in out and "trainable 120" in out
    assert model.training and (model[1].running_mean == before).all()
