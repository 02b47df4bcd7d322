"""The speed-run library (course_utils.speedrun): the networks, each rung's switch doing
what it says, the ladder's shape, and short runs of every rung in the smoke profile."""
import math

import pytest
import torch
import torch.nn as nn

from conftest import requires_cifar10
from course_utils import specs, speedrun
from course_utils.speedrun import LADDER, Recipe


def expected_resnet9_params(num_classes=10) -> int:
    """From the configuration table: conv (no bias) + BN per conv_bn, two per residual
    pair, bias-free head."""
    def conv_bn(cin, cout):
        return specs.conv_params(cin, cout, 3, bias=False) + specs.batchnorm_params(cout)
    total, in_channels = 0, 3
    for _, width, _, residual in speedrun.RESNET9_CFG:
        total += conv_bn(in_channels, width) + (2 * conv_bn(width, width) if residual else 0)
        in_channels = width
    return total + specs.linear_params(in_channels, num_classes, bias=False)


# --- the networks ---------------------------------------------------------------------

def test_networks_map_images_to_class_logits():
    for build in (speedrun.resnet9, speedrun.compact_net):
        with torch.no_grad():
            assert build().eval()(torch.randn(3, 3, 32, 32)).shape == (3, 10)
            assert build(num_classes=7).eval()(torch.randn(1, 3, 32, 32)).shape == (1, 7)


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
    assert sizes == [("prep", (64, 32, 32)), ("layer1", (128, 16, 16)),
                     ("layer2", (256, 8, 8)), ("layer3", (512, 4, 4)), ("head", (10,))]


def test_compact_net_is_a_fraction_of_resnet9():
    def count(m):
        return sum(p.numel() for p in m.parameters())
    assert count(speedrun.compact_net()) < count(speedrun.resnet9()) / 2


def test_residual_adds_its_input_back():
    branch = nn.Conv2d(4, 4, 3, padding=1)
    nn.init.zeros_(branch.weight)
    nn.init.zeros_(branch.bias)
    x = torch.randn(2, 4, 5, 5)
    assert torch.equal(speedrun.Residual(branch)(x), x)   # f = 0: the identity
    nn.init.constant_(branch.bias, 1.0)
    assert torch.allclose(speedrun.Residual(branch)(x), x + 1)


# --- each idea does what it says ------------------------------------------------------

def test_whitening_layer_output_covariance_is_the_identity_on_its_data():
    torch.manual_seed(0)
    # correlated channels and neighbouring pixels, like images
    images = torch.randn(64, 3, 12, 12)
    images = images + 0.8 * images.roll(1, dims=3) + 0.5 * images[:, :1]
    conv = speedrun.patch_stem()[0]
    speedrun.fit_whitening(conv, images, eps=0.0)
    with torch.no_grad():
        out = conv(images)[:, :12].permute(0, 2, 3, 1).reshape(-1, 12).double()
    centred = out - out.mean(0)
    covariance = centred.T @ centred / len(out)
    assert torch.allclose(covariance, torch.eye(12, dtype=torch.float64), atol=1e-3)
    assert out.mean(0).abs().max() < 1e-3                  # the bias removes the mean
    assert not conv.weight.requires_grad and conv.bias.requires_grad
    with torch.no_grad():                                  # the second half: the negation
        full = conv(images)
    assert torch.equal(full[:, 12:], -full[:, :12])


def test_whitening_eps_damps_the_directions_of_little_variance():
    torch.manual_seed(0)
    images = torch.randn(32, 3, 8, 8)
    images[:, 2] = images[:, 1]                            # a direction without variance
    conv = speedrun.patch_stem()[0]
    variances = speedrun.fit_whitening(conv, images, eps=1e-2)
    assert variances[0] >= variances[-1] and variances[-1] < 1e-6
    assert conv.weight[:12].flatten(1).norm(dim=1).max() < 1e2   # no blow-up


