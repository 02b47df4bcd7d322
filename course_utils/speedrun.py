"""Training fast: a ResNet-9 speed run and the ladder of ideas that makes it fast.

Chapter 6 starts from a plain run of ResNet-9 (the DAWNBench-era network of Myrtle.ai,
described in D. Page's "How to train your ResNet", 2018) and adds one idea at a time. Each
idea is one switch of :class:`Recipe`; :data:`LADDER` lists the recipes in order, each one
the one before plus one change:

 0. the starting point: ResNet-9, SGD with Nesterov momentum and a one-cycle schedule,
    batch 128, fp32, images prepared on the host and copied to the device batch by batch;
 1. the data resident on the device, augmented there a whole epoch at a time;
 2. large batches;
 3. bf16 autocast and the channels_last memory format;
 4. label smoothing;
 5. a compact network sized for the task;
 6. a whitening first layer: a frozen 2×2 convolution fitted to image patches by PCA;
 7. identity (Dirac) initialisation of the 3×3 convolutions;
 8. BatchNorm that learns a shift but no scale;
 9. a triangular learning-rate schedule with decoupled hyper-parameters;
10. Lookahead: a running average of the weights that the weights are pulled back to;
11. alternating flips: every image mirrored on exactly every other epoch;
12. multi-crop test-time augmentation;
13. a shorter run.

The ideas come from the fast CIFAR-10 trainers, above all K. Jordan's airbench ("94 % on
CIFAR-10 in 3.29 seconds on a single GPU", arXiv:2404.00498), whose airbench94 is what the
last rung is compared with (``bench/airbench.py``); the code here is the course's own.

A profile only decides how much data and how many epochs a run sees (:func:`scaled`); the
networks and switches are the same everywhere. On a GPU, ``python -m bench.airbench ladder``
measures every rung and writes one run record per rung.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, fields, replace

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import Profile, get_device, get_profile
from .data import _one_cpu_thread, load_subset, normalize
from .train import History, onecycle

# --- building blocks ------------------------------------------------------------------


def conv3x3(in_channels: int, out_channels: int) -> nn.Conv2d:
    """3×3 convolution that keeps the size; no bias, since BatchNorm follows."""
    return nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False)


class BatchNormNoScale(nn.BatchNorm2d):
    """BatchNorm that learns a shift per channel but no scale: the scale stays 1.

    Before a ReLU and the next convolution a learned scale is redundant (the convolution can
    scale its input itself); dropping it removes parameters without removing any function
    the network can compute. The constant scale is kept as a buffer, so PyTorch's fused
    BatchNorm kernels apply unchanged.
    """

    def __init__(self, num_features: int, momentum: float = 0.1):
        super().__init__(num_features, momentum=momentum)
        ones = self.weight.detach().clone()
        del self.weight
        self.register_buffer("weight", ones, persistent=False)


def batchnorm(channels: int, scale: bool = True, momentum: float = 0.1) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, momentum=momentum) if scale else \
        BatchNormNoScale(channels, momentum=momentum)


def conv_bn(in_channels: int, out_channels: int, bn_scale: bool = True) -> nn.Sequential:
    """3×3 convolution + BatchNorm + ReLU: ResNet-9's only layer type."""
    return nn.Sequential(conv3x3(in_channels, out_channels),
                         batchnorm(out_channels, bn_scale), nn.ReLU(inplace=True))


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


def classifier_head(in_channels: int, num_classes: int) -> nn.Sequential:
    """Global max-pool, a bias-free linear layer, and a scale that keeps logits small."""
    return nn.Sequential(nn.AdaptiveMaxPool2d(1), nn.Flatten(),
                         nn.Linear(in_channels, num_classes, bias=False), Scale(0.125))


# A 2×2 patch of 3 channels has 12 numbers: the whitening layer has one filter per
# principal direction of the patches, and each filter twice, with both signs, so that the
# activation after it lets either sign through.
PATCH_SIZE = 2
PATCH_STEM_WIDTH = 2 * 3 * PATCH_SIZE ** 2


def patch_stem() -> nn.Sequential:
    """A 2×2 convolution over the image (32×32 → 31×31) and a GELU: whitening's place."""
    return nn.Sequential(nn.Conv2d(3, PATCH_STEM_WIDTH, PATCH_SIZE, bias=True), nn.GELU())


# --- the networks ---------------------------------------------------------------------

# (name, out_channels, max-pool after the conv?, residual pair after it?)
RESNET9_CFG = [
    ("prep", 64, False, False),     # 32×32
    ("layer1", 128, True, True),    # 16×16
    ("layer2", 256, True, False),   # 8×8
    ("layer3", 512, True, True),    # 4×4
]


