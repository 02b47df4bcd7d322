"""Throughput benchmarks: the batched tensor loader, ``fit``'s overhead and, on CUDA, fit's
eager steps against its CUDA-graph path on each course model.

The CPU comparisons run both sides in one process, alternating A B, B A, ... and report the
median of the pairwise ratios: on a shared machine the speed drifts, and pairing keeps the
ratio meaningful. Also a command line for timing one side as a whole process::

    python -m bench.throughput loader --impl tensor --images 20000
    python -m bench.throughput loader --impl torchvision --images 20000
    python -m bench.throughput fit --impl fit      # or --impl bare
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import io
import statistics
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader
from torchvision import datasets

from course_utils.config import Profile, get_profile, seed_everything
from course_utils.data import TensorLoader, cifar10_transforms, load_subset
from course_utils.train import default_optimizer, fit, onecycle


# --- the per-image baseline ------------------------------------------------------------------

class InMemoryCIFAR10(datasets.CIFAR10):
    """torchvision's ``CIFAR10`` over arrays already in memory.

    Its own ``__getitem__`` runs (HWC uint8 array → PIL image → transforms), exactly as after
    ``CIFAR10(root)`` has read the pickled batches; only the file reading is skipped.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, transform=None):
        datasets.VisionDataset.__init__(self, root="", transform=transform)
        self.train = True
        self.data = images.permute(0, 2, 3, 1).contiguous().numpy()   # N×H×W×C, as torchvision keeps it
        self.targets = labels.tolist()


def torchvision_baseline(images, labels, batch_size: int, num_workers: int = 2) -> DataLoader:
    """``DataLoader(CIFAR10(transform=RandomCrop(32, 4) + flip + ToTensor + Normalize))``."""
    ds = InMemoryCIFAR10(images, labels, cifar10_transforms(augment=True))
    return DataLoader(ds, batch_size=batch_size, shuffle=True, num_workers=num_workers,
                      persistent_workers=num_workers > 0)


def tensor_loader(images, labels, batch_size: int, device="cpu") -> TensorLoader:
    return TensorLoader(images, labels, batch_size, train=True, augment=True, device=device)


def _drain(loader, n_images: int) -> float:
    """Seconds to draw ``n_images`` images (whole passes over ``loader``)."""
    seen, start = 0, time.perf_counter()
    while seen < n_images:
        for x, _ in loader:
            seen += len(x)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start


def _paired(run_a, run_b, repeats: int) -> tuple[list[float], list[float]]:
    """Seconds of ``run_a`` and ``run_b``, alternating which goes first."""
    a, b = [], []
    for i in range(repeats):
        if i % 2:
            b.append(run_b()); a.append(run_a())
        else:
            a.append(run_a()); b.append(run_b())
    return a, b


def loader_ratio(profile: Profile, repeats: int = 3, n_images: int | None = None,
                 num_workers: int = 2) -> dict:
    """Images/s of :class:`TensorLoader` over the torchvision ``DataLoader``, same augmentations."""
    images, labels = load_subset(True, profile.train_per_class)
    n_images = n_images or min(len(labels), 10_000)
    batch = profile.batch_size
    fast = tensor_loader(images, labels, batch)
    slow = torchvision_baseline(images, labels, batch, num_workers)
    _drain(fast, batch), _drain(slow, batch)          # start the workers, warm caches
    t_fast, t_slow = _paired(lambda: _drain(fast, n_images), lambda: _drain(slow, n_images), repeats)
    return {"ratio": statistics.median(s / f for f, s in zip(t_fast, t_slow)),
            "tensor_img_s": statistics.median(n_images / t for t in t_fast),
            "torchvision_img_s": statistics.median(n_images / t for t in t_slow),
            "images": n_images, "batch_size": batch, "repeats": repeats, "workers": num_workers}


# --- fit versus a bare loop -----------------------------------------------------------------

def small_cnn(width: int = 32, num_classes: int = 10) -> nn.Sequential:
    """Three conv-BN-ReLU stages: the size of model the early chapters train on a CPU."""
    def stage(c_in, c_out):
        return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True), nn.MaxPool2d(2)]
    return nn.Sequential(*stage(3, width), *stage(width, 2 * width), *stage(2 * width, 4 * width),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4 * width, num_classes))


def bare_loop(model: nn.Module, loader, epochs: int, device) -> None:
    """The hand-written loop ``fit`` is compared with: same optimizer and schedule, nothing else."""
    model.to(device).train()
    optimizer = default_optimizer(model)
    sched = onecycle(optimizer, epochs * len(loader))
    for _ in range(epochs):
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            sched.step()
    if device.type == "cuda":
        torch.cuda.synchronize()


