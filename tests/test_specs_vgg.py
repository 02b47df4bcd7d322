"""The VGG section of course_utils.specs against the networks it describes: torchvision's VGG
models (tables, parameter counts, layer sequences, shapes) and the reference solution of
Assignment 1 (its code is taken from solutions/a1_vgg, solution markers dropped)."""
import pytest
import torch
import torch.nn as nn
import torchvision
from torchvision.models.vgg import cfgs, make_layers

import roundtrip
from conftest import requires_cifar10
from course_utils import profiles, checks, specs

TORCHVISION_COLUMNS = {"vgg11": "A", "vgg13": "B", "vgg16": "D", "vgg19": "E"}
A1 = specs.VGG_CFGS["vgg11"]


@pytest.fixture(scope="module")
def reference():
    """``make_features`` and ``VGG11CIFAR`` as the reference solution defines them."""
    cells = roundtrip.reference_cells("a1_vgg")
    namespace = {"torch": torch, "nn": nn}
    for grade_id in ("make_features", "vgg11_cifar"):
        exec(compile(cells[grade_id], f"<a1_vgg:{grade_id}>", "exec"), namespace)
    return namespace


def torchvision_vgg(name: str, batch_norm: bool) -> nn.Module:
    """torchvision's model on the meta device: real shapes, no memory, no weights downloaded."""
    with torch.device("meta"):
        return getattr(torchvision.models, name + ("_bn" if batch_norm else ""))(weights=None)


@pytest.mark.parametrize("name", sorted(TORCHVISION_COLUMNS))
def test_config_tables_are_torchvisions(name):
    assert specs.VGG_CFGS[name] == cfgs[TORCHVISION_COLUMNS[name]]


@pytest.mark.parametrize("batch_norm", [False, True])
@pytest.mark.parametrize("name", sorted(TORCHVISION_COLUMNS))
def test_param_formula_equals_torchvision_model(name, batch_norm):
    model = torchvision_vgg(name, batch_norm)
    assert specs.vgg_params(specs.VGG_CFGS[name], batch_norm) == checks.count_params(model)
    assert specs.vgg_features_params(specs.VGG_CFGS[name], batch_norm) == checks.count_params(model.features)


def test_vgg11_count_on_a_real_model_built_like_in_chapter_2():
    model = torchvision.models.vgg11(weights=None)
    assert checks.count_params(model) == specs.vgg_params(A1) == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("batch_norm", [False, True])
@pytest.mark.parametrize("name", sorted(TORCHVISION_COLUMNS))
def test_layer_sequence_describes_torchvision_make_layers(name, batch_norm):
    expected = specs.vgg_features_layer_sequence(specs.VGG_CFGS[name], batch_norm)
    checks.check_layer_sequence(make_layers(cfgs[TORCHVISION_COLUMNS[name]], batch_norm), expected)


def test_layer_sequence_check_rejects_a_vgg_without_relu():
    no_relu = nn.Sequential(*[m for m in make_layers(cfgs["A"]) if not isinstance(m, nn.ReLU)])
    with pytest.raises(AssertionError, match=r"ReLU is missing after Conv2d\(3->64, k3, s1, p1\) \(layer 0\)"):
        checks.check_layer_sequence(no_relu, specs.vgg_features_layer_sequence(A1))


@pytest.mark.parametrize("size", [224, 32, 64])
def test_layer_shapes_follow_a_real_forward_pass(size):
    features = make_layers(cfgs["A"]).to("meta")
    x, measured = torch.empty(1, 3, size, size, device="meta"), []
    for layer in features:
        x = layer(x)
        if not isinstance(layer, nn.ReLU):
            measured.append(tuple(x.shape[1:]))
    computed = [shape for _, shape in specs.vgg_layer_shapes(A1, size)[1:]]
    assert computed == measured


def test_stage_shapes_and_flatten_sizes_of_the_chapter():
    assert [h for _, h, _ in specs.vgg_stage_shapes(A1, 224)] == [224, 112, 56, 28, 14, 7]
    assert [h for _, h, _ in specs.vgg_stage_shapes(A1, 32)] == [32, 16, 8, 4, 2, 1]
    assert specs.vgg_flatten_features(A1, 224) == torchvision_vgg("vgg11", False).classifier[0].in_features
    assert specs.vgg_flatten_features(A1, 32) == specs.vgg_conv_widths(A1)[-1]