def resnet9(num_classes: int = 10, cfg=RESNET9_CFG, *, bn_scale: bool = True,
            stem: bool = False) -> nn.Sequential:
    """ResNet-9 for 32×32 images: conv_bn stages, two residual pairs, max-pool, linear.

    ``stem=True`` puts a :func:`patch_stem` in front (where a whitening layer can go).
    """
    model = nn.Sequential()
    in_channels = 3
    if stem:
        model.add_module("stem", patch_stem())
        in_channels = PATCH_STEM_WIDTH
    for name, width, pool, residual in cfg:
        stage = [conv_bn(in_channels, width, bn_scale)]
        if pool:
            stage.append(nn.MaxPool2d(2))
        if residual:
            pair = nn.Sequential(conv_bn(width, width, bn_scale),
                                 conv_bn(width, width, bn_scale))
            stage.append(Residual(pair))
        model.add_module(name, nn.Sequential(*stage))
        in_channels = width
    model.add_module("head", classifier_head(in_channels, num_classes))
    return model


# (name, out_channels): each block is conv → max-pool → BN → GELU → conv → BN → GELU and
# halves the resolution, 31 → 15 → 7 → 3.
COMPACT_CFG = [("block1", 64), ("block2", 256), ("block3", 256)]
# BatchNorm's running statistics follow the weights faster than PyTorch's default (0.1):
# a short run changes the weights quickly, and evaluation uses these statistics.
COMPACT_BN_MOMENTUM = 0.4


def compact_block(in_channels: int, out_channels: int, bn_scale: bool = True) -> nn.Sequential:
    """Two 3×3 convolutions; pooling right after the first makes the BN and the second
    convolution work on a quarter of the positions."""
    return nn.Sequential(
        conv3x3(in_channels, out_channels), nn.MaxPool2d(2),
        batchnorm(out_channels, bn_scale, COMPACT_BN_MOMENTUM), nn.GELU(),
        conv3x3(out_channels, out_channels),
        batchnorm(out_channels, bn_scale, COMPACT_BN_MOMENTUM), nn.GELU(),
    )


def compact_net(num_classes: int = 10, cfg=COMPACT_CFG, *,
                bn_scale: bool = True) -> nn.Sequential:
    """A network sized for a few seconds of GPU time: a 2×2 patch stem, three blocks of two
    convolutions (no shortcuts), max-pool and linear — about a third of ResNet-9's work."""
    model = nn.Sequential()
    model.add_module("stem", patch_stem())
    in_channels = PATCH_STEM_WIDTH
    for name, width in cfg:
        model.add_module(name, compact_block(in_channels, width, bn_scale))
        in_channels = width
    model.add_module("head", classifier_head(in_channels, num_classes))
    return model


# --- idea: whitening, a first layer fitted by PCA -------------------------------------

