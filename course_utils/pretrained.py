"""Pretrained backbones for transfer learning: torchvision's ImageNet weights or the course's own.

Two backbones, chosen explicitly (argument, else ``$COURSE_BACKBONE``, else ``course``):

* ``imagenet`` — torchvision's ImageNet weights (``VGG11_Weights.IMAGENET1K_V1``,
  ``ResNet18_Weights.IMAGENET1K_V1``). They live in torch hub's cache,
  ``$TORCH_HOME/hub/checkpoints/``, and are downloaded there (hash-checked) on first use.
  Without them and without a network you get one :class:`WeightsNotAvailableError` that says
  how to pre-fetch them — never a model with random weights.
* ``course`` — :class:`CourseCNN`, a compact CNN pretrained on the *source* half of CIFAR-10
  (airplane, automobile, bird, cat, deer). Its checkpoint ships with this package
  (``course_utils/weights/``) and is verified by sha256 before use, so transfer learning can
  be taught, tested and graded offline with real learned features. Its *target* task is the
  other half (dog, frog, horse, ship, truck).

The weights API mirrors torchvision's: an enum member names a file with a known hash and
carries ``meta``; ``get_state_dict()`` verifies and loads it; ``course_cnn(weights=...)`` builds
the model, like ``torchvision.models.resnet18(weights=...)``.

Pretrain the course model again with ``python -m course_tools.pretrain_source``.
"""
from __future__ import annotations

import argparse
import enum
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn as nn
from torchvision.models.vgg import make_layers

from .data import CLASSES, offline

BACKBONE_ENV = "COURSE_BACKBONE"
BACKBONES = ("course", "imagenet")
DEFAULT_BACKBONE = "course"

SOURCE_CLASSES = CLASSES[:5]   # what the course model was pretrained on
TARGET_CLASSES = CLASSES[5:]   # what it is transferred to
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


class WeightsNotAvailableError(RuntimeError):
    """Pretrained weights are neither cached nor downloadable (or not shipped)."""


class WeightsVerificationError(RuntimeError):
    """A weights file exists but its sha256 is not the one it must have."""


# --- the backbone choice -----------------------------------------------------------------------

def backbone_name(name: str | None = None) -> str:
    """``name``, else ``$COURSE_BACKBONE``, else ``'course'``; anything else is an error."""
    chosen = (name or os.environ.get(BACKBONE_ENV) or DEFAULT_BACKBONE).strip().lower()
    if chosen not in BACKBONES:
        raise ValueError(f"Unknown backbone {chosen!r} (from the argument or ${BACKBONE_ENV}). "
                         f"Choose one of: {', '.join(BACKBONES)}.")
    return chosen


# --- the course's own source model -------------------------------------------------------------

# A compact plain CNN: four 3×3 conv stages (BatchNorm, ReLU), three 2×2 max-pools, then a global
# average pool, so the feature vector has 256 numbers whatever the input size. Built with
# torchvision's make_layers; VGG-style names: ``features`` (the backbone) and ``classifier``
# (the head, whose last layer is the one transfer learning replaces).
COURSE_CNN_CFG: list[int | str] = [32, "M", 64, "M", 128, 128, "M", 256]
COURSE_CNN_FEATURES = 256