def _timed(fn) -> tuple[float, float]:
    """Wall and CPU seconds of ``fn()`` (CPU time is steadier on a machine shared with others)."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def fit_overhead(profile: Profile, repeats: int = 3, epochs: int = 1, device=None,
                 images: int | None = None, width: int = 32) -> dict:
    """``fit``'s images/s (progress bar and history on) over the bare loop's, same everything.

    ``images``: train on the first that many of the profile's training subset (all by default).
    """
    device = torch.device(device or "cpu")
    seed_everything(0)
    x, labels = load_subset(True, profile.train_per_class)
    x, labels = x[:images], labels[:images]
    loader = TensorLoader(x, labels, profile.batch_size, train=True, augment=True, device=device)
    base = small_cnn(width)

    def with_fit():
        model = copy.deepcopy(base)
        # The bar is drawn (its cost counted) but not shown in the middle of the table.
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            fit(model, loader, epochs=epochs, optimizer=default_optimizer(model), device=device, quiet=False)

    def bare():
        bare_loop(copy.deepcopy(base), loader, epochs, device)

    t_fit, t_bare = _paired(lambda: _timed(with_fit), lambda: _timed(bare), repeats)
    n = epochs * len(labels)
    return {"ratio": statistics.median(b[0] / f[0] for f, b in zip(t_fit, t_bare)),
            "cpu_ratio": statistics.median(b[1] / f[1] for f, b in zip(t_fit, t_bare)),
            "fit_img_s": statistics.median(n / t[0] for t in t_fit),
            "bare_img_s": statistics.median(n / t[0] for t in t_bare),
            "images": n, "batch_size": profile.batch_size, "repeats": repeats, "device": str(device),
            "width": width}


# --- fit's GPU path on the course's models (CUDA only) --------------------------------------

# Assignment answers are not in course_utils: the models come from the reference solutions.
GPU_MODELS = {
    "ResNet-20 (A4)": ("a4_resnet", lambda ns: ns["ResNetCIFAR"](20)),
    "VGG-11-BN (A1)": ("a1_vgg", lambda ns: ns["VGG11CIFAR"](num_classes=10, batch_norm=True)),
    "CifarGoogLeNet (A3)": ("a3_inception", lambda ns: ns["CifarGoogLeNet"]()),
    "ResNet-9 (speed run)": (None, None),
}
# today's defaults, the CUDA-graph path (fit's default now), and that path with the two
# switches that were slower eagerly (DESIGN.md), to decide per model whether they pay now.
GPU_PATHS = {
    "eager": dict(cuda_graph=False),
    "cuda graph": dict(cuda_graph=True),
    "cuda graph + bf16 + channels_last": dict(cuda_graph=True, bf16=True, channels_last=True),
}


def course_model(name: str, profile: Profile) -> nn.Module:
    from course_tools.results import reference_namespace
    from course_utils import speedrun
    aid, build = GPU_MODELS[name]
    if aid is None:
        return speedrun.resnet9()
    ns = reference_namespace(aid, Path(__file__).resolve().parent.parent, profile)
    return build(ns)


def gpu_paths(profile: Profile, epochs: int = 2, models=tuple(GPU_MODELS)) -> list[dict]:
    """Per course model, ``fit``'s images/s (last epoch: capture and autotuning done) and
    final train loss on each of :data:`GPU_PATHS`, same seed, data and schedule.
    Without CUDA: one row per model saying so."""
    if not torch.cuda.is_available():
        return [{"model": m, "img_s": None, "note": "n/a: no CUDA"} for m in models]
    images, labels = load_subset(True, profile.train_per_class)
    rows = []
    for name in models:
        row = {"model": name, "img_s": {}, "loss": {}, "step": {}}
        for path, switches in GPU_PATHS.items():
            torch.backends.cudnn.benchmark = False
            seed_everything(0)
            model = course_model(name, profile)
            loader = TensorLoader(images, labels, profile.batch_size, train=True, augment=True, device="cuda")
            history = fit(model, loader, epochs=epochs, device="cuda", quiet=True, **switches)
            row["img_s"][path] = history.images_per_s[-1]
            row["loss"][path] = history.train_loss[-1]
            row["step"][path] = history.step_path
        rows.append(row)
    return rows


# --- whole-process runs ---------------------------------------------------------------------

def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.throughput", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["loader", "fit"])
    parser.add_argument("--impl", required=True, help="loader: tensor | torchvision; fit: fit | bare")
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--images", type=int, default=20_000,
                        help="loader: images to draw; fit: train one epoch on the first that many")
    parser.add_argument("--workers", type=int, default=2, help="torchvision loader: worker processes")
    args = parser.parse_args(argv)
    profile = get_profile(args.profile)
    images, labels = load_subset(True, profile.train_per_class)
    start = time.perf_counter()
    if args.what == "loader":
        loader = (tensor_loader(images, labels, profile.batch_size) if args.impl == "tensor" else
                  torchvision_baseline(images, labels, profile.batch_size, args.workers))
        n = args.images
        _drain(loader, n)
    else:
        seed_everything(0)
        model = small_cnn()
        images, labels = images[:args.images], labels[:args.images]
        loader = TensorLoader(images, labels, profile.batch_size, train=True, augment=True, device="cpu")
        n = len(labels)
        if args.impl == "fit":
            fit(model, loader, epochs=1, device="cpu")
        else:
            bare_loop(model, loader, 1, torch.device("cpu"))
    seconds = time.perf_counter() - start
    print(f"{args.what} {args.impl}: {n} images in {seconds:.2f} s = {n / seconds:.0f} img/s")


if __name__ == "__main__":
    main()
