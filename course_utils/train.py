"""One short training loop (``fit``) and one ``evaluate``, with a history you can plot."""
from __future__ import annotations

import functools
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field

import torch
import torch.nn as nn
from tqdm.auto import tqdm

from .config import get_device


@dataclass
class History:
    """Per-epoch results of :func:`fit`."""

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    epoch_time: list[float] = field(default_factory=list)   # seconds, training only
    images_per_s: list[float] = field(default_factory=list)  # training throughput

    @property
    def epochs(self) -> int:
        return len(self.train_loss)

    @property
    def wall_time(self) -> float:
        return sum(self.epoch_time)

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        if not self.epochs:
            return "History(no epochs)"
        val = f", val acc {self.val_acc[-1]:.1%}" if self.val_acc else ""
        return (f"History({self.epochs} epochs, train acc {self.train_acc[-1]:.1%}{val}, "
                f"{self.wall_time:.1f} s, {sum(self.images_per_s) / self.epochs:.0f} img/s)")


def _to(batch, device, memory_format=torch.preserve_format):
    x, y = batch
    x = x.to(device, non_blocking=True)
    if memory_format is not torch.preserve_format and x.dim() == 4:
        x = x.contiguous(memory_format=memory_format)
    return x, y.to(device, non_blocking=True)


@torch.no_grad()
def evaluate(model: nn.Module, loader, device=None, loss_fn=None) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` over ``loader`` (eval mode, no gradients)."""
    device = torch.device(device or get_device())
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    was_training = model.training
    model.to(device).eval()
    # Sums stay on the device: one .item() per batch would make a GPU wait for the host.
    total_loss = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    seen = 0
    for batch in loader:
        x, y = _to(batch, device)
        logits = model(x)
        total_loss += loss_fn(logits, y).float() * len(y)
        correct += (logits.argmax(1) == y).sum()
        seen += len(y)
    model.train(was_training)
    return total_loss.item() / max(seen, 1), correct.item() / max(seen, 1)


@torch.no_grad()
def predict(model: nn.Module, loader, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Predicted and true labels (on the CPU) for every example of ``loader``."""
    device = torch.device(device or get_device())
    model.to(device).eval()
    preds, labels = [], []
    for batch in loader:
        x, y = _to(batch, device)
        preds.append(model(x).argmax(1))
        labels.append(y)
    return torch.cat(preds).cpu(), torch.cat(labels).cpu()


def default_optimizer(model: nn.Module, lr: float = 0.05, weight_decay: float = 5e-4):
    """SGD with Nesterov momentum over the parameters that require gradients."""
    params = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True, weight_decay=weight_decay)


def onecycle(optimizer, total_steps: int) -> torch.optim.lr_scheduler.OneCycleLR:
    """Warm up for a quarter of the steps to each group's ``lr``, then anneal towards zero."""
    # OneCycleLR divides by pct_start * total_steps - 1, zero for 4 steps or fewer at 0.25.
    return torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=[g["lr"] for g in optimizer.param_groups], total_steps=total_steps,
        pct_start=0.25 if total_steps > 4 else 1.5 / total_steps)


def fit(model: nn.Module, train_loader, val_loader=None, epochs: int = 1, optimizer=None,
        scheduler: str | None = "onecycle", loss_fn=None, device=None, quiet: bool = False,
        label_smoothing: float = 0.0, *, channels_last: bool = False, bf16: bool = False,
        compile: bool = False, cudnn_benchmark: bool = False) -> History:
    """Train ``model`` for ``epochs`` and return its :class:`History`.

    ``optimizer`` defaults to :func:`default_optimizer`. ``scheduler='onecycle'`` wraps it in a
    one-cycle learning-rate schedule peaking at each group's ``lr``; ``None`` keeps ``lr`` fixed.

    GPU switches, used on CUDA only (ignored on other devices, where they were not measured to
    help): ``channels_last`` memory format for model and inputs, ``bf16`` autocast,
    ``compile`` (``torch.compile`` for the training steps) and ``cudnn_benchmark``.
    ``python -m bench`` measures each of them on a GPU; all are off by default.
    """
    device = torch.device(device or get_device())
    cuda = device.type == "cuda"
    memory_format = torch.channels_last if channels_last and cuda else torch.preserve_format
    model.to(device)
    if memory_format is torch.channels_last:
        model.to(memory_format=memory_format)
    if cudnn_benchmark and cuda:
        torch.backends.cudnn.benchmark = True   # process-wide: it stays on after fit
    step_model = torch.compile(model) if compile and cuda else model
    autocast = functools.partial(torch.autocast, "cuda", dtype=torch.bfloat16) if bf16 and cuda else nullcontext
    optimizer = optimizer or default_optimizer(model)
    loss_fn = loss_fn or nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    sched = None
    if scheduler == "onecycle" and epochs * len(train_loader) > 1:
        sched = onecycle(optimizer, epochs * len(train_loader))
    history = History()
    for epoch in range(1, epochs + 1):
        model.train()
        # Per-step figures stay on the device and are summed once per epoch: an .item() per
        # step would make a GPU wait for the host, and a running sum costs extra ops per step.
        losses, hits, sizes = [], [], []
        start = time.perf_counter()
        for batch in tqdm(train_loader, desc=f"epoch {epoch}/{epochs}", disable=quiet, leave=False):
            x, y = _to(batch, device, memory_format)
            with autocast():
                logits = step_model(x)
                loss = loss_fn(logits, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if sched is not None:
                sched.step()
            losses.append(loss.detach())
            hits.append((logits.argmax(1) == y).sum())
            sizes.append(len(y))
        seen = sum(sizes)
        weights = torch.tensor(sizes, dtype=torch.float, device=device)   # a short last batch counts less
        history.train_loss.append((torch.stack(losses).float() * weights).sum().item() / seen)
        history.train_acc.append(torch.stack(hits).sum().item() / seen)
        elapsed = time.perf_counter() - start   # after .item(): the GPU has finished the epoch
        history.epoch_time.append(elapsed)
        history.images_per_s.append(seen / elapsed)
        line = (f"epoch {epoch}/{epochs}  train loss {history.train_loss[-1]:.3f} "
                f"acc {history.train_acc[-1]:.1%}")
        if val_loader is not None:
            with autocast():
                val_loss, val_acc = evaluate(model, val_loader, device, loss_fn)
            history.val_loss.append(val_loss)
            history.val_acc.append(val_acc)
            line += f"  val loss {val_loss:.3f} acc {val_acc:.1%}"
        if not quiet:
            print(f"{line}  ({elapsed:.1f} s, {seen / elapsed:.0f} img/s)")
    return history