def patch_moments(images: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (D) and covariance (D×D, float64) of every size×size patch of ``images``.

    ``D = channels · size²``, flattened in the order of a convolution's weight (c, y, x).
    """
    c = images.shape[1]
    patches = images.float().unfold(2, size, 1).unfold(3, size, 1)   # n, c, h', w', s, s
    patches = patches.permute(0, 2, 3, 1, 4, 5).reshape(-1, c * size * size)
    mean = patches.mean(0)
    centred = patches - mean
    covariance = (centred.T @ centred).double() / len(centred)
    return mean.double(), covariance


@torch.no_grad()
def fit_whitening(conv: nn.Conv2d, images: torch.Tensor, eps: float = 5e-4) -> torch.Tensor:
    """Make ``conv`` whiten the patches of ``images``; return the patch variances (eigenvalues).

    Filter ``i`` is the ``i``-th principal direction of the patches divided by the square
    root of its variance (plus ``eps``, so that directions of almost no variance, mostly
    noise, are not blown up), and the bias subtracts the mean: on these images the first
    half of the output channels has covariance ``diag(λ / (λ + eps))`` — the identity for
    every direction whose variance is well above ``eps``. The second half is the first
    negated. The weight is frozen afterwards; the bias may still learn.
    """
    size = conv.kernel_size[0]
    mean, covariance = patch_moments(images, size)
    eigenvalues, eigenvectors = torch.linalg.eigh(covariance)       # ascending
    eigenvalues, eigenvectors = eigenvalues.flip(0), eigenvectors.flip(1)
    filters = eigenvectors.T / (eigenvalues[:, None] + eps).sqrt()  # one row per direction
    bias = -(filters @ mean)
    weight = filters.reshape(-1, images.shape[1], size, size)
    conv.weight.copy_(torch.cat([weight, -weight]).to(conv.weight))
    conv.bias.copy_(torch.cat([bias, -bias]).to(conv.bias))
    conv.weight.requires_grad_(False)
    return eigenvalues


# --- idea: identity (Dirac) initialisation --------------------------------------------

@torch.no_grad()
def identity_init_(model: nn.Module) -> nn.Module:
    """Start every 3×3 convolution as the identity on its first ``in_channels`` filters.

    A filter that is 1 at its centre for one input channel and 0 elsewhere copies that
    channel (``nn.init.dirac_``). At initialisation the network then passes the image's
    features on instead of scrambling them; further filters keep their random start.
    """
    for module in model.modules():
        if isinstance(module, nn.Conv2d) and module.kernel_size == (3, 3):
            n = min(module.in_channels, module.out_channels)
            nn.init.dirac_(module.weight[:n])
    return model


# --- idea: augmentation a whole epoch at a time, alternating flips --------------------

def crop_and_flip(padded: torch.Tensor, order: torch.Tensor, dy: torch.Tensor,
                  dx: torch.Tensor, flip: torch.Tensor, padding: int) -> torch.Tensor:
    """Images ``order`` of ``padded``, each cut at offset (dy, dx) and mirrored where ``flip``.

    One indexing operation for the whole set: the rows and columns to read are computed per
    image, a mirror is just the columns in reverse. The result is in channels_last layout.
    """
    n = len(order)
    h, w = padded.shape[2] - 2 * padding, padded.shape[3] - 2 * padding
    dev = padded.device
    rows = torch.arange(h, device=dev).view(1, h, 1) + dy.view(n, 1, 1)
    cols = torch.arange(w, device=dev).view(1, 1, w)
    cols = torch.where(flip.view(n, 1, 1), w - 1 - cols, cols) + dx.view(n, 1, 1)
    picked = padded[order.view(n, 1, 1), :, rows, cols]         # n, h, w, c
    return picked.permute(0, 3, 1, 2)


def alternating_flips(base: torch.Tensor, epoch: int) -> torch.Tensor:
    """Which images to mirror in ``epoch`` (0-based): ``base`` on even epochs, its opposite
    on odd ones — every image is mirrored on exactly every other epoch."""
    return base ^ bool(epoch % 2)


class EpochData:
    """The training images, normalised once, augmented an epoch at a time.

    ``device`` is where the images live and are augmented: the training device when the
    data are resident there, else the CPU (each batch is then copied over as it is used).
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, *, device, dtype,
                 padding: int, alternating_flip: bool, seed: int = 0):
        self.device = torch.device(device)
        self.padding = padding
        images = normalize(images.to(self.device))
        # mirror the border (not zeros): a shifted image still looks like an image
        if padding:
            images = F.pad(images, (padding,) * 4, mode="reflect")
        self.padded = images.to(dtype)
        self.labels = labels.to(self.device)
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        self.base_flips = self._coin() if alternating_flip else None

    def __len__(self) -> int:
        return len(self.labels)

    def unpadded(self, n: int | None = None) -> torch.Tensor:
        """The first ``n`` normalised images as they are (no shift, no flip)."""
        p = self.padding
        images = self.padded[:n]
        return images[:, :, p:-p, p:-p] if p else images

    def _coin(self) -> torch.Tensor:
        return torch.rand(len(self), generator=self.generator, device=self.device) < 0.5

    def flips(self, epoch: int) -> torch.Tensor:
        """Random flips each epoch, or (alternating) the base flips inverted on odd epochs."""
        if self.base_flips is None:
            return self._coin()
        return alternating_flips(self.base_flips, epoch)

    def epoch(self, epoch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """All images, shuffled, randomly translated and flipped, and their labels."""
        n, span = len(self), 2 * self.padding + 1
        order = torch.randperm(n, generator=self.generator, device=self.device)
        dy = torch.randint(span, (n,), generator=self.generator, device=self.device)
        dx = torch.randint(span, (n,), generator=self.generator, device=self.device)
        flips = self.flips(epoch)[order]
        images = crop_and_flip(self.padded, order, dy, dx, flips, self.padding)
        return images, self.labels[order]


# --- idea: test-time augmentation -----------------------------------------------------

TTA_LEVELS = ("none", "flip", "multicrop")


def tta_views(images: torch.Tensor, level: str) -> list[tuple[torch.Tensor, float]]:
    """``(view, weight)`` pairs; the prediction is the weighted sum of the views' logits.

    ``flip``: the image and its mirror. ``multicrop``: also the image moved by one pixel
    diagonally, both ways (mirrored border), each with its mirror; the unmoved pair keeps
    half of the weight. The first view is always the image itself.
    """
    if level not in TTA_LEVELS:
        raise ValueError(f"tta level {level!r}: choose one of {TTA_LEVELS}")
    if level == "none":
        return [(images, 1.0)]
    pairs = [images]
    if level == "multicrop":
        h, w = images.shape[2:]
        padded = F.pad(images.float(), (1, 1, 1, 1), mode="reflect").to(images.dtype)
        pairs += [padded[:, :, :h, :w], padded[:, :, 2:, 2:]]
    shifted = len(pairs) - 1
    weights = [1.0] if not shifted else [0.5] + [0.5 / shifted] * shifted
    views = []
    for view, weight in zip(pairs, weights):
        views += [(view, weight / 2), (view.flip(3), weight / 2)]
    return views


def tta_logits(model: nn.Module, images: torch.Tensor, level: str) -> torch.Tensor:
    """The weighted average of the model's logits over :func:`tta_views`."""
    return sum(weight * model(view).float() for view, weight in tta_views(images, level))


# --- idea: a triangular schedule with decoupled hyper-parameters ----------------------

def triangle(progress: float, start: float = 0.2, peak_at: float = 0.23,
             end: float = 0.07) -> float:
    """Learning-rate multiplier at ``progress`` (0 → 1): linear from ``start`` up to 1 at
    ``peak_at``, then linear down to ``end``."""
    progress = min(max(progress, 0.0), 1.0)
    if progress < peak_at:
        return start + (1 - start) * progress / peak_at
    return 1 + (end - 1) * (progress - peak_at) / (1 - peak_at)


def decoupled_sgd(model: nn.Module, lr: float, momentum: float, weight_decay: float,
                  batch_size: int, bias_lr_scale: float = 1.0) -> torch.optim.SGD:
    """SGD with Nesterov momentum from hyper-parameters that do not depend on each other.

    With a mean loss over a batch, PyTorch's SGD moves the weights by ``sgd_lr / (1 - m)``
    times the gradient per step once momentum ``m`` has built up, and weight decay also
    passes through that factor. So changing the batch size or the momentum changes both the
    effective step and the effective decay. Here instead:

    * ``lr``: how far the weights move per 1,024 training examples, per unit of gradient;
    * ``weight_decay``: the fraction of each weight decayed per 1,024 training examples;
    * ``bias_lr_scale``: BatchNorm parameters take larger steps (same decay).

    Each can be tuned without re-tuning the others, and the batch size can change freely.
    """
    per_step = batch_size / 1024 * (1 - momentum)
    norm_ids = {id(p) for m in model.modules() if isinstance(m, nn.BatchNorm2d)
                for p in m.parameters(recurse=False)}
    trainable = [p for p in model.parameters() if p.requires_grad]
    groups = []
    for params, scale in (([p for p in trainable if id(p) in norm_ids], bias_lr_scale),
                          ([p for p in trainable if id(p) not in norm_ids], 1.0)):
        if params:   # decay per step = sgd_lr * sgd_wd / (1 - m) = weight_decay * batch/1024
            groups.append(dict(params=params, lr=lr * scale * per_step,
                               weight_decay=weight_decay / (lr * scale)))
    return torch.optim.SGD(groups, lr=lr * per_step, momentum=momentum, nesterov=True)


# --- idea: Lookahead, a running average of the weights --------------------------------

class WeightAverage:
    """An exponential moving average of a model's floating-point state.

    ``update(model, decay)`` sets ``average = decay · average + (1 − decay) · current`` for
    every weight and BatchNorm statistic. With ``pull_back`` (Lookahead) the model then
    continues from the average: the noisy steps of SGD are smoothed while training runs.
    """

    def __init__(self, model: nn.Module, pull_back: bool = True):
        self.pull_back = pull_back
        self.average = {k: v.detach().clone() for k, v in model.state_dict().items()
                        if v.is_floating_point()}

    @torch.no_grad()
    def update(self, model: nn.Module, decay: float) -> None:
        state = model.state_dict()
        for key, average in self.average.items():
            average.lerp_(state[key], 1 - decay)
            if self.pull_back:
                state[key].copy_(average)

    @torch.no_grad()
    def copy_to(self, model: nn.Module) -> None:
        state = model.state_dict()
        for key, average in self.average.items():
            state[key].copy_(average)


LOOKAHEAD_EVERY = 5     # steps between two updates of the average


def lookahead_decay(progress: float, peak: float = 0.95 ** LOOKAHEAD_EVERY) -> float:
    """How much of the average to keep at ``progress`` (0 → 1): none at the start, when the
    weights should move freely, rising with the cube of progress to ``peak`` at the end."""
    return peak * min(max(progress, 0.0), 1.0) ** 3


# --- the recipe and the ladder --------------------------------------------------------

@dataclass(frozen=True)
class Recipe:
    """Everything a speed run trains with: how much, the network, one switch per idea.

    ``*_per_class=None`` means the whole split. ``lr``, ``momentum`` and ``weight_decay``
    are PyTorch's SGD numbers under the one-cycle schedule, or the decoupled ones of
    :func:`decoupled_sgd` when ``decoupled`` is on.
    """

    train_per_class: int | None = None
    test_per_class: int | None = None
    epochs: int = 24
    batch_size: int = 512
    net: str = "resnet9"                 # "resnet9" or "compact"
    data_on_device: bool = True          # idea 1
    bf16_channels_last: bool = True      # idea 3 (CUDA only)
    label_smoothing: float = 0.2         # idea 4
    whitening: bool = False              # idea 6
    whiten_bias_epochs: int = 3          # the whitening bias learns this long, then freezes
    dirac_init: bool = False             # idea 7
    bn_scale: bool = True                # idea 8 (False: BatchNorm without scale)
    decoupled: bool = False              # idea 9: triangle schedule, decoupled numbers
    lookahead: bool = False              # idea 10
    alternating_flip: bool = False       # idea 11
    tta: str = "flip"                    # idea 12: "none", "flip" or "multicrop"
    crop_padding: int = 4                # random translation by up to this many pixels
    lr: float = 0.4
    momentum: float = 0.9
    weight_decay: float = 5e-4
    bias_lr_scale: float = 1.0

    def as_dict(self) -> dict:
        return asdict(self)

    def changes_from(self, other: "Recipe") -> dict:
        """``{field: (other's value, this value)}`` for every field that differs."""
        return {f.name: (getattr(other, f.name), getattr(self, f.name))
                for f in fields(self) if getattr(other, f.name) != getattr(self, f.name)}


@dataclass(frozen=True)
class Rung:
    key: str            # a short name: records are named speedrun_ladder_<kk>_<key>
    idea: str           # what changed, in words
    recipe: Recipe


def _ladder() -> list[Rung]:
    recipe = Recipe(data_on_device=False, batch_size=128, lr=0.1, bf16_channels_last=False,
                    label_smoothing=0.0, tta="none")
    rungs = [Rung("baseline", "ResNet-9, batch 128, fp32, data prepared on the host", recipe)]

    def add(key: str, idea: str, **changes):
        nonlocal recipe
        recipe = replace(recipe, **changes)
        rungs.append(Rung(key, idea, recipe))

    add("device_data", "data resident on the device, augmented there per epoch",
        data_on_device=True)
    add("large_batch", "batch 512, learning rate ×4", batch_size=512, lr=0.4)
    add("bf16_channels_last", "bf16 autocast and channels_last", bf16_channels_last=True)
    add("label_smoothing", "label smoothing 0.2", label_smoothing=0.2)
    add("compact_net", "compact network (3 blocks, 64/256/256 channels)", net="compact")
    add("whitening", "whitening first layer, fitted by PCA", whitening=True)
    add("dirac_init", "identity (Dirac) initialisation", dirac_init=True)
    add("bn_no_scale", "BatchNorm without scale", bn_scale=False)
    # Numbers in the units of decoupled_sgd; they follow airbench94's published
    # hyper-parameters, converted. Decoupled, the batch can double without re-tuning.
    add("triangle_decoupled", "triangular schedule, decoupled hyper-parameters, batch 1024",
        decoupled=True, batch_size=1024, lr=10.0, momentum=0.85, weight_decay=0.0133,
        bias_lr_scale=64.0)
    add("lookahead", "Lookahead (running average of the weights)", lookahead=True)
    add("alternating_flip", "alternating flips", alternating_flip=True)
    add("multicrop_tta", "multi-crop test-time augmentation", tta="multicrop")
    add("short_run", "10 epochs instead of 24, translations of ±2 px", epochs=10,
        crop_padding=2)
    return rungs


LADDER: list[Rung] = _ladder()
FINAL: Recipe = LADDER[-1].recipe


def record_name(k: int) -> str:
    """The run-record name of rung ``k``: ``speedrun_ladder_<kk>_<key>``."""
    return f"speedrun_ladder_{k:02d}_{LADDER[k].key}"


# On the CPU the recipes run on a few images per class, briefly: enough to show that every
# switch works, nothing about accuracy. ``batches``: steps per epoch.
SHORT_RUNS = {
    "smoke": dict(train_per_class=1, test_per_class=2, epochs=1, batches=2),
    "cpu": dict(train_per_class=10, test_per_class=10, epochs=2, batches=2),
}


def scaled(recipe: Recipe, profile: Profile | str | None = None) -> Recipe:
    """``recipe`` as the profile runs it: unchanged in ``full``, shrunk in smoke and cpu.

    A smaller batch keeps the same learning rate per example (the one-cycle recipes scale
    ``lr`` with the batch; the decoupled numbers are per example already).
    """
    profile = profile if isinstance(profile, Profile) else get_profile(profile)
    if profile.name not in SHORT_RUNS:
        return recipe
    short = SHORT_RUNS[profile.name]
    batch = 10 * short["train_per_class"] // short["batches"]
    lr = recipe.lr if recipe.decoupled else recipe.lr * batch / recipe.batch_size
    return replace(recipe, train_per_class=short["train_per_class"],
                   test_per_class=short["test_per_class"],
                   epochs=min(recipe.epochs, short["epochs"]), batch_size=batch, lr=lr,
                   whiten_bias_epochs=min(recipe.whiten_bias_epochs, short["epochs"]))


def recipe_for(profile: Profile | str | None = None, recipe: Recipe = FINAL) -> Recipe:
    """The final recipe (or ``recipe``) as the profile runs it."""
    return scaled(recipe, profile)


def build_model(recipe: Recipe, num_classes: int = 10) -> nn.Sequential:
    """The recipe's network with its initialisation switches applied (whitening needs data
    and is fitted by :func:`train`)."""
    if recipe.net == "resnet9":
        model = resnet9(num_classes, bn_scale=recipe.bn_scale, stem=recipe.whitening)
    elif recipe.net == "compact":
        model = compact_net(num_classes, bn_scale=recipe.bn_scale)
    else:
        raise ValueError(f"unknown network {recipe.net!r}: 'resnet9' or 'compact'")
    if recipe.dirac_init:
        identity_init_(model)
    return model


# --- training -------------------------------------------------------------------------

@dataclass
class SpeedRunResult:
    history: History
    test_acc: float          # one forward pass per image
    test_acc_tta: float      # with the recipe's test-time augmentation
    wall_s: float            # set-up, training and final evaluation; data already loaded
    device: str
    train_images: int
    recipe: Recipe

    def __str__(self) -> str:
        return (f"{self.train_images:,} training images × {self.recipe.epochs} epoch(s) on "
                f"{self.device}: test accuracy {self.test_acc:.2%} ({self.test_acc_tta:.2%} "
                f"with {self.recipe.tta} TTA) in {self.wall_s:.1f} s")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _autocast(device: torch.device, recipe: Recipe):
    enabled = device.type == "cuda" and recipe.bf16_channels_last
    return torch.autocast("cuda", dtype=torch.bfloat16, enabled=enabled)


@torch.no_grad()
def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, recipe: Recipe,
             device: torch.device, batch_size: int = 2000) -> tuple[float, float, float]:
    """Loss and accuracy of one pass, and accuracy with the recipe's TTA, on normalised
    ``images`` already on ``device``."""
    model.eval()
    loss = torch.zeros((), device=device)
    hits = torch.zeros(2, device=device, dtype=torch.long)
    with _autocast(device, recipe):
        for x, y in zip(images.split(batch_size), labels.split(batch_size)):
            views = tta_views(x, recipe.tta)
            logits = [model(view).float() for view, _ in views]
            tta = sum(weight * z for (_, weight), z in zip(views, logits))
            loss += F.cross_entropy(logits[0], y, reduction="sum")
            hits[0] += (logits[0].argmax(1) == y).sum()
            hits[1] += (tta.argmax(1) == y).sum()
    n = max(len(labels), 1)
    plain, with_tta = (hits.float() / n).tolist()
    return loss.item() / n, plain, with_tta


