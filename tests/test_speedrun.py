"""The speed-run network and recipe (course_utils.speedrun) in the smoke profile: the model's
shapes and size, one training step, and a complete short run that reports what it measured."""
import math

import pytest
import torch
import torch.nn as nn

from conftest import requires_cifar10
from course_utils import specs, speedrun
from course_utils.config import PROFILES
from course_utils.data import TensorLoader, load_subset


def expected_resnet9_params(num_classes=10) -> int:
    """From the configuration table: conv(no bias)+BN per conv_bn, two per residual pair, bias-free head."""
    total, in_channels = 0, 3
    conv_bn = lambda cin, cout: specs.conv_params(cin, cout, 3, bias=False) + specs.batchnorm_params(cout)
    for _, width, _, residual in speedrun.RESNET9_CFG:
        total += conv_bn(in_channels, width) + (2 * conv_bn(width, width) if residual else 0)
        in_channels = width
    return total + specs.linear_params(in_channels, num_classes, bias=False)


def test_resnet9_maps_images_to_class_logits():
    model = speedrun.resnet9().eval()
    with torch.no_grad():
        assert model(torch.randn(3, 3, 32, 32)).shape == (3, 10)
        assert speedrun.resnet9(num_classes=7).eval()(torch.randn(1, 3, 32, 32)).shape == (1, 7)


def test_resnet9_size_follows_its_configuration_table():
    assert sum(p.numel() for p in speedrun.resnet9().parameters()) == expected_resnet9_params()


def test_resnet9_stages_halve_the_resolution_after_the_prep_layer():
    model = speedrun.resnet9().eval()
    x = torch.randn(1, 3, 32, 32)
    sizes = []
    with torch.no_grad():
        for name, stage in model.named_children():
            x = stage(x)
            sizes.append((name, tuple(x.shape[1:])))
    assert sizes == [("prep", (64, 32, 32)), ("layer1", (128, 16, 16)), ("layer2", (256, 8, 8)),
                     ("layer3", (512, 4, 4)), ("head", (10,))]


def test_residual_adds_its_input_back():
    branch = nn.Conv2d(4, 4, 3, padding=1)
    nn.init.zeros_(branch.weight)
    nn.init.zeros_(branch.bias)
    x = torch.randn(2, 4, 5, 5)
    assert torch.equal(speedrun.Residual(branch)(x), x)   # f = 0: the identity
    nn.init.constant_(branch.bias, 1.0)
    assert torch.allclose(speedrun.Residual(branch)(x), x + 1)


def test_every_profile_has_a_recipe_and_full_uses_the_whole_dataset():
    assert set(speedrun.RECIPES) == set(PROFILES)
    full = speedrun.recipe_for("full")
    assert full.train_per_class is None and full.test_per_class is None
    for name in ("smoke", "cpu"):
        short = speedrun.recipe_for(name)
        assert short.epochs <= full.epochs and short.train_per_class < 5000


@requires_cifar10
def test_one_training_step_on_real_images_gives_a_finite_loss_and_moves_every_weight():
    torch.manual_seed(0)
    recipe = speedrun.recipe_for("smoke")
    x, y = load_subset(True, recipe.train_per_class)
    xb, yb = next(iter(TensorLoader(x, y, recipe.batch_size, train=True, augment=True, device="cpu")))
    model = speedrun.resnet9()
    before = [p.detach().clone() for p in model.parameters()]
    optimizer = torch.optim.SGD(model.parameters(), lr=recipe.lr, momentum=0.9, nesterov=True,
                                weight_decay=recipe.weight_decay)
    loss = nn.functional.cross_entropy(model(xb), yb, label_smoothing=recipe.label_smoothing)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    assert math.isfinite(loss.item())
    assert all(not torch.equal(b, p) for b, p in zip(before, model.parameters()))


@requires_cifar10
@pytest.mark.timeout(600)
def test_smoke_speed_run_reports_what_it_measured():
    model, result = speedrun.speed_run("smoke", device="cpu", quiet=True)
    recipe = speedrun.recipe_for("smoke")
    assert result.recipe == recipe and result.device == "CPU"
    assert result.history.epochs == recipe.epochs == len(result.history.val_acc)
    assert result.train_images == 10 * recipe.train_per_class
    assert 0 <= result.test_acc <= 1 and 0 <= result.test_acc_tta <= 1
    assert result.wall_s >= result.history.wall_time > 0
    assert f"{result.wall_s:.1f} s" in str(result) and "CPU" in str(result)
    assert isinstance(model, nn.Module)
