"""course_utils.pretrained: the backbone choice, torchvision's ImageNet enums, the course's own weights."""
import json
import shutil
import urllib.error

import pytest
import torch
import torch.nn as nn
import torchvision

from course_utils import pretrained, specs
from course_utils.pretrained import (CourseCNN_Weights, CourseWeights, WeightsNotAvailableError,
                                     WeightsVerificationError)
from conftest import requires_cifar10

COURSE = CourseCNN_Weights.DEFAULT


# --- the backbone choice --------------------------------------------------------------------------

def test_backbone_defaults_to_course_and_follows_the_environment(monkeypatch):
    monkeypatch.delenv(pretrained.BACKBONE_ENV, raising=False)
    assert pretrained.backbone_name() == "course"
    monkeypatch.setenv(pretrained.BACKBONE_ENV, "ImageNet")
    assert pretrained.backbone_name() == "imagenet"
    assert pretrained.backbone_name("course") == "course"  # an explicit argument wins


def test_unknown_backbone_is_an_error_that_lists_the_choices(monkeypatch):
    monkeypatch.setenv(pretrained.BACKBONE_ENV, "random")
    with pytest.raises(ValueError, match="course, imagenet"):
        pretrained.backbone_name()


def test_load_backbone_prints_which_backbone_it_uses(capsys):
    backbone = pretrained.load_backbone("course")
    assert "backbone: course (course_cnn, weights CourseCNN_Weights.CIFAR5_SOURCE_V1)" in capsys.readouterr().out
    assert isinstance(backbone.model, pretrained.CourseCNN)


# --- the imagenet path: the right torchvision enum, and one clear error offline -----------------------

@pytest.mark.parametrize("arch, enum_name", [("vgg11", "VGG11_Weights"), ("resnet18", "ResNet18_Weights")])
def test_imagenet_model_asks_torchvision_for_the_imagenet1k_v1_enum(monkeypatch, arch, enum_name):
    requested = {}

    def fake_builder(*, weights):
        requested["weights"] = weights
        return nn.Identity()

    monkeypatch.setattr(torchvision.models, arch, fake_builder)
    monkeypatch.setattr(pretrained, "fetch_imagenet_weights", lambda w, a: requested.setdefault("fetched", w))
    pretrained.imagenet_model(arch)
    expected = getattr(torchvision.models, enum_name).IMAGENET1K_V1
    assert requested["weights"] is expected and requested["fetched"] is expected


def test_imagenet_backbone_defaults_to_resnet18(monkeypatch):
    requested = {}

    def fake_resnet18(*, weights):
        requested["w"] = weights
        return nn.Identity()

    monkeypatch.setattr(torchvision.models, "resnet18", fake_resnet18)
    monkeypatch.setattr(pretrained, "fetch_imagenet_weights", lambda w, a: None)
    backbone = pretrained.load_backbone("imagenet", verbose=False)
    assert requested["w"] is torchvision.models.ResNet18_Weights.IMAGENET1K_V1
    assert (backbone.arch, backbone.features_prefix, backbone.head) == ("resnet18", "", "fc")


def test_imagenet_checkpoint_is_looked_up_in_torch_hub_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    weights = torchvision.models.ResNet18_Weights.IMAGENET1K_V1
    expected = tmp_path / "hub" / "checkpoints" / weights.url.rsplit("/", 1)[-1]
    assert pretrained.imagenet_checkpoint(weights) == expected
    assert not pretrained.imagenet_available("resnet18")