def test_dirac_init_makes_a_convolution_the_identity():
    conv = speedrun.conv3x3(8, 8)
    speedrun.identity_init_(conv)
    x = torch.randn(2, 8, 9, 9)
    with torch.no_grad():
        assert torch.equal(conv(x), x)
    wider = speedrun.conv3x3(8, 16)
    before = wider.weight[8:].detach().clone()
    speedrun.identity_init_(wider)
    with torch.no_grad():
        assert torch.equal(wider(x)[:, :8], x)           # first in_channels filters copy
    assert torch.equal(wider.weight[8:], before)         # the rest keep their random start


def test_batchnorm_without_scale_has_no_weight_parameter_and_learns_a_shift():
    bn = speedrun.BatchNormNoScale(6)
    names = dict(bn.named_parameters())
    assert "weight" not in names and set(names) == {"bias"}
    assert "weight" not in bn.state_dict()
    x = torch.randn(4, 6, 5, 5)
    with torch.no_grad():
        bn.bias.fill_(0.5)
        expected = nn.functional.batch_norm(x, None, None, training=True) + 0.5
        assert torch.allclose(bn.train()(x), expected, atol=1e-5)
    model = speedrun.compact_net(bn_scale=False)
    assert not any(n.endswith("weight") for m in model.modules()
                   if isinstance(m, nn.BatchNorm2d) for n, _ in m.named_parameters())


def test_triangle_schedule_rises_to_one_then_falls():
    assert speedrun.triangle(0.0) == pytest.approx(0.2)
    assert speedrun.triangle(0.23) == pytest.approx(1.0)
    assert speedrun.triangle(1.0) == pytest.approx(0.07)
    values = [speedrun.triangle(i / 100) for i in range(101)]
    peak = values.index(max(values))
    assert all(a < b for a, b in zip(values[:peak], values[1:peak + 1]))
    assert all(a > b for a, b in zip(values[peak:-1], values[peak + 1:]))


def test_decoupled_sgd_keeps_step_and_decay_per_example_fixed():
    def groups(batch, momentum):
        model = speedrun.compact_net(bn_scale=False)
        opt = speedrun.decoupled_sgd(model, lr=10.0, momentum=momentum, weight_decay=0.01,
                                     batch_size=batch, bias_lr_scale=64.0)
        return opt.param_groups
    for batch, momentum in ((1024, 0.85), (256, 0.85), (1024, 0.6)):
        bias, main = groups(batch, momentum)
        # steady-state step per 1024 examples: sgd_lr / (1 - m) * 1024 / batch
        assert main["lr"] / (1 - momentum) * 1024 / batch == pytest.approx(10.0)
        assert bias["lr"] == pytest.approx(64 * main["lr"])
        # decay per 1024 examples, the same in both groups
        for g in (bias, main):
            shrink = g["lr"] * g["weight_decay"] / (1 - momentum) * 1024 / batch
            assert shrink == pytest.approx(0.01)
    bias, _ = groups(1024, 0.85)
    assert all(p.dim() == 1 for p in bias["params"])     # BatchNorm biases only


def test_weight_average_is_the_running_average_and_lookahead_pulls_back():
    model = nn.Linear(3, 2)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    ema = speedrun.WeightAverage(model, pull_back=False)
    expected = {k: v.clone() for k, v in start.items()}
    for decay, step in ((0.5, 1.0), (0.9, -2.0), (0.0, 0.5)):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(step)
        ema.update(model, decay)
        for k, v in model.state_dict().items():
            expected[k] = decay * expected[k] + (1 - decay) * v
            assert torch.allclose(ema.average[k], expected[k])
    lookahead = speedrun.WeightAverage(model, pull_back=True)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        model.weight.add_(1.0)
    lookahead.update(model, 0.75)
    assert torch.allclose(model.weight, before["weight"] + 0.25)   # pulled back to the average
    assert speedrun.lookahead_decay(0.0) == 0 and speedrun.lookahead_decay(1.0) < 1


