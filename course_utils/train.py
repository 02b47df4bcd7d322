"""One short training loop (``fit``) and one ``evaluate``, with a history you can plot."""
from __future__ import annotations

import functools
import time
from contextlib import nullcontext
import warnings
from dataclasses import asdict, dataclass, field
from typing import ClassVar

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
    # How fit ran the steps: "eager", or "cuda graph" (see CudaGraphStep); not a per-epoch list.
    step_path: ClassVar[str] = "eager"

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


@torch.no_grad()
def sgd_update(groups, neg_lrs, momenta, state) -> None:
    """``torch.optim.SGD``'s update (foreach form) with learning rates and momenta in tensors.

    ``neg_lrs[i]`` and ``momenta[i]`` are 0-d device tensors holding ``-lr`` and ``momentum`` of
    group ``i``; a CUDA graph that captures this reads whatever they hold at replay. Momentum
    buffers must exist (zeros act as torch's first step when ``dampening`` is 0).
    """
    for group, neg_lr, momentum in zip(groups, neg_lrs, momenta):
        params = [p for p in group["params"] if p.grad is not None]
        if not params:
            continue
        grads = [p.grad for p in params]
        if group["weight_decay"]:
            grads = torch._foreach_add(grads, params, alpha=group["weight_decay"])
        if group["momentum"]:
            bufs = [state[p]["momentum_buffer"] for p in params]
            torch._foreach_mul_(bufs, momentum)
            torch._foreach_add_(bufs, grads)
            grads = torch._foreach_add(grads, torch._foreach_mul(bufs, momentum)) if group["nesterov"] else bufs
        torch._foreach_add_(params, torch._foreach_mul(grads, neg_lr))


def _graph_settings(group) -> tuple:
    """What a captured update bakes in; replays are valid only while these stay the same."""
    return (group["weight_decay"], bool(group["momentum"]), group["nesterov"], len(group["params"]))


def _can_capture(device: torch.device) -> bool:
    return device.type == "cuda"


def cuda_graph_supported(optimizer) -> bool:
    """Plain SGD (any momentum, Nesterov, weight decay; no dampening, not maximising) without
    step hooks (a replay runs no Python, so no hook would run)."""
    hooks = optimizer._optimizer_step_pre_hooks or optimizer._optimizer_step_post_hooks
    return type(optimizer) is torch.optim.SGD and not hooks and all(
        not g["dampening"] and not g["maximize"] and not g.get("differentiable") for g in optimizer.param_groups)