class CourseCNN(nn.Module):
    """The course's source network (about 0.54 M parameters)."""

    def __init__(self, num_classes: int = len(SOURCE_CLASSES), dropout: float = 0.2):
        super().__init__()
        self.features = make_layers(COURSE_CNN_CFG, batch_norm=True)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(COURSE_CNN_FEATURES, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


def sha256_of(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class CourseWeights:
    """One shipped checkpoint: a file name, its sha256 and a card (``<file stem>.json``) of facts."""

    filename: str
    sha256: str
    directory: Path = field(default=WEIGHTS_DIR, compare=False)

    @property
    def path(self) -> Path:
        return self.directory / self.filename

    @property
    def card_path(self) -> Path:
        return self.path.with_suffix(".json")

    @property
    def meta(self) -> dict:
        """The card: source classes, accuracy, the exact command, profile, device, wall time."""
        try:
            return json.loads(self.card_path.read_text())
        except FileNotFoundError:
            return {}

    def verify(self) -> Path:
        """The file's path once its sha256 matches; a clear error otherwise."""
        if not self.path.is_file():
            raise WeightsNotAvailableError(
                f"The course backbone's weights {self.path} are missing. They ship with the "
                f"course package: reinstall it (pip install -e . from the repository), or "
                f"recreate them with: {self.meta.get('command', 'python -m course_tools.pretrain_source')}")
        got = sha256_of(self.path)
        if got != self.sha256:
            raise WeightsVerificationError(
                f"{self.path} is corrupted or was replaced: its sha256 is {got}, expected "
                f"{self.sha256}. Restore the file from the repository (git checkout -- "
                f"course_utils/weights) or reinstall the course package; never train on "
                f"weights that fail this check.")
        return self.path

    def get_state_dict(self, progress: bool = False, check_hash: bool = True) -> dict[str, torch.Tensor]:
        """Verified file → ``state_dict`` (``progress`` is accepted for torchvision's signature)."""
        path = self.verify() if check_hash else self.path
        return torch.load(path, map_location="cpu", weights_only=True)


class CourseCNN_Weights(enum.Enum):  # noqa: N801 (named like torchvision's ResNet18_Weights)
    """Weights for :class:`CourseCNN`, like torchvision's ``ResNet18_Weights``."""

    CIFAR5_SOURCE_V1 = CourseWeights(
        filename="course_cnn_cifar5_source-d73d3457.pt",
        sha256="d73d345730e23a2c87146f4f621fad7b8bd0ed051253999fcd18c455c2204bc2",
    )
    DEFAULT = CIFAR5_SOURCE_V1

    def get_state_dict(self, progress: bool = False, check_hash: bool = True):
        return self.value.get_state_dict(progress, check_hash)

    @property
    def meta(self) -> dict:
        return self.value.meta

    @property
    def path(self) -> Path:
        return self.value.path


def _course_weights(weights) -> CourseCNN_Weights | None:
    if weights is None or isinstance(weights, CourseCNN_Weights):
        return weights
    if isinstance(weights, str):
        try:
            return CourseCNN_Weights[weights]
        except KeyError:
            raise ValueError(f"Unknown weights {weights!r} for course_cnn; choose one of "
                             f"{[w.name for w in CourseCNN_Weights]}.") from None
    raise TypeError(f"weights must be a CourseCNN_Weights member, its name or None, got {weights!r}")


def course_cnn(weights: CourseCNN_Weights | str | None = None, num_classes: int | None = None) -> CourseCNN:
    """The course CNN, pretrained on the source classes when ``weights`` is given.

    With ``weights`` the head has the source task's 5 outputs (as trained); replace it for
    another task. ``num_classes`` only applies to an untrained model.
    """
    weights = _course_weights(weights)
    if weights is None:
        return CourseCNN(num_classes or len(SOURCE_CLASSES))
    if num_classes not in (None, len(SOURCE_CLASSES)):
        raise ValueError(f"the pretrained course CNN has {len(SOURCE_CLASSES)} outputs; build it "
                         f"with num_classes=None and replace its head instead of passing {num_classes}.")
    model = CourseCNN(len(SOURCE_CLASSES))
    model.load_state_dict(weights.get_state_dict(), strict=True)
    return model


# --- torchvision's ImageNet weights --------------------------------------------------------------

# architecture → (builder name, weights enum name, the member a bootcamp uses)
IMAGENET_ARCHS = {
    "vgg11": ("vgg11", "VGG11_Weights", "IMAGENET1K_V1"),
    "resnet18": ("resnet18", "ResNet18_Weights", "IMAGENET1K_V1"),
}


def imagenet_weights(arch: str):
    """torchvision's weights enum member for ``arch`` (e.g. ``ResNet18_Weights.IMAGENET1K_V1``)."""
    import torchvision.models as tvm
    try:
        _, enum_name, member = IMAGENET_ARCHS[arch]
    except KeyError:
        raise ValueError(f"No ImageNet weights wired up for {arch!r}; choose one of {list(IMAGENET_ARCHS)}.") from None
    return getattr(getattr(tvm, enum_name), member)


def imagenet_checkpoint(weights) -> Path:
    """Where torch hub caches a weights enum's file: ``$TORCH_HOME/hub/checkpoints/<name>``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(weights.url)


def prefetch_command(arch: str) -> str:
    builder, enum_name, member = IMAGENET_ARCHS[arch]
    return (f"python -c \"from torchvision import models; "
            f"models.{builder}(weights=models.{enum_name}.{member})\"")


def _not_available(weights, arch: str, exc: Exception, cached_but_broken: bool = False) -> WeightsNotAvailableError:
    cached = imagenet_checkpoint(weights)
    problem = (f"the cached file {cached} could not be loaded; delete it" if cached_but_broken else
               f"not cached at {cached} and the download from {weights.url} failed")
    return WeightsNotAvailableError(
        f"ImageNet weights {type(weights).__name__}.{weights.name} for {arch} are not available: "
        f"{problem} ({type(exc).__name__}: {str(exc)[:200]}). To get them, run once on a machine with a "
        f"network:\n    {prefetch_command(arch)}\nthen copy {cached.name} into "
        f"$TORCH_HOME/hub/checkpoints/ on this machine (TORCH_HOME is now "
        f"{os.environ.get('TORCH_HOME', '<unset, so ~/.cache/torch>')}). Or use the offline "
        f"backbone: {BACKBONE_ENV}=course.")


def fetch_imagenet_weights(weights, arch: str) -> Path:
    """The cached checkpoint of a torchvision weights enum, downloaded (hash-checked) if missing.

    Done before building the model, so that a missing file fails fast with one clear error
    instead of after initialising, say, VGG-11's 133 M random weights.
    """
    cached = imagenet_checkpoint(weights)
    if cached.is_file():
        return cached
    if offline():
        raise _not_available(weights, arch, ConnectionError("COURSE_OFFLINE is set: no download attempted"))
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        hash_prefix = torch.hub.HASH_REGEX.search(cached.name).group(1)  # torch hub's own convention
        torch.hub.download_url_to_file(weights.url, str(cached), hash_prefix, progress=True)
    except Exception as exc:  # URLError/OSError offline, RuntimeError for a bad hash
        raise _not_available(weights, arch, exc) from exc
    return cached


def imagenet_model(arch: str = "resnet18") -> nn.Module:
    """torchvision's ``arch`` with its ImageNet weights, from the cache or downloaded (hash-checked).

    Raises :class:`WeightsNotAvailableError` — one message with the pre-fetch command — when
    the weights are neither cached nor downloadable. It never returns random weights.
    """
    import torchvision.models as tvm
    weights = imagenet_weights(arch)
    fetch_imagenet_weights(weights, arch)
    try:
        return getattr(tvm, IMAGENET_ARCHS[arch][0])(weights=weights)
    except Exception as exc:  # e.g. a truncated file in the cache
        raise _not_available(weights, arch, exc, cached_but_broken=True) from exc


def imagenet_available(arch: str = "resnet18") -> bool:
    """Whether ``arch``'s ImageNet weights are already in torch hub's cache (no download tried)."""
    return imagenet_checkpoint(imagenet_weights(arch)).is_file()


# --- one entry point for notebooks ------------------------------------------------------------------

@dataclass(frozen=True)
class Backbone:
    """A pretrained model plus what transfer learning needs to know about it."""

    name: str                 # 'course' or 'imagenet'
    arch: str                 # 'course_cnn', 'resnet18', 'vgg11'
    model: nn.Module
    features_prefix: str      # parameter names of the backbone part start with this ('' = all)
    head: str                 # the layer a new task replaces: 'classifier.1', 'fc', 'classifier.6'
    weights: str              # what was loaded, e.g. 'CourseCNN_Weights.CIFAR5_SOURCE_V1'

    def describe(self) -> str:
        return f"backbone: {self.name} ({self.arch}, weights {self.weights})"


# arch → (parameter-name prefix of the pretrained feature extractor, head layer)
BACKBONE_PARTS = {
    "course_cnn": ("features", "classifier.1"),
    "vgg11": ("features", "classifier.6"),
    "resnet18": ("", "fc"),   # a ResNet has no 'features' module: freeze all, then replace fc
}
IMAGENET_DEFAULT_ARCH = "resnet18"


def backbone_arch(name: str | None = None, arch: str | None = None) -> str:
    """The architecture behind a backbone choice: ``course_cnn``, or ``arch`` (default ResNet-18)."""
    return "course_cnn" if backbone_name(name) == "course" else (arch or IMAGENET_DEFAULT_ARCH)


def backbone_parts(name: str | None = None, arch: str | None = None) -> tuple[str, str]:
    """``(features_prefix, head)`` of a backbone: what to freeze and which layer to replace."""
    return BACKBONE_PARTS[backbone_arch(name, arch)]


def load_backbone(name: str | None = None, arch: str | None = None, verbose: bool = True) -> Backbone:
    """The chosen pretrained backbone (``course`` or ``imagenet``), printed so you know which."""
    name, arch = backbone_name(name), backbone_arch(name, arch)
    if name == "course":
        model, weights = course_cnn(weights=CourseCNN_Weights.DEFAULT), "CourseCNN_Weights.CIFAR5_SOURCE_V1"
    else:
        model = imagenet_model(arch)
        w = imagenet_weights(arch)
        weights = f"{type(w).__name__}.{w.name}"
    prefix, head = BACKBONE_PARTS[arch]
    backbone = Backbone(name, arch, model, prefix, head, weights)
    if verbose:
        print(backbone.describe())
    return backbone


def build_architecture(name: str | None = None, arch: str | None = None) -> nn.Module:
    """The backbone's architecture with *untrained* weights (graders load a state_dict into it)."""
    import torchvision.models as tvm
    arch = backbone_arch(name, arch)
    return course_cnn(weights=None) if arch == "course_cnn" else getattr(tvm, arch)(weights=None)


def pretrained_state_dict(name: str | None = None, arch: str | None = None) -> dict[str, torch.Tensor]:
    """The backbone's pretrained ``state_dict`` (verified), for comparing against after training."""
    name = backbone_name(name)
    if name == "course":
        return CourseCNN_Weights.DEFAULT.get_state_dict()
    return imagenet_model(arch or IMAGENET_DEFAULT_ARCH).state_dict()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m course_utils.pretrained", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("verify", help="check the shipped course weights against their sha256")
    p = sub.add_parser("fetch-imagenet", help="download torchvision's ImageNet weights into torch hub's cache")
    p.add_argument("archs", nargs="*", default=list(IMAGENET_ARCHS))
    args = parser.parse_args(argv)
    if args.command == "verify":
        w = CourseCNN_Weights.DEFAULT
        print(f"{w.path}: sha256 ok" if w.value.verify() else "")
    else:
        for arch in args.archs:
            imagenet_model(arch)
            print(f"{arch}: {imagenet_checkpoint(imagenet_weights(arch))}")


if __name__ == "__main__":
    main()