@pytest.mark.parametrize("arch", ["vgg11", "resnet18"])
def test_imagenet_weights_missing_offline_raise_one_error_with_the_prefetch_command(monkeypatch, tmp_path, arch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty cache
    monkeypatch.delenv("COURSE_OFFLINE", raising=False)  # a download is tried, and fails

    def offline(url, *args, **kwargs):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    monkeypatch.setattr(torchvision.models, arch, lambda **kw: pytest.fail("built a model without its weights"))
    with pytest.raises(WeightsNotAvailableError) as info:
        pretrained.imagenet_model(arch)
    message = str(info.value)
    assert str(tmp_path / "hub" / "checkpoints") in message
    assert pretrained.prefetch_command(arch) in message
    assert "IMAGENET1K_V1" in message and "COURSE_BACKBONE=course" in message
    with pytest.raises(WeightsNotAvailableError):  # the same error through the notebooks' entry point
        pretrained.load_backbone("imagenet", arch=arch, verbose=False)


def test_course_offline_never_tries_to_download_imagenet_weights(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    monkeypatch.setattr(torch.hub, "download_url_to_file", lambda *a, **k: pytest.fail("tried to download"))
    with pytest.raises(WeightsNotAvailableError, match="COURSE_OFFLINE"):
        pretrained.imagenet_model("resnet18")


def test_real_imagenet_weights_load_when_available():
    if not pretrained.imagenet_available("resnet18"):
        pytest.skip("needs the real ResNet-18 ImageNet checkpoint in $TORCH_HOME/hub/checkpoints "
                    "(no network and no ImageNet weights on this machine); run "
                    + pretrained.prefetch_command("resnet18"))
    model = pretrained.imagenet_model("resnet18")
    assert isinstance(model, torchvision.models.ResNet) and model.fc.out_features == 1000


# --- the course's own weights ----------------------------------------------------------------------

def test_course_weights_are_small_verified_and_load_strictly():
    assert COURSE.path.stat().st_size <= 5 * 2**20
    assert pretrained.sha256_of(COURSE.path) == COURSE.value.sha256
    assert COURSE.value.sha256.startswith(COURSE.path.stem.rsplit("-", 1)[1])  # torchvision's naming
    model = pretrained.course_cnn(weights=COURSE)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in COURSE.get_state_dict().items())


def test_course_weights_card_records_how_they_were_made():
    card = COURSE.meta
    assert card["sha256"] == COURSE.value.sha256 and card["file"] == COURSE.path.name
    assert card["source_classes"] == list(pretrained.SOURCE_CLASSES)
    assert card["command"].startswith("python -m course_tools.pretrain_source")
    for key in ("preset", "device", "torch", "train_wall_s", "source_test_images"):
        assert card[key], key
    assert 0.2 < card["source_test_accuracy"] <= 1


def test_a_corrupted_course_checkpoint_is_refused_with_a_clear_error(tmp_path):
    broken = tmp_path / COURSE.path.name
    shutil.copy(COURSE.path, broken)
    data = bytearray(broken.read_bytes())
    data[len(data) // 2] ^= 0xFF
    broken.write_bytes(bytes(data))
    weights = CourseWeights(COURSE.path.name, COURSE.value.sha256, directory=tmp_path)
    with pytest.raises(WeightsVerificationError, match=f"expected {COURSE.value.sha256}") as info:
        weights.get_state_dict()
    assert "corrupted" in str(info.value) and "git checkout" in str(info.value)


def test_a_missing_course_checkpoint_says_how_to_get_it(tmp_path):
    weights = CourseWeights(COURSE.path.name, COURSE.value.sha256, directory=tmp_path)
    with pytest.raises(WeightsNotAvailableError, match="pretrain_source"):
        weights.get_state_dict()


def test_pretrained_course_cnn_keeps_its_source_head():
    with pytest.raises(ValueError, match="replace its head"):
        pretrained.course_cnn(weights="CIFAR5_SOURCE_V1", num_classes=10)
    assert pretrained.course_cnn(num_classes=10).classifier[-1].out_features == 10


@requires_cifar10
def test_course_weights_have_learned_the_source_task():
    from course_utils.data import eval_loader
    from course_utils.train import evaluate
    loader = eval_loader(device="cpu", classes=pretrained.SOURCE_CLASSES)  # smoke: 100 images
    _, acc = evaluate(pretrained.course_cnn(weights=COURSE), loader, device="cpu")
    # The card's accuracy is on all 5,000 source test images; 100 images have a ~5 % standard error.
    assert acc >= COURSE.meta["source_test_accuracy"] - 0.15
    assert acc >= 0.5  # far above chance (20 %)


# --- backbone anatomy and the specs formulas ----------------------------------------------------------

def test_specs_count_the_course_cnn_exactly():
    model = pretrained.course_cnn()
    dim = specs.plain_cnn_feature_dim(pretrained.COURSE_CNN_CFG)
    assert model.classifier[-1].in_features == dim
    assert sum(p.numel() for p in model.features.parameters()) == specs.plain_cnn_features_params(pretrained.COURSE_CNN_CFG)
    assert sum(p.numel() for p in model.parameters()) == (specs.plain_cnn_features_params(pretrained.COURSE_CNN_CFG)
                                                          + specs.head_params(dim, len(pretrained.SOURCE_CLASSES)))


@pytest.mark.parametrize("arch", ["course_cnn", "resnet18", "vgg11"])
def test_backbone_parts_name_the_head_and_the_frozen_part(arch):
    if arch == "vgg11":  # skip the random init of 133 M weights: only the layout matters here
        from torchvision.models.vgg import VGG, cfgs, make_layers
        model = VGG(make_layers(cfgs["A"]), init_weights=False)
    else:
        model = pretrained.course_cnn() if arch == "course_cnn" else torchvision.models.resnet18(weights=None)
    prefix, head = pretrained.BACKBONE_PARTS[arch]
    last_linear = [name for name, m in model.named_modules() if isinstance(m, nn.Linear)][-1]
    assert head == last_linear
    names = [n for n, _ in model.named_parameters()]
    if prefix:  # a real module, and the head is not part of it
        assert any(n.startswith(prefix + ".") for n in names) and not head.startswith(prefix)
    assert specs.head_param_names(head) == [n for n in names if n.startswith(head + ".")]


def test_build_architecture_matches_the_pretrained_state_dict():
    model = pretrained.build_architecture("course")
    model.load_state_dict(pretrained.pretrained_state_dict("course"), strict=True)


# --- pretraining command ----------------------------------------------------------------------------------

@requires_cifar10
def test_train_source_smoke_writes_a_checkpoint_named_and_carded_by_its_sha256(tmp_path):
    from course_tools import pretrain_source
    pretrain_source.main(["--preset", "smoke", "--out-dir", str(tmp_path)])
    (checkpoint,) = tmp_path.glob("course_cnn_cifar5_source-*.pt")
    card = json.loads(checkpoint.with_suffix(".json").read_text())
    digest = pretrained.sha256_of(checkpoint)
    assert card["sha256"] == digest and checkpoint.stem.endswith(digest[:8])
    assert card["preset"] == "smoke" and card["train_images"] == 5 * pretrain_source.SOURCE_PRESETS["smoke"]["train_per_class"]
    assert card["command"] == f"python -m course_tools.pretrain_source --preset smoke --out-dir {tmp_path}"
    state = CourseWeights(checkpoint.name, digest, directory=tmp_path).get_state_dict()
    pretrained.CourseCNN().load_state_dict(state, strict=True)


def test_verify_command_checks_the_shipped_weights(capsys):
    pretrained.main(["verify"])
    assert "sha256 ok" in capsys.readouterr().out
