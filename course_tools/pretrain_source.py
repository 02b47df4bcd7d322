"""Pretrain the course's small source model (:class:`course_utils.pretrained.CourseCNN`) on the
source half of CIFAR-10 and write its checkpoint, named by its sha256, with a card beside it.

``python -m course_tools.pretrain_source --preset cpu`` produced the shipped checkpoint
(``course_utils/weights/``); ``smoke`` proves the command works; ``full`` is for a GPU.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import torch

from course_utils.config import get_device, seed_everything
from course_utils.data import TensorLoader, load_subset
from course_utils.pretrained import (COURSE_CNN_CFG, SOURCE_CLASSES, TARGET_CLASSES, WEIGHTS_DIR, CourseCNN,
                                     sha256_of)
from course_utils.train import default_optimizer, evaluate, fit

# Pretraining settings by name (not the COURSE_PROFILE profiles, which size the chapters):
# 'smoke' proves the command works; 'cpu' produced the shipped checkpoint; 'full' is for a GPU.
SOURCE_PRESETS = {
    "smoke": {"train_per_class": 30, "test_per_class": 20, "epochs": 1, "batch_size": 50, "lr": 0.05},
    "cpu": {"train_per_class": 5000, "test_per_class": None, "epochs": 2, "batch_size": 128, "lr": 0.1},
    "full": {"train_per_class": 5000, "test_per_class": None, "epochs": 30, "batch_size": 128, "lr": 0.1},
}


def train_source(preset: str = "cpu", out_dir: str | Path = WEIGHTS_DIR, seed: int = 0,
                 device: str | None = None, command: str | None = None) -> dict:
    """Pretrain :class:`CourseCNN` on the source classes; write ``<name>-<sha8>.pt`` and its card."""
    settings = SOURCE_PRESETS[preset]
    device = get_device(device)
    seed_everything(seed)
    x_tr, y_tr = load_subset(True, settings["train_per_class"], seed, SOURCE_CLASSES)
    x_te, y_te = load_subset(False, settings["test_per_class"], seed, SOURCE_CLASSES)  # None: all 5,000
    train_loader = TensorLoader(x_tr, y_tr, settings["batch_size"], train=True, augment=True,
                                device=device, seed=seed, drop_last=True)
    test_loader = TensorLoader(x_te, y_te, 500, device=device)
    model = CourseCNN(len(SOURCE_CLASSES))
    start = time.perf_counter()
    history = fit(model, train_loader, None, epochs=settings["epochs"],
                  optimizer=default_optimizer(model, lr=settings["lr"]), device=device,
                  quiet=False, label_smoothing=0.1)
    train_s = time.perf_counter() - start
    _, source_acc = evaluate(model, test_loader, device)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / "course_cnn_cifar5_source.tmp"
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    torch.save(state, tmp)
    digest = sha256_of(tmp)
    final = out_dir / f"course_cnn_cifar5_source-{digest[:8]}.pt"
    os.replace(tmp, final)
    card = {
        "name": "CourseCNN_Weights.CIFAR5_SOURCE_V1",
        "file": final.name,
        "sha256": digest,
        "architecture": "course_utils.pretrained.CourseCNN, cfg " + str(COURSE_CNN_CFG),
        "num_params": sum(p.numel() for p in model.parameters()),
        "source_classes": list(SOURCE_CLASSES),
        "target_classes": list(TARGET_CLASSES),
        "source_test_accuracy": round(source_acc, 4),
        "source_test_images": len(y_te),
        "train_images": len(y_tr),
        "preset": preset,
        "settings": {**settings, "seed": seed, "augment": "random crop (pad 4) + flip",
                     "optimizer": "SGD nesterov momentum 0.9, weight decay 5e-4, one-cycle",
                     "label_smoothing": 0.1},
        "train_loss_per_epoch": [round(v, 4) for v in history.train_loss],
        "train_acc_per_epoch": [round(v, 4) for v in history.train_acc],
        "train_wall_s": round(train_s, 1),
        "device": str(device) + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda"
                                 else f" ({os.cpu_count()} cores, {torch.get_num_threads()} threads, "
                                      f"{platform.processor() or platform.machine()})"),
        "torch": torch.__version__,
        "command": command or "python -m course_tools.pretrain_source --preset " + preset,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
    final.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    print(json.dumps(card, indent=2))
    return card



def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m course_tools.pretrain_source", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=list(SOURCE_PRESETS), default="cpu")
    parser.add_argument("--out-dir", default=str(WEIGHTS_DIR))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None)
    args = parser.parse_args(argv)
    command = "python -m course_tools.pretrain_source " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    train_source(args.preset, args.out_dir, args.seed, args.device, command)


if __name__ == "__main__":
    main()
