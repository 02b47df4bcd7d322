"""The ResNet formulas in course_utils.specs agree with torchvision's ResNets and with the
reference solution of Assignment 4 (whose graders compare students against these formulas)."""
import pytest
import torch
import torch.nn as nn
import torchvision
from torchvision.models.resnet import BasicBlock as TorchvisionBlock

import roundtrip
from conftest import requires_cifar10
from course_utils import profiles, checks, specs

AID = "a4_resnet"


def count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def forward_shapes(model: nn.Module, size: int) -> dict[str, tuple]:
    """(C, H, W) after each top-level child, measured with hooks."""
    shapes = {}
    for name, child in model.named_children():
        child.register_forward_hook(lambda m, i, o, name=name: shapes.__setitem__(name, tuple(o.shape[1:])))
    with torch.no_grad():
        model.eval()(torch.zeros(1, 3, size, size))
    return shapes


@pytest.fixture(scope="module")
def reference():
    """The reference solution's classes, from its cells with the solution markers dropped."""
    cells = roundtrip.reference_cells(AID)
    ns = {}
    exec("import torch\nimport torch.nn as nn\nimport torch.nn.functional as F", ns)
    for grade_id in ("basic_block", "make_stage", "resnet_cifar"):
        exec(cells[grade_id], ns)
    return ns


# --- ImageNet ResNets: against torchvision --------------------------------------------------

def test_resnet18_param_count_equals_torchvision():
    assert specs.resnet18_params() == count(torchvision.models.resnet18(weights=None))


@pytest.mark.parametrize("num_classes", [10, 1000])
def test_basicblock_resnet_formula_holds_for_resnet34_and_any_head(num_classes):
    assert specs.resnet_imagenet_params((3, 4, 6, 3), num_classes) == \
        count(torchvision.models.resnet34(weights=None, num_classes=num_classes))
    assert specs.resnet18_params(num_classes) == count(torchvision.models.resnet18(weights=None, num_classes=num_classes))


@pytest.mark.parametrize("size", [224, 96])
def test_resnet18_shape_walkthrough_matches_a_forward_pass(size):
    measured = forward_shapes(torchvision.models.resnet18(weights=None), size)
    expected = dict(specs.resnet_imagenet_shapes(specs.RESNET18_LAYERS, size=size))
    assert measured == expected


@pytest.mark.parametrize("args", [(64, 64, 1), (64, 128, 2), (16, 32, 1), (32, 32, 2)])
def test_block_and_shortcut_counts_match_torchvision_basic_block(args):
    in_planes, planes, stride = args
    projection = None
    if specs.needs_projection(*args):
        projection = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes))
    block = TorchvisionBlock(in_planes, planes, stride, downsample=projection)
    assert specs.basic_block_params(*args) == count(block)
    assert specs.shortcut_params(*args) == (count(projection) if projection is not None else 0)


def test_identity_shortcut_exactly_when_shape_is_kept():
    assert not specs.needs_projection(16, 16, 1)
    assert specs.needs_projection(16, 32, 1) and specs.needs_projection(16, 16, 2) and specs.needs_projection(16, 32, 2)


# --- The CIFAR ResNet: against the reference solution ----------------------------------------

@pytest.mark.parametrize("depth", [8, 14, 20, 32, 44, 56, 110])
def test_cifar_param_count_equals_reference_solution(reference, depth):
    assert specs.resnet_cifar_params(depth) == count(reference["ResNetCIFAR"](depth))


def test_cifar_param_count_with_another_head(reference):
    assert specs.resnet_cifar_params(20, num_classes=100) == count(reference["ResNetCIFAR"](20, num_classes=100))


@pytest.mark.parametrize("args", [(16, 16, 1), (16, 32, 2), (32, 64, 2), (16, 32, 1), (32, 32, 2)])
def test_block_formula_equals_reference_block(reference, args):
    block = reference["BasicBlock"](*args)
    assert specs.basic_block_params(*args) == count(block)
    assert specs.shortcut_params(*args) == count(block.shortcut)


@pytest.mark.parametrize("depth", [20, 56])
def test_cifar_shape_walkthrough_matches_reference_forward(reference, depth):
    model = reference["ResNetCIFAR"](depth)
    measured = forward_shapes(model, 32)
    expected = dict(specs.resnet_cifar_shapes(depth))
    for stage in ("stage1", "stage2", "stage3"):
        assert measured[stage] == expected[stage]
    assert measured["fc"] == expected["fc"]


def test_cifar_plan_has_two_projections_and_n_blocks_per_stage():
    for depth in (20, 56, 110):
        plan = specs.resnet_cifar_plan(depth)
        n = specs.resnet_cifar_blocks_per_stage(depth)
        assert len(plan) == 3 * n == (depth - 2) // 2
        assert [b for b in plan if specs.needs_projection(*b)] == [
            specs.BlockConfig(in_planes=16, planes=32, stride=2), specs.BlockConfig(in_planes=32, planes=64, stride=2)]


@pytest.mark.parametrize("depth", [0, 2, 7, 18, 19, 21, 23, 20.0, "20"])
def test_invalid_depth_raises_value_error_naming_the_rule(depth):
    with pytest.raises(ValueError, match=r"6n \+ 2"):
        specs.resnet_cifar_params(depth)


def test_reference_solution_rejects_the_same_depths(reference):
    for depth in (18, 21, 23):
        with pytest.raises(ValueError):
            reference["ResNetCIFAR"](depth)


# --- Thresholds --------------------------------------------------------------------------------

def test_a4_thresholds_exist_for_every_profile_and_beat_chance():
    thresholds = profiles.THRESHOLD_VALUES[AID]
    assert set(thresholds) == {"smoke", "cpu", "full"}
    assert 0.1 < thresholds["smoke"] < thresholds["cpu"] < thresholds["full"] < 1
    assert profiles.accuracy_threshold(AID, "cpu") == thresholds["cpu"]


@requires_cifar10
def test_untrained_resnet20_does_not_reach_the_smoke_threshold(reference, tmp_path):
    """The smoke threshold separates a trained model from an untrained one (chance is 10 %)."""
    from course_utils.config import get_profile
    for seed in range(3):
        torch.manual_seed(seed)
        path = tmp_path / f"untrained{seed}.pt"
        torch.save(reference["ResNetCIFAR"](20).state_dict(), path)
        with pytest.raises(AssertionError, match="test accuracy"):
            checks.check_trained_accuracy(reference["ResNetCIFAR"](20), path, profiles.accuracy_threshold(AID, "smoke"),
                                          profile=get_profile("smoke"))