def test_multicrop_tta_averages_the_logits_over_the_crops():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.LazyLinear(5)).eval()
    x = torch.randn(2, 3, 8, 8)
    model(x)
    views = speedrun.tta_views(x, "multicrop")
    assert len(views) == 6 and sum(w for _, w in views) == pytest.approx(1.0)
    assert torch.equal(views[0][0], x) and torch.equal(views[1][0], x.flip(3))
    padded = nn.functional.pad(x, (1, 1, 1, 1), mode="reflect")
    crops = [x, padded[..., :8, :8], padded[..., 2:, 2:]]
    for crop in crops[1:]:
        assert any(torch.equal(v, crop) for v, _ in views)
        assert any(torch.equal(v, crop.flip(3)) for v, _ in views)
    with torch.no_grad():
        got = speedrun.tta_logits(model, x, "multicrop")
        pairs = [(model(c) + model(c.flip(3))) / 2 for c in crops]
        assert torch.allclose(got, 0.5 * pairs[0] + 0.25 * pairs[1] + 0.25 * pairs[2],
                              atol=1e-6)
        assert torch.allclose(speedrun.tta_logits(model, x, "flip"), pairs[0], atol=1e-6)
        assert torch.equal(speedrun.tta_logits(model, x, "none"), model(x))
    with pytest.raises(ValueError):
        speedrun.tta_views(x, "tenfold")


def make_epoch_data(alternating: bool, n: int = 16, padding: int = 2):
    images = torch.randint(0, 256, (n, 3, 8, 8), dtype=torch.uint8)
    labels = torch.arange(n)
    return speedrun.EpochData(images, labels, device="cpu", dtype=torch.float32,
                              padding=padding, alternating_flip=alternating, seed=3)


def test_alternating_flip_mirrors_every_image_on_exactly_every_other_epoch():
    data = make_epoch_data(alternating=True)
    flips = torch.stack([data.flips(e) for e in range(6)])          # epochs × images
    assert torch.equal(flips[1:], ~flips[:-1])
    assert 0 < flips[0].sum() < len(data)                           # a random start
    plain = make_epoch_data(alternating=False)
    random_flips = torch.stack([plain.flips(e) for e in range(6)])
    assert not torch.equal(random_flips[1:], ~random_flips[:-1])


def test_epoch_images_are_shifted_and_mirrored_copies_of_their_own_image():
    data = make_epoch_data(alternating=True, padding=0)
    for epoch in range(2):
        images, labels = data.epoch(epoch)
        flips = data.flips(epoch)
        originals = data.unpadded()
        for image, label in zip(images, labels):
            original = originals[label]
            assert torch.equal(image, original.flip(2) if flips[label] else original)
    shifted = make_epoch_data(alternating=False, padding=2)
    images, labels = shifted.epoch(0)
    assert images.shape == (16, 3, 8, 8) and sorted(labels.tolist()) == list(range(16))
    padded = shifted.padded
    for image, label in zip(images, labels):   # every output is some window of its image
        windows = [padded[label, :, dy:dy + 8, dx:dx + 8] for dy in range(5) for dx in range(5)]
        assert any(torch.equal(image, w) or torch.equal(image, w.flip(2)) for w in windows)


# --- the ladder -----------------------------------------------------------------------

def test_each_rung_changes_what_it_says():
    expected = {
        "device_data": {"data_on_device"}, "large_batch": {"batch_size", "lr"},
        "bf16_channels_last": {"bf16_channels_last"}, "label_smoothing": {"label_smoothing"},
        "compact_net": {"net"}, "whitening": {"whitening"}, "dirac_init": {"dirac_init"},
        "bn_no_scale": {"bn_scale"},
        "triangle_decoupled": {"decoupled", "batch_size", "lr", "momentum", "weight_decay",
                               "bias_lr_scale"},
        "lookahead": {"lookahead"}, "alternating_flip": {"alternating_flip"},
        "multicrop_tta": {"tta"}, "short_run": {"epochs", "crop_padding"},
    }
    assert LADDER[0].key == "baseline" and [r.key for r in LADDER[1:]] == list(expected)
    for before, rung in zip(LADDER, LADDER[1:]):
        assert set(rung.recipe.changes_from(before.recipe)) == expected[rung.key], rung.key
    assert speedrun.FINAL == LADDER[-1].recipe
    assert speedrun.record_name(6) == "speedrun_ladder_06_whitening"


