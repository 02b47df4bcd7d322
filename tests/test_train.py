"""course_utils.train: fit learns, History records, evaluate/predict compute, quiet is quiet;
the CUDA-graph path learns what eager steps learn (checked on the CPU with stand-ins)."""
import contextlib
import functools

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from conftest import requires_cifar10
from course_utils.config import get_profile, seed_everything
from course_utils.data import TensorLoader, load_subset
from course_utils import train
from course_utils.train import History, evaluate, fit, predict


@pytest.fixture
def one_thread():
    """Train on one intra-op thread: on the shared 2-core machine (load average ~12) two
    threads made these small models about 10x slower (123 s vs 10.6 s for the same run)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_cnn(width: int = 16) -> nn.Sequential:
    """Two conv stages and a wide linear head: enough capacity to memorise a few hundred images."""
    return nn.Sequential(
        nn.Conv2d(3, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(width, 2 * width, 3, padding=1), nn.BatchNorm2d(2 * width), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(2 * width * 8 * 8, 10))


def random_loaders(n=64, batch_size=16, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=gen)
    y = torch.randint(0, 10, (n,), generator=gen)
    return (TensorLoader(x, y, batch_size, train=True, augment=True, device="cpu", seed=seed),
            TensorLoader(x, y, 2 * batch_size, device="cpu"))


@requires_cifar10
def test_fit_overfits_256_real_images_to_90_percent(one_thread):
    # Measured: last-epoch train accuracy 0.969-0.977 over seeds 0-3, about 10 s each on one
    # thread of the busy machine (/tmp script: width 16, Adam 3e-3, 15 epochs, smoke batch 50).
    profile = get_profile("smoke")
    x, y = load_subset(True, profile.train_per_class)
    x, y = x[:256], y[:256]
    seed_everything(0)
    model = tiny_cnn()
    train = TensorLoader(x, y, profile.batch_size, train=True, device="cpu")
    history = fit(model, train, epochs=15, optimizer=torch.optim.Adam(model.parameters(), lr=3e-3),
                  device="cpu", quiet=True)
    assert history.train_loss[-1] < history.train_loss[0] / 4
    assert history.train_acc[-1] >= 0.90
    _, acc = evaluate(model, TensorLoader(x, y, 256, device="cpu"), "cpu")
    assert acc >= 0.90


def test_fit_reduces_the_loss(one_thread):
    seed_everything(0)
    train, _ = random_loaders(n=64)
    model = tiny_cnn(4)
    history = fit(model, train, epochs=6, optimizer=torch.optim.Adam(model.parameters(), lr=3e-3),
                  device="cpu", quiet=True)
    assert history.train_loss[-1] < history.train_loss[0]


def test_history_has_one_entry_per_epoch(one_thread):
    train, val = random_loaders()
    history = fit(tiny_cnn(4), train, val, epochs=3, device="cpu", quiet=True)
    assert isinstance(history, History) and history.epochs == 3
    for name in ("train_loss", "train_acc", "val_loss", "val_acc", "epoch_time", "images_per_s"):
        assert len(getattr(history, name)) == 3, name
    assert all(0 <= a <= 1 for a in history.train_acc + history.val_acc)
    assert history.wall_time == pytest.approx(sum(history.epoch_time))
    for seconds, rate in zip(history.epoch_time, history.images_per_s):
        assert rate == pytest.approx(train.num_samples / seconds)
    assert set(history.as_dict()) == {"train_loss", "train_acc", "val_loss", "val_acc", "epoch_time", "images_per_s"}
    assert "3 epochs" in str(history)


def test_history_without_validation_has_no_validation_entries(one_thread):
    train, _ = random_loaders()
    history = fit(tiny_cnn(4), train, epochs=2, device="cpu", quiet=True)
    assert history.val_loss == [] and history.val_acc == [] and len(history.train_loss) == 2


def test_validation_figures_are_what_evaluate_says(one_thread):
    train, val = random_loaders()
    model = tiny_cnn(4)
    history = fit(model, train, val, epochs=1, device="cpu", quiet=True)
    assert (history.val_loss[-1], history.val_acc[-1]) == pytest.approx(evaluate(model, val, "cpu"))


class Logits(nn.Module):
    """A 'model' whose outputs are its inputs: the expected loss and accuracy are then known."""

    def forward(self, x):
        return x


def logit_batches(sizes=(5, 3, 8), seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [(torch.randn(n, 10, generator=gen), torch.randint(0, 10, (n,), generator=gen)) for n in sizes]


def test_evaluate_averages_over_examples_not_batches():
    batches = logit_batches()
    logits = torch.cat([x for x, _ in batches])
    labels = torch.cat([y for _, y in batches])
    model = Logits().train()
    loss, acc = evaluate(model, batches, "cpu")
    assert loss == pytest.approx(F.cross_entropy(logits, labels).item(), rel=1e-5)
    assert acc == pytest.approx((logits.argmax(1) == labels).float().mean().item())
    assert model.training, "evaluate must give the model back in the mode it had"


def test_train_figures_average_over_examples_including_a_short_last_batch():
    batches = logit_batches(sizes=(8, 8, 3))
    model = nn.Linear(10, 10)
    frozen = torch.optim.SGD(model.parameters(), lr=0.0)   # weights fixed: training = evaluating
    history = fit(model, batches, epochs=1, optimizer=frozen, scheduler=None, device="cpu", quiet=True)
    loss, acc = evaluate(model, batches, "cpu")
    assert history.train_loss[0] == pytest.approx(loss, rel=1e-5)
    assert history.train_acc[0] == pytest.approx(acc)


def test_predict_returns_argmax_and_labels_in_loader_order():
    batches = logit_batches()
    preds, labels = predict(Logits(), batches, "cpu")
    assert torch.equal(preds, torch.cat([x.argmax(1) for x, _ in batches]))
    assert torch.equal(labels, torch.cat([y for _, y in batches]))
    assert preds.device.type == "cpu"


def test_quiet_prints_nothing(capfd, one_thread):
    train, val = random_loaders()
    fit(tiny_cnn(4), train, val, epochs=2, device="cpu", quiet=True)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_not_quiet_prints_one_summary_line_per_epoch(capfd, one_thread):
    train, val = random_loaders()
    fit(tiny_cnn(4), train, val, epochs=2, device="cpu", quiet=False)
    out, _ = capfd.readouterr()
    lines = out.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("epoch 2/2") and "val loss" in lines[1]


def test_gpu_switches_leave_the_cpu_path_unchanged(monkeypatch, one_thread):
    def no_compile(*args, **kwargs):
        raise AssertionError("torch.compile must not run on the CPU")
    monkeypatch.setattr(torch, "compile", no_compile)
    benchmark = torch.backends.cudnn.benchmark
    runs = []
    for switches in ({}, dict(channels_last=True, bf16=True, compile=True, cudnn_benchmark=True),
                     dict(cuda_graph=False)):
        seed_everything(0)
        train, _ = random_loaders()
        model = tiny_cnn(4)
        history = fit(model, train, epochs=2, device="cpu", quiet=True, **switches)
        runs.append((history.train_loss, model.state_dict()))
    (loss_a, state_a), (loss_b, state_b), (loss_c, state_c) = runs
    assert loss_a == loss_b == loss_c
    assert all(torch.equal(state_a[k], state_b[k]) and torch.equal(state_a[k], state_c[k]) for k in state_a)
    assert state_b["0.weight"].is_contiguous()   # not converted to channels_last
    assert torch.backends.cudnn.benchmark == benchmark


def test_fit_trains_from_a_torchvision_style_dataloader(one_thread):
    gen = torch.Generator().manual_seed(0)
    ds = TensorDataset(torch.randn(48, 3, 32, 32, generator=gen), torch.randint(0, 10, (48,), generator=gen))
    history = fit(tiny_cnn(4), DataLoader(ds, batch_size=16, shuffle=True), epochs=1, device="cpu", quiet=True)
    assert history.epochs == 1 and history.images_per_s[0] > 0


def test_onecycle_peaks_at_the_given_lr_and_none_keeps_it(one_thread):
    train, _ = random_loaders()
    lrs = []
    model = tiny_cnn(4)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    optimizer.register_step_pre_hook(lambda opt, args, kwargs: lrs.append(opt.param_groups[0]["lr"]))
    fit(model, train, epochs=2, optimizer=optimizer, device="cpu", quiet=True)
    assert max(lrs) == pytest.approx(0.1, rel=0.05) and lrs[0] < 0.1 / 5 and lrs[-1] < 0.1 / 5
    fixed = torch.optim.SGD(model.parameters(), lr=0.1)
    fit(model, train, epochs=1, optimizer=fixed, scheduler=None, device="cpu", quiet=True)
    assert fixed.param_groups[0]["lr"] == 0.1


# --- the CUDA-graph path, exercised on the CPU with stand-ins for the CUDA graph API ----------

class FakeGraph:
    """torch.cuda.CUDAGraph on the CPU: 'capture' remembers the step, a replay runs it again."""

    capturing = None

    def __init__(self):
        self.step = None

    def replay(self):
        self.step()


class FakeStream:
    def wait_stream(self, other):
        pass


@contextlib.contextmanager
def fake_capture(graph, fail=False):
    if fail:
        raise RuntimeError("operation not permitted when stream is capturing")
    FakeGraph.capturing = graph
    try:
        yield
    finally:
        FakeGraph.capturing = None


@pytest.fixture
def fake_cuda_graphs(monkeypatch):
    """fit takes its CUDA-graph path on the CPU: 'capturing' remembers the step without running
    it, as a real capture runs no kernel, and each replay runs it eagerly. A real replay writes
    fresh gradients (they were None when it was captured): the stand-in zeroes them first."""
    real_step = train.CudaGraphStep._step

    def replay(self):
        self.optimizer.zero_grad(set_to_none=False)
        real_step(self)

    def step(self):
        if FakeGraph.capturing is None:
            real_step(self)
        else:
            FakeGraph.capturing.step = functools.partial(replay, self)

    monkeypatch.setattr(train, "_can_capture", lambda device: True)
    monkeypatch.setattr(train.CudaGraphStep, "_step", step)
    monkeypatch.setattr(torch.cuda, "CUDAGraph", FakeGraph)
    monkeypatch.setattr(torch.cuda, "graph", fake_capture)
    monkeypatch.setattr(torch.cuda, "Stream", lambda device=None: FakeStream())
    monkeypatch.setattr(torch.cuda, "current_stream", lambda device=None: FakeStream())
    monkeypatch.setattr(torch.cuda, "stream", lambda stream: contextlib.nullcontext())
    monkeypatch.setattr(torch.cuda, "get_rng_state", lambda device=None: torch.get_rng_state())
    monkeypatch.setattr(torch.cuda, "set_rng_state", lambda state, device=None: torch.set_rng_state(state))
    return monkeypatch


def train_twice(device="cpu", **fit_kwargs):
    """The same run (70 images: four batches of 16 and a short one of 6) eagerly and graphed.

    A small learning rate keeps the run from amplifying rounding: at lr 0.05 on these random
    labels the two paths' weights drift apart to 1e-4 in 3 epochs, at 0.01 they stay 1e-7 apart.
    """
    runs = []
    for cuda_graph in (False, True):
        seed_everything(0)
        train_loader, val_loader = random_loaders(n=70, batch_size=16)
        model = tiny_cnn(4)
        history = fit(model, train_loader, val_loader, epochs=3, device=device, quiet=True,
                      optimizer=train.default_optimizer(model, lr=0.01), cuda_graph=cuda_graph, **fit_kwargs)
        runs.append((history, model.state_dict()))
    return runs


def test_graphed_steps_learn_what_eager_steps_learn(fake_cuda_graphs, one_thread):
    # One-cycle changes lr and momentum every step: the replays must see each value.
    (eager, state_a), (graphed, state_b) = train_twice()
    assert eager.step_path == "eager" and graphed.step_path == "cuda graph"
    assert graphed.train_loss == pytest.approx(eager.train_loss, rel=1e-5)
    assert graphed.train_acc == eager.train_acc and graphed.val_acc == eager.val_acc
    for key in state_a:   # BatchNorm's running statistics and counter too: warm-up left no trace
        assert torch.allclose(state_a[key].float(), state_b[key].float(), atol=1e-6), key


def test_a_model_that_cannot_be_captured_trains_eagerly(fake_cuda_graphs, one_thread):
    fake_cuda_graphs.setattr(torch.cuda, "graph", functools.partial(fake_capture, fail=True))
    with pytest.warns(RuntimeWarning, match="capture failed"):
        (eager, state_a), (fallback, state_b) = train_twice()
    assert fallback.step_path.startswith("eager (CUDA graph capture failed: RuntimeError")
    assert fallback.train_loss == eager.train_loss
    assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)


@pytest.mark.parametrize("nesterov,weight_decay", [(True, 5e-4), (False, 0.0)])
def test_sgd_update_is_torch_sgd_with_tensor_hyperparameters(nesterov, weight_decay):
    torch.manual_seed(0)
    ours, theirs = nn.Linear(5, 3), nn.Linear(5, 3)
    theirs.load_state_dict(ours.state_dict())
    kwargs = dict(lr=0.1, momentum=0.9, nesterov=nesterov, weight_decay=weight_decay)
    opt_ours, opt_theirs = torch.optim.SGD(ours.parameters(), **kwargs), torch.optim.SGD(theirs.parameters(), **kwargs)
    for p in ours.parameters():
        opt_ours.state[p]["momentum_buffer"] = torch.zeros_like(p)
    for lr, momentum in [(0.1, 0.9), (0.05, 0.85), (0.2, 0.95)]:
        x = torch.randn(8, 5)
        for model, opt in ((ours, opt_ours), (theirs, opt_theirs)):
            opt.param_groups[0].update(lr=lr, momentum=momentum)
            opt.zero_grad()
            model(x).square().sum().backward()
        opt_theirs.step()
        train.sgd_update(opt_ours.param_groups, [torch.tensor(-lr)], [torch.tensor(momentum)], opt_ours.state)
    for a, b in zip(ours.parameters(), theirs.parameters()):
        assert torch.allclose(a, b, atol=1e-6)


def test_only_plain_sgd_is_captured():
    params = [nn.Parameter(torch.zeros(1))]
    assert train.cuda_graph_supported(torch.optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True))
    assert not train.cuda_graph_supported(torch.optim.SGD(params, lr=0.1, momentum=0.9, dampening=0.1))
    assert not train.cuda_graph_supported(torch.optim.Adam(params))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_real_cuda_graphs_learn_what_eager_steps_learn():
    (eager, state_a), (graphed, state_b) = train_twice(device="cuda")
    assert graphed.step_path == "cuda graph"
    assert graphed.train_loss == pytest.approx(eager.train_loss, rel=1e-4)
    for key in state_a:   # cuDNN may pick other algorithms per run: a looser tolerance
        assert torch.allclose(state_a[key].float(), state_b[key].float(), atol=1e-4), key