@pytest.mark.parametrize("num_classes", [10, 100])
@pytest.mark.parametrize("batch_norm", [False, True])
def test_cifar_formulas_match_the_reference_solution(reference, batch_norm, num_classes):
    model = reference["VGG11CIFAR"](num_classes=num_classes, batch_norm=batch_norm)
    assert checks.count_params(model) == specs.vgg_cifar_params(A1, batch_norm, num_classes)
    checks.check_layer_sequence(model, specs.vgg_cifar_layer_sequence(A1, batch_norm, num_classes),
                                ignore=(nn.Dropout, nn.Identity, nn.Flatten))
    checks.check_output_shape(model, (3, 3, 32, 32), (3, num_classes))


@pytest.mark.parametrize("batch_norm", [False, True])
def test_reference_make_features_matches_torchvision_make_layers(reference, batch_norm):
    ours, theirs = reference["make_features"](A1, batch_norm), make_layers(cfgs["A"], batch_norm)
    assert [checks.describe_layer(m) for m in ours] == [checks.describe_layer(m) for m in theirs]
    assert checks.count_params(ours) == checks.count_params(theirs)


def test_cifar_variant_differs_from_torchvision_only_in_the_classifier():
    saved = specs.vgg_params(A1) - specs.vgg_cifar_params(A1, num_classes=1000)
    hidden = specs.VGG_CLASSIFIER_HIDDEN
    expected = (specs.mlp_params(512 * 7 * 7, hidden, 1000)
                - specs.mlp_params(512, specs.VGG_CIFAR_CLASSIFIER_HIDDEN, 1000))
    assert saved == expected > 100_000_000


def test_thresholds_cover_every_profile_and_beat_chance():
    thresholds = profiles.THRESHOLD_VALUES["a1_vgg"]
    assert set(thresholds) == {"smoke", "cpu", "full"}
    assert 0.10 < thresholds["smoke"] <= thresholds["cpu"] <= thresholds["full"] < 1


@requires_cifar10
def test_untrained_model_fails_the_smoke_threshold(reference):
    from course_utils.config import get_profile
    from course_utils.data import eval_loader
    from course_utils.train import evaluate
    torch.manual_seed(0)
    model = reference["VGG11CIFAR"](num_classes=10, batch_norm=True)
    _, acc = evaluate(model, eval_loader(get_profile("smoke"), device="cpu"), device="cpu")
    assert acc < profiles.accuracy_threshold("a1_vgg", "smoke")


@requires_cifar10
@pytest.mark.slow
@pytest.mark.parametrize("profile_name", ["smoke", "cpu"])
def test_reference_training_reaches_the_threshold(profile_name, monkeypatch):
    """The measuring command of ACCURACY_THRESHOLDS["a1_vgg"]: the reference's own setup and
    solution cells train in the profile; the accuracy on the grading subset is printed."""
    import time

    from course_utils.data import eval_loader
    from course_utils.train import evaluate
    monkeypatch.setenv("COURSE_PROFILE", profile_name)
    cells = {c.metadata.nbgrader["grade_id"]: c.source for c in roundtrip.source_notebook("a1_vgg").cells
             if "nbgrader" in c.metadata}
    namespace = {}
    exec(cells["setup"], namespace)
    for grade_id, source in roundtrip.reference_cells("a1_vgg").items():
        if not grade_id.startswith("written"):
            exec(compile(source, f"<a1_vgg:{grade_id}>", "exec"), namespace)
    start = time.perf_counter()
    model, _ = namespace["train_model"](namespace["profile"], namespace["device"])
    seconds = time.perf_counter() - start
    _, acc = evaluate(model, eval_loader(namespace["profile"], device="cpu"), device="cpu")
    threshold = profiles.accuracy_threshold("a1_vgg", profile_name)
    print(f"\na1_vgg reference, {profile_name} profile: accuracy {acc:.1%} on the grading subset "
          f"(threshold {threshold:.0%}), training {seconds:.0f} s")
    assert acc >= threshold