class CudaGraphStep:
    """One training step on a fixed batch shape, captured once as a CUDA graph, then replayed.

    Small networks at batch 128 keep a GPU waiting while Python launches a few hundred kernels
    per step; a replay launches them all at once. What is learned does not change: the step is
    forward, loss, backward and SGD's update (:func:`sgd_update`), whose learning rate and
    momentum are copied from the optimizer (so from the scheduler) into device tensors before
    each replay. Capture needs a few warm-up steps (cuDNN's algorithm choice, the allocator);
    they run on a side stream and the weights, buffers, momentum and CUDA RNG are restored
    after them, so they train nothing. Loss and correct predictions are summed on the device.
    """

    def __init__(self, model, optimizer, loss_fn, x, y, autocast, warmup: int = 3):
        self.model, self.optimizer, self.loss_fn, self.autocast = model, optimizer, loss_fn, autocast
        self.x, self.y = x.clone(), y.clone()
        device = x.device
        groups = optimizer.param_groups
        self.neg_lrs = [torch.zeros((), device=device) for _ in groups]
        self.momenta = [torch.zeros((), device=device) for _ in groups]
        self.loss_sum = torch.zeros((), device=device)
        self.hits = torch.zeros((), device=device, dtype=torch.long)
        self.seen = 0
        self.settings = [_graph_settings(g) for g in groups]
        saved = self._snapshot()
        try:
            self._load_hyperparameters()
            side = torch.cuda.Stream(device)
            side.wait_stream(torch.cuda.current_stream(device))
            with torch.cuda.stream(side):
                for _ in range(warmup):
                    optimizer.zero_grad(set_to_none=True)
                    self._step()
            torch.cuda.current_stream(device).wait_stream(side)
            self._restore(saved)
            # Gradients are None at capture, so each replay writes them afresh (no zeroing
            # step); they then stay where the graph writes them (eager steps zero, not free).
            optimizer.zero_grad(set_to_none=True)
            self.graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self.graph):   # records the kernels, runs nothing
                self._step()
        except BaseException:
            self._restore(saved)   # a failed capture must leave no trace
            optimizer.zero_grad(set_to_none=True)
            raise
        self.reset()

    def _step(self) -> None:
        with self.autocast():
            logits = self.model(self.x)
            loss = self.loss_fn(logits, self.y)
        loss.backward()
        sgd_update(self.optimizer.param_groups, self.neg_lrs, self.momenta, self.optimizer.state)
        self.loss_sum += loss.detach().float() * len(self.y)
        self.hits += (logits.argmax(1) == self.y).sum()

    @torch.no_grad()
    def _snapshot(self) -> dict:
        params = [p for g in self.optimizer.param_groups for p in g["params"]]
        tensors = list(dict.fromkeys(params + list(self.model.parameters()) + list(self.model.buffers())))
        momentum = {}
        for p in params:
            state = self.optimizer.state[p]
            old = state.get("momentum_buffer")
            momentum[p] = None if old is None else old.clone()
            if old is None:   # the graph updates these tensors in place: they must exist first
                state["momentum_buffer"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        return {"tensors": [(t, t.clone()) for t in tensors], "momentum": momentum,
                "rng": torch.cuda.get_rng_state(self.x.device)}

    @torch.no_grad()
    def _restore(self, saved: dict) -> None:
        for t, copy in saved["tensors"]:
            t.copy_(copy)
        for p, old in saved["momentum"].items():
            buf = self.optimizer.state[p]["momentum_buffer"]
            buf.zero_() if old is None else buf.copy_(old)
        torch.cuda.set_rng_state(saved["rng"], self.x.device)
        self.loss_sum.zero_()
        self.hits.zero_()

    def _load_hyperparameters(self) -> None:
        for group, neg_lr, momentum in zip(self.optimizer.param_groups, self.neg_lrs, self.momenta):
            neg_lr.fill_(-group["lr"])
            momentum.fill_(group["momentum"])

    def fits(self, x, y) -> bool:
        """Whether a replay is this step for ``(x, y)``: same shapes, same baked-in settings."""
        return (x.shape == self.x.shape and y.shape == self.y.shape and x.stride() == self.x.stride()
                and [_graph_settings(g) for g in self.optimizer.param_groups] == self.settings)

    def __call__(self, x, y) -> None:
        self.x.copy_(x, non_blocking=True)
        self.y.copy_(y, non_blocking=True)
        self._load_hyperparameters()
        self.graph.replay()
        self.optimizer._opt_called = True   # tells the LR scheduler the optimizer has stepped
        self.seen += len(y)

    def reset(self) -> None:
        self.loss_sum.zero_()
        self.hits.zero_()
        self.seen = 0


def _capture(model, optimizer, loss_fn, x, y, autocast) -> tuple[CudaGraphStep | None, str]:
    """A :class:`CudaGraphStep`, or ``None`` and why not (a model that syncs with the host,
    e.g. ``.item()`` in ``forward``, cannot be captured; it then trains eagerly)."""
    try:
        return CudaGraphStep(model, optimizer, loss_fn, x, y, autocast), "cuda graph"
    except Exception as exc:   # noqa: BLE001 -- any capture failure means: train eagerly
        why = f"eager (CUDA graph capture failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200]})"
        warnings.warn(f"fit: {why}", RuntimeWarning, stacklevel=3)
        return None, why


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
        compile: bool = False, cudnn_benchmark: bool = False, cuda_graph: bool = True) -> History:
    """Train ``model`` for ``epochs`` and return its :class:`History`.

    ``optimizer`` defaults to :func:`default_optimizer`. ``scheduler='onecycle'`` wraps it in a
    one-cycle learning-rate schedule peaking at each group's ``lr``; ``None`` keeps ``lr`` fixed.

    On CUDA, ``cuda_graph`` (on by default) replays each full-size training step as one CUDA
    graph (:class:`CudaGraphStep`) when the optimizer is plain SGD; anything else, a batch of
    another size, or a model that cannot be captured trains eagerly, as on the CPU.
    ``history.step_path`` says which ran. Other GPU switches, used on CUDA only (ignored
    elsewhere) and off by default: ``channels_last`` memory format for model and inputs,
    ``bf16`` autocast, ``compile`` (``torch.compile`` for the training steps; it replaces the
    CUDA graph) and ``cudnn_benchmark``. ``python -m bench --only gpu`` measures them.
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
    # No autocast weight cache: a captured graph must not hold casts made outside it.
    autocast = (functools.partial(torch.autocast, "cuda", dtype=torch.bfloat16, cache_enabled=False)
                if bf16 and cuda else nullcontext)
    optimizer = optimizer or default_optimizer(model)
    loss_fn = loss_fn or nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    sched = None
    if scheduler == "onecycle" and epochs * len(train_loader) > 1:
        sched = onecycle(optimizer, epochs * len(train_loader))
    use_graph = cuda_graph and _can_capture(device) and not compile and cuda_graph_supported(optimizer)
    graphed, history = None, History()
    for epoch in range(1, epochs + 1):
        model.train()
        # Per-step figures stay on the device and are summed once per epoch: an .item() per
        # step would make a GPU wait for the host, and a running sum costs extra ops per step.
        losses, hits, sizes = [], [], []
        start = time.perf_counter()
        for batch in tqdm(train_loader, desc=f"epoch {epoch}/{epochs}", disable=quiet, leave=False):
            x, y = _to(batch, device, memory_format)
            if use_graph and graphed is None:
                graphed, history.step_path = _capture(step_model, optimizer, loss_fn, x, y, autocast)
                use_graph = graphed is not None
            if graphed is not None and graphed.fits(x, y):
                graphed(x, y)
            else:
                with autocast():
                    logits = step_model(x)
                    loss = loss_fn(logits, y)
                optimizer.zero_grad(set_to_none=graphed is None)
                loss.backward()
                optimizer.step()
                losses.append(loss.detach())
                hits.append((logits.argmax(1) == y).sum())
                sizes.append(len(y))
            if sched is not None:
                sched.step()
        seen = sum(sizes)
        total_loss, total_hits = torch.zeros((), device=device), torch.zeros((), device=device, dtype=torch.long)
        if sizes:
            weights = torch.tensor(sizes, dtype=torch.float, device=device)   # a short last batch counts less
            total_loss, total_hits = (torch.stack(losses).float() * weights).sum(), torch.stack(hits).sum()
        if graphed is not None:
            seen += graphed.seen
            total_loss, total_hits = total_loss + graphed.loss_sum, total_hits + graphed.hits
        history.train_loss.append(total_loss.item() / seen)
        history.train_acc.append(total_hits.item() / seen)
        if graphed is not None:
            graphed.reset()
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