def test_full_profile_runs_the_whole_dataset_and_short_profiles_shrink_only_sizes():
    for rung in LADDER:
        full = speedrun.scaled(rung.recipe, "full")
        assert full == rung.recipe and full.train_per_class is None
        for name in ("smoke", "cpu"):
            short = speedrun.scaled(rung.recipe, name)
            changed = set(short.changes_from(full))
            assert changed <= {"train_per_class", "test_per_class", "epochs", "batch_size",
                               "lr", "whiten_bias_epochs"}
            assert short.train_per_class < 100 and short.epochs <= full.epochs
            per_example = short.lr / short.batch_size
            if not rung.recipe.decoupled:      # same learning rate per example
                assert per_example == pytest.approx(full.lr / full.batch_size)


def test_build_model_applies_the_recipe_switches():
    model = speedrun.build_model(speedrun.FINAL)
    assert hasattr(model, "stem") and not any(
        isinstance(m, nn.BatchNorm2d) and isinstance(m.weight, nn.Parameter)
        for m in model.modules())
    conv = model.block2[4]
    assert torch.equal(conv.weight[:, :, 1, 1][:256].diagonal(), torch.ones(256))
    with pytest.raises(ValueError):
        speedrun.build_model(Recipe(net="vgg"))


# --- runs -----------------------------------------------------------------------------

@requires_cifar10
def test_one_training_step_on_real_images_gives_a_finite_loss_and_moves_every_weight():
    torch.manual_seed(0)
    recipe = speedrun.recipe_for("smoke")
    data = speedrun.load_data(recipe)
    epoch = speedrun.EpochData(*data["train"], device="cpu", dtype=torch.float32,
                               padding=recipe.crop_padding, alternating_flip=True)
    images, labels = epoch.epoch(0)
    model = speedrun.build_model(recipe)
    speedrun.fit_whitening(model.stem[0], epoch.unpadded())
    trainable = [p for p in model.parameters() if p.requires_grad]
    before = [p.detach().clone() for p in trainable]
    optimizer = speedrun.decoupled_sgd(model, recipe.lr, recipe.momentum, recipe.weight_decay,
                                       recipe.batch_size, recipe.bias_lr_scale)
    loss = nn.functional.cross_entropy(model(images[:recipe.batch_size]),
                                       labels[:recipe.batch_size], label_smoothing=0.2)
    loss.backward()
    optimizer.step()
    assert math.isfinite(loss.item())
    assert all(not torch.equal(b, p) for b, p in zip(before, trainable))


@requires_cifar10
@pytest.mark.timeout(600)
def test_smoke_speed_run_of_the_final_recipe_reports_what_it_measured():
    model, result = speedrun.speed_run("smoke", device="cpu", quiet=True)
    recipe = speedrun.recipe_for("smoke")
    assert result.recipe == recipe and result.device == "CPU"
    assert result.history.epochs == recipe.epochs == len(result.history.val_acc)
    assert all(math.isfinite(v) for v in result.history.train_loss)
    assert result.train_images == 10 * recipe.train_per_class
    assert 0 <= result.test_acc <= 1 and 0 <= result.test_acc_tta <= 1
    assert result.wall_s > 0
    assert f"{result.wall_s:.1f} s" in str(result) and "CPU" in str(result)
    assert isinstance(model, nn.Module)