def device_name(device: torch.device) -> str:
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"


def load_data(recipe: Recipe, seed: int = 0) -> dict:
    """The recipe's stratified subsets as uint8 tensors on the CPU (the whole split if None)."""
    x_train, y_train = load_subset(True, recipe.train_per_class, seed)
    x_test, y_test = load_subset(False, recipe.test_per_class, seed)
    return {"train": (x_train, y_train), "test": (x_test, y_test)}


# Below this batch size a CPU run uses one thread: with a few images per step a second
# thread only adds waiting (measured 0.3 s against 1.4 s for a smoke rung on 2 busy cores).
ONE_THREAD_BELOW = 16


def train(recipe: Recipe, data: dict, device=None, seed: int = 0, eval_each_epoch: bool = True,
          quiet: bool = True) -> tuple[nn.Module, SpeedRunResult]:
    """Train ``recipe``'s network on ``data`` (from :func:`load_data`) and evaluate it; see
    :func:`_train`. Tiny CPU runs use one thread (:data:`ONE_THREAD_BELOW`)."""
    device = torch.device(device or get_device())
    tiny = device.type == "cpu" and recipe.batch_size < ONE_THREAD_BELOW
    with _one_cpu_thread(tiny):
        return _train(recipe, data, device, seed, eval_each_epoch, quiet)


