"""Run profiles, device choice and seeding."""
import dataclasses

import pytest
import torch

from course_utils import config


def test_smoke_profile_is_selected_by_the_environment(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "smoke")
    assert config.get_profile().name == "smoke"


def test_default_profile_is_cpu_without_cuda_and_full_with_it(monkeypatch):
    monkeypatch.delenv("COURSE_PROFILE", raising=False)
    expected = "full" if torch.cuda.is_available() else "cpu"
    assert config.get_profile().name == expected
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert config.get_profile().name == "full"


def test_unknown_profile_names_the_choices(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "turbo")
    with pytest.raises(ValueError, match="smoke, cpu, full"):
        config.get_profile()


def test_profiles_are_frozen_data():
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.PROFILES["cpu"].epochs = 100


def test_profiles_grow_from_smoke_to_full():
    smoke, cpu, full = (config.PROFILES[n] for n in ("smoke", "cpu", "full"))
    assert smoke.train_size < cpu.train_size < full.train_size == 50_000
    assert smoke.test_size <= cpu.test_size < full.test_size == 10_000
    assert smoke.epochs <= cpu.epochs <= full.epochs


def test_device_is_cuda_only_when_available(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert config.get_device().type == "cpu"
    assert config.get_device("cpu").type == "cpu"


def test_seed_everything_makes_runs_repeat():
    config.seed_everything(3)
    a = torch.randn(5)
    config.seed_everything(3)
    assert torch.equal(a, torch.randn(5))


def test_show_setup_prints_profile_and_device(capsys):
    profile = config.show_setup(config.PROFILES["smoke"], torch.device("cpu"))
    out = capsys.readouterr().out
    assert profile.name == "smoke" and "profile: smoke" in out and "device: cpu" in out