@requires_cifar10
@pytest.mark.timeout(900)
def test_every_rung_runs_in_smoke_and_the_table_and_plot_show_them():
    seen = []
    results = speedrun.run_ladder("smoke", device="cpu",
                                  report=lambda k, r: seen.append(k))
    assert seen == list(range(len(LADDER))) == [k for k, _ in results]
    for k, result in results:
        assert result.recipe == speedrun.scaled(LADDER[k].recipe, "smoke")
        assert math.isfinite(result.history.train_loss[-1]), LADDER[k].key
    rows = [dict(k=k, idea=LADDER[k].idea, accuracy=r.test_acc_tta, wall_s=r.wall_s,
                 epochs=r.recipe.epochs) for k, r in results]
    table = speedrun.ladder_table(rows)
    assert len(table.splitlines()) == len(LADDER) + 1
    assert max(len(line) for line in table.splitlines()) <= 88
    fig = speedrun.plot_ladder(rows, title="smoke")
    assert len(fig.axes) == 2


# --- bench: the comparison with airbench94 --------------------------------------------

def load_bench_airbench():
    import sys

    from conftest import ROOT
    sys.path.insert(0, str(ROOT))   # bench/ is a top-level folder, not an installed package
    from bench import airbench
    return airbench


def test_bench_airbench_row_is_na_without_cuda(monkeypatch):
    airbench = load_bench_airbench()
    from course_utils.config import get_profile
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    [(what, value, detail)] = airbench.bench_rows(get_profile("smoke"))
    assert "airbench94" in what and value == "n/a"
    assert detail.startswith("n/a: ") and "CUDA" in detail


def test_bench_airbench_row_is_na_without_the_package(monkeypatch):
    import builtins
    airbench = load_bench_airbench()
    from course_utils.config import get_profile
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    real_import = builtins.__import__

    def no_airbench(name, *args, **kwargs):
        if name == "airbench":
            raise ImportError("No module named 'airbench'")
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", no_airbench)
    [(_, value, detail)] = airbench.bench_rows(get_profile("smoke"))
    assert value == "n/a" and detail == f"n/a: airbench is not installed: {airbench.INSTALL_HINT}"


def test_python_m_bench_prints_the_airbench_row_as_na_on_this_machine(capsys):
    if torch.cuda.is_available():
        pytest.skip("a GPU is here: the row is a measurement, not n/a")
    load_bench_airbench()
    import bench
    rows = bench.main(["--profile", "smoke", "--only", "airbench"])
    assert [(r.part, r.value) for r in rows] == [("airbench", "n/a")]
    table = capsys.readouterr().out.split("bench results", 1)[1]
    assert "n/a: needs CUDA" in table


def test_bench_verdict_states_ratio_and_whether_accuracy_matched():
    airbench = load_bench_airbench()
    ratio, matched, words = airbench.verdict([0.91, 0.912], [3.0, 3.2], [0.907, 0.908],
                                             [2.0, 2.2])
    assert ratio == pytest.approx(3.1 / 2.1) and matched
    assert words.startswith("1.48× airbench94's time") and "matched (+0.35 points)" in words
    _, matched, words = airbench.verdict([0.90], [1.0], [0.907], [2.0])
    assert not matched and "NOT matched" in words
    line = airbench.summary_line("ours", [0.91, 0.93], [3.0, 3.2])
    assert "92.00 ± 1.41 %" in line and "n=2" in line


@requires_cifar10
@pytest.mark.timeout(600)
def test_bench_ladder_dry_run_writes_one_loadable_record_per_rung(tmp_path):
    airbench = load_bench_airbench()
    from course_utils import records
    lines = []
    runs = airbench.measure_ladder(tmp_path, seeds=2, budget_s=600, with_airbench=False,
                                   report=lines.append, profile="smoke", device="cpu",
                                   rungs=[5, 13])
    assert sorted(runs) == [5, 13] and all(len(v) == 2 for v in runs.values())
    for k in (5, 13):
        record = records.load(speedrun.record_name(k), "smoke", root=tmp_path)
        assert record.extra["key"] == LADDER[k].key and record.extra["seeds"] == [0, 1]
        assert record.test_accuracy == pytest.approx(
            sum(record.extra["test_accuracy_per_seed"]) / 2)
        assert record.device.startswith("cpu") and record.test_images == 20
        assert record.history["train_loss"] and record.history["val_acc"]   # seed 0's curves
    assert "records written under" in lines[-1]
