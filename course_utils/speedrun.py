"""A ResNet speed run: a small residual network and the plain recipe that trains it fast.

The network is ResNet-9 in the style of the DAWNBench CIFAR-10 entries (Myrtle.ai's,
described in David Page's "How to train your ResNet"): a wide, shallow residual network that
does most of its work at low resolution. The recipe is ordinary engineering, no tricks that
change what is learned:

* the whole of CIFAR-10 lives on the device as one uint8 tensor, and random crop + flip are
  done on whole batches there (:class:`course_utils.data.TensorLoader`);
* bf16 autocast and the ``channels_last`` memory format on CUDA (ignored on the CPU);
* large batches with SGD + Nesterov momentum under a one-cycle learning-rate schedule;
* label smoothing, and at test time the average of each image's and its mirror's logits.

Aim (``full`` profile, one H100): >= 94 % test accuracy within 60 s of wall time. The profile
decides how much data and how many epochs a run uses; the network is the same everywhere.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn

from .config import Profile, get_device, get_profile
from .data import TensorLoader, load_subset
from .train import History, default_optimizer, fit


# --- the network -----------------------------------------------------------------------------

def conv_bn(in_channels: int, out_channels: int) -> nn.Sequential:
    """3×3 convolution (no bias: BatchNorm follows) + BatchNorm + ReLU, the only layer type used."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class Residual(nn.Module):
    """``x + f(x)``: the shortcut is the identity, so ``f`` must keep the shape."""

    def __init__(self, f: nn.Module):
        super().__init__()
        self.f = f

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.f(x)


class Scale(nn.Module):
    """Multiply by a constant (keeps the initial logits small; no parameters)."""

    def __init__(self, factor: float):
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor

    def extra_repr(self) -> str:
        return f"factor={self.factor}"


# (name, out_channels, max-pool after the conv?, residual pair after it?)
RESNET9_CFG = [
    ("prep", 64, False, False),     # 32×32
    ("layer1", 128, True, True),    # 16×16
    ("layer2", 256, True, False),   # 8×8
    ("layer3", 512, True, True),    # 4×4
]


def resnet9(num_classes: int = 10, cfg=RESNET9_CFG) -> nn.Sequential:
    """ResNet-9 for 32×32 images: four conv_bn stages, two residual pairs, max-pool, linear."""
    layers, in_channels = [], 3
    for name, width, pool, residual in cfg:
        stage = [conv_bn(in_channels, width)]
        if pool:
            stage.append(nn.MaxPool2d(2))
        if residual:
            stage.append(Residual(nn.Sequential(conv_bn(width, width), conv_bn(width, width))))
        layers.append((name, nn.Sequential(*stage)))
        in_channels = width
    head = nn.Sequential(nn.AdaptiveMaxPool2d(1), nn.Flatten(),
                         nn.Linear(in_channels, num_classes, bias=False), Scale(0.125))
    model = nn.Sequential()
    for name, stage in layers + [("head", head)]:
        model.add_module(name, stage)
    return model


# --- the recipe ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Recipe:
    """Everything the speed run trains with. ``*_per_class=None`` means the whole split."""

    train_per_class: int | None
    test_per_class: int | None
    epochs: int
    batch_size: int
    lr: float = 0.4                 # peak of the one-cycle schedule
    weight_decay: float = 5e-4
    label_smoothing: float = 0.2
    flip_tta: bool = True           # test-time: average the logits of an image and its mirror

    def as_dict(self) -> dict:
        return asdict(self)


# The full recipe is the GPU run the section is about. The short versions keep the chapter's
# time budget on 2 CPU cores (ResNet-9 costs ~9× ResNet-20 per image), so they see less data.
RECIPES: dict[str, Recipe] = {
    "smoke": Recipe(train_per_class=10, test_per_class=10, epochs=1, batch_size=50),
    "cpu": Recipe(train_per_class=60, test_per_class=50, epochs=3, batch_size=100),
    "full": Recipe(train_per_class=None, test_per_class=None, epochs=24, batch_size=512),
}


def recipe_for(profile: Profile | str | None = None) -> Recipe:
    profile = profile if isinstance(profile, Profile) else get_profile(profile)
    return RECIPES[profile.name]


@dataclass
class SpeedRunResult:
    history: History
    test_acc: float          # plain forward pass
    test_acc_tta: float      # with the mirror average
    wall_s: float            # from the first training step to the final accuracy, data already loaded
    device: str
    train_images: int
    recipe: Recipe

    def __str__(self) -> str:
        return (f"{self.train_images:,} training images × {self.recipe.epochs} epoch(s) on {self.device}: "
                f"test accuracy {self.test_acc:.2%} ({self.test_acc_tta:.2%} with flip TTA) "
                f"in {self.wall_s:.1f} s")


@torch.no_grad()
def evaluate_flip_tta(model: nn.Module, loader, device) -> tuple[float, float]:
    """Accuracy without and with test-time flips (logits of image + mirror, summed)."""
    model.eval()
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")
    correct = torch.zeros(2, device=device, dtype=torch.long)
    seen = 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        if device.type == "cuda":
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast:
            logits = model(x).float()
            both = logits + model(x.flip(3)).float()
        correct[0] += (logits.argmax(1) == y).sum()
        correct[1] += (both.argmax(1) == y).sum()
        seen += len(y)
    plain, tta = (correct.float() / max(seen, 1)).tolist()
    return plain, tta


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def speed_run(profile: Profile | str | None = None, device=None, recipe: Recipe | None = None,
              seed: int = 0, quiet: bool = False) -> tuple[nn.Module, SpeedRunResult]:
    """Train ResNet-9 with the profile's recipe; return the model and the measured result.

    The clock starts after the data are on the device (loading is not training) and stops
    after the final test accuracy is known; on CUDA it waits for the GPU at both ends.
    """
    device = torch.device(device or get_device())
    recipe = recipe or recipe_for(profile)
    torch.manual_seed(seed)
    x_tr, y_tr = load_subset(True, recipe.train_per_class, seed)
    x_te, y_te = load_subset(False, recipe.test_per_class, seed)
    train = TensorLoader(x_tr, y_tr, recipe.batch_size, train=True, augment=True, device=device,
                         seed=seed, drop_last=len(y_tr) >= 2 * recipe.batch_size)
    test = TensorLoader(x_te, y_te, 1000, device=device)
    model = resnet9().to(device)
    optimizer = default_optimizer(model, lr=recipe.lr, weight_decay=recipe.weight_decay)
    _sync(device)
    start = time.perf_counter()
    history = fit(model, train, test, epochs=recipe.epochs, optimizer=optimizer,
                  label_smoothing=recipe.label_smoothing, device=device, quiet=quiet,
                  channels_last=True, bf16=True, cudnn_benchmark=True)
    acc, acc_tta = evaluate_flip_tta(model, test, device)
    _sync(device)
    wall = time.perf_counter() - start
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    return model, SpeedRunResult(history, acc, acc_tta, wall, name, len(y_tr), recipe)