def _train(recipe: Recipe, data: dict, device: torch.device, seed: int,
           eval_each_epoch: bool, quiet: bool) -> tuple[nn.Module, SpeedRunResult]:
    """Train ``recipe``'s network on ``data`` (from :func:`load_data`) and evaluate it.

    ``data``'s tensors may already be on ``device`` (or, for a recipe whose data stay on
    the host, on the CPU). The clock covers preparing the images (normalising, padding),
    building the network, fitting the whitening layer, the training steps and the final
    evaluation with TTA, with the GPU synchronised at each end; the per-epoch test
    evaluation (``eval_each_epoch``, for the curves) is left out of it.
    """
    cuda = device.type == "cuda"
    fast = cuda and recipe.bf16_channels_last
    dtype = torch.bfloat16 if fast else torch.float32
    layout = torch.channels_last if fast else torch.contiguous_format
    if cuda:
        torch.backends.cudnn.benchmark = True
    host = device if recipe.data_on_device else torch.device("cpu")
    history, timed = History(), 0.0
    _sync(device)
    start = time.perf_counter()
    train_set = EpochData(*data["train"], device=host, dtype=dtype,
                          padding=recipe.crop_padding,
                          alternating_flip=recipe.alternating_flip, seed=seed)
    x_test = normalize(data["test"][0].to(device)).to(dtype)
    x_test = x_test.contiguous(memory_format=layout)
    y_test = data["test"][1].to(device)
    steps_per_epoch = max(len(train_set) // recipe.batch_size, 1)   # whole batches only
    total_steps = recipe.epochs * steps_per_epoch
    torch.manual_seed(seed)
    model = build_model(recipe).to(device, memory_format=layout)
    if recipe.whitening:
        fit_whitening(model.stem[0], train_set.unpadded(5000).to(device).float())
    if recipe.decoupled:
        optimizer = decoupled_sgd(model, recipe.lr, recipe.momentum, recipe.weight_decay,
                                  recipe.batch_size, recipe.bias_lr_scale)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: triangle(step / total_steps))
    else:
        optimizer = torch.optim.SGD(
            [p for p in model.parameters() if p.requires_grad], lr=recipe.lr,
            momentum=recipe.momentum, nesterov=True, weight_decay=recipe.weight_decay)
        schedule = onecycle(optimizer, total_steps) if total_steps > 1 else None
    average = WeightAverage(model) if recipe.lookahead else None
    step = 0
    for epoch in range(recipe.epochs):
        if recipe.whitening:
            model.stem[0].bias.requires_grad_(epoch < recipe.whiten_bias_epochs)
        model.train()
        images, labels = train_set.epoch(epoch)
        losses, hits = [], []
        for b in range(steps_per_epoch):
            batch = slice(b * recipe.batch_size, (b + 1) * recipe.batch_size)
            x = images[batch].to(device, non_blocking=True)
            y = labels[batch].to(device, non_blocking=True)
            with _autocast(device, recipe):
                logits = model(x.contiguous(memory_format=layout))
                loss = F.cross_entropy(logits.float(), y,
                                       label_smoothing=recipe.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if schedule is not None:
                schedule.step()
            step += 1
            if average is not None and step % LOOKAHEAD_EVERY == 0:
                average.update(model, lookahead_decay(step / total_steps))
            losses.append(loss.detach())
            hits.append((logits.argmax(1) == y).sum())
        seen = steps_per_epoch * recipe.batch_size
        history.train_loss.append(torch.stack(losses).mean().item())
        history.train_acc.append(torch.stack(hits).sum().item() / seen)
        elapsed = time.perf_counter() - start      # after .item(): the GPU has finished
        timed += elapsed
        history.epoch_time.append(elapsed)
        history.images_per_s.append(seen / elapsed)
        if eval_each_epoch:
            val_loss, val_acc, _ = evaluate(model, x_test, y_test, replace(recipe, tta="none"),
                                            device)
            history.val_loss.append(val_loss)
            history.val_acc.append(val_acc)
            if not quiet:
                print(f"epoch {epoch + 1}/{recipe.epochs}  train loss "
                      f"{history.train_loss[-1]:.3f}  test acc {val_acc:.1%}  ({elapsed:.1f} s)")
        _sync(device)
        start = time.perf_counter()
    if average is not None:
        average.copy_to(model)
    _, acc, acc_tta = evaluate(model, x_test, y_test, recipe, device)
    _sync(device)
    timed += time.perf_counter() - start
    result = SpeedRunResult(history, acc, acc_tta, timed, device_name(device),
                            len(train_set), recipe)
    return model, result


def speed_run(profile: Profile | str | None = None, device=None, recipe: Recipe | None = None,
              seed: int = 0, quiet: bool = False) -> tuple[nn.Module, SpeedRunResult]:
    """Train the final recipe (or ``recipe``, as given) in ``profile``; return the model and
    what was measured. The clock starts after the data are loaded (loading is not training).
    """
    recipe = recipe or recipe_for(profile)
    return train(recipe, load_data(recipe, seed), device, seed=seed, quiet=quiet)


def run_ladder(profile: Profile | str | None = None, device=None, seed: int = 0,
               rungs: list[int] | None = None, report=None) -> list[tuple[int, SpeedRunResult]]:
    """Run every rung (or those in ``rungs``) of :data:`LADDER` as the profile scales it,
    one seed, on the same data; ``report`` receives ``(k, result)`` as each finishes."""
    wanted = range(len(LADDER)) if rungs is None else rungs
    data, results = None, []
    for k in wanted:
        recipe = scaled(LADDER[k].recipe, profile)
        data = data or load_data(recipe, seed)   # every rung sees the same images
        _, result = train(recipe, data, device, seed=seed, eval_each_epoch=False)
        results.append((k, result))
        if report is not None:
            report(k, result)
    return results


# --- showing the ladder ---------------------------------------------------------------

def ladder_table(rows: list[dict]) -> str:
    """A text table of ladder rows ``{k, idea, accuracy, wall_s, epochs, [spread]}``."""
    lines = [f"{'':>3}  {'idea added':<54} {'epochs':>6} {'accuracy':>9} {'time':>8}"]
    for row in rows:
        accuracy = f"{100 * row['accuracy']:.2f} %"
        seconds = f"{row['wall_s']:.1f} s" if row["wall_s"] < 100 else f"{row['wall_s']:.0f} s"
        lines.append(f"{row['k']:>3}  {row['idea'][:54]:<54} {row['epochs']:>6} "
                     f"{accuracy:>9} {seconds:>8}")
    return "\n".join(lines)


def plot_ladder(rows: list[dict], title: str = ""):
    """Accuracy (bars) and time (dots, log scale) of each rung, left to right."""
    import matplotlib.pyplot as plt

    from .plots import PAGE_WIDTH_IN, TEXT_PT

    ks = [row["k"] for row in rows]
    fig, ax_acc = plt.subplots(figsize=(PAGE_WIDTH_IN, 4.2))
    ax_acc.bar(ks, [100 * row["accuracy"] for row in rows], color="tab:blue", alpha=0.6)
    ax_acc.set_ylabel("test accuracy (%), bars", fontsize=TEXT_PT, color="tab:blue")
    ax_acc.set_xticks(ks, [f"{LADDER[k].key} {k}" for k in ks], rotation=60, ha="right",
                      fontsize=TEXT_PT - 1)
    ax_time = ax_acc.twinx()
    ax_time.semilogy(ks, [row["wall_s"] for row in rows], "o-", color="tab:red")
    ax_time.set_ylabel("seconds (log scale), dots", fontsize=TEXT_PT, color="tab:red")
    for ax in (ax_acc, ax_time):
        ax.tick_params(labelsize=TEXT_PT - 1)
    ax_acc.grid(alpha=0.3, axis="y")
    if title:
        ax_acc.set_title(title, fontsize=TEXT_PT)
    fig.tight_layout()
    return fig
