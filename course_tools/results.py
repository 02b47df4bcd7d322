"""``make results``: train every run the book and the assignments make, and record each.

    python -m course_tools.results [--profile P] [--only NAME,NAME] [--out DIR] [--list]

One :class:`course_utils.records.Record` per run goes to ``course_utils/records/<profile>/``
(or ``--out``). The runs reuse the code the pages run, as plain Python (no Jupyter needed):

* the assignments (``a1_vgg`` … ``a4_resnet``): the reference solution's own cells, read from
  ``solutions/<aid>/<aid>.ipynb`` at run time (setup cell + every solution cell, nbgrader
  markers stripped), then its ``train_model(profile, device)``; accuracy on the grading subset
  the hidden test uses (``data.eval_loader``: all 10,000 test images in ``full``);
* the chapters: their definitions (models, training helpers) read from ``book/*.ipynb`` by
  name where the chapter defines them, and the chapter's recipe (optimizer, learning rate,
  epochs) restated here; the speed run is ``course_utils.speedrun``.

Time budget: the ``full`` runs must fit 10 minutes on one H100. Estimated from DESIGN.md's
measured epoch times, with ``fit``'s eager steps they take about 22 minutes, so they do not;
``fit``'s CUDA-graph path (on by default on CUDA) targets the per-step launch cost that bounds
these networks, and is not measured yet. The estimate, run by run, is in
``course_utils/records/README.md``. ``RUNS`` is in priority order (the assignments, which
the thresholds need, first), and ``bench/gpu_session.sh`` stops at its budget.
"""
from __future__ import annotations

import argparse
import ast
import contextlib
import copy
import io
import json
import os
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import torch
import torch.nn as nn

from course_utils import data, records
from course_utils.config import Profile, get_device, get_profile, seed_everything
from course_utils.train import History, default_optimizer, evaluate, fit

CHECKPOINT_MAX_BYTES = 2_000_000   # weights small enough to commit beside the record
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


@dataclass
class Outcome:
    """What a run hands back: the trained model, its history, and the test set it is judged on."""

    model: nn.Module
    history: History
    test_loader: object
    test_set: str
    test_accuracy: float | None = None     # when the run measures it itself (speed run)
    test_images: int | None = None         # likewise
    extra: dict = field(default_factory=dict)


# --- reading code out of notebooks ------------------------------------------------------------

def _code_cells(path: Path) -> list[dict]:
    nb = json.loads(Path(path).read_text())
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def _source(cell: dict) -> str:
    text = "".join(cell["source"])
    # IPython magics and shell lines are not Python; nothing the runs need is on them.
    return "\n".join(l for l in text.split("\n") if not l.lstrip().startswith(("%", "!")))


def reference_namespace(aid: str, root: Path, profile: Profile) -> dict:
    """The reference solution of ``aid`` executed as its notebook defines it (no training yet).

    Runs the setup cell (imports, ``profile``, ``device``) and every nbgrader solution cell in
    order, with the ``### BEGIN/END SOLUTION`` lines removed. Output of the setup is swallowed.
    """
    cells = _code_cells(root / "solutions" / aid / f"{aid}.ipynb")
    meta = [c.get("metadata", {}).get("nbgrader", {}) for c in cells]
    chosen = [c for c, m in zip(cells, meta) if m.get("grade_id") == "setup" or m.get("solution")]
    ns: dict = {"__name__": f"reference_{aid}"}
    previous = os.environ.get("COURSE_PROFILE")
    os.environ["COURSE_PROFILE"] = profile.name
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            for cell in chosen:
                source = "\n".join(l for l in _source(cell).split("\n") if l.strip() not in MARKERS)
                exec(compile(source, f"{aid}.ipynb", "exec"), ns)
    finally:
        if previous is None:
            os.environ.pop("COURSE_PROFILE", None)
        else:
            os.environ["COURSE_PROFILE"] = previous
    if "train_model" not in ns:
        raise KeyError(f"solutions/{aid}/{aid}.ipynb defines no train_model(profile, device)")
    return ns


def chapter_definitions(chapter: str, names: tuple[str, ...], root: Path, **given) -> dict:
    """The chapter's imports and its top-level definitions of ``names``, executed in page order.

    A definition is a ``def``/``class`` of that name or an assignment to it; nothing else of the
    chapter runs (no training, no plots). ``given`` pre-sets globals the definitions read
    (``profile``, ``device``).
    """
    ns: dict = {"__name__": f"chapter_{chapter}", **given}
    found = set()
    for cell in _code_cells(root / "book" / f"{chapter}.ipynb"):
        try:
            tree = ast.parse(_source(cell))
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                keep = True
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                keep = node.name in names
            elif isinstance(node, ast.Assign):
                targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
                keep = bool(targets) and set(targets) <= set(names)
            else:
                keep = False
            if keep:
                exec(compile(ast.Module([node], []), f"{chapter}.ipynb", "exec"), ns)
                found |= {getattr(node, "name", None)} | {
                    t.id for t in getattr(node, "targets", []) if isinstance(t, ast.Name)}
    missing = set(names) - found
    if missing:
        raise KeyError(f"book/{chapter}.ipynb no longer defines {sorted(missing)}: "
                       f"update the run in course_tools/results.py")
    return ns


# --- the runs ---------------------------------------------------------------------------------

def _grading_subset(profile: Profile, device, classes=None) -> tuple[object, str]:
    loader = data.eval_loader(profile, device=device, classes=classes)
    what = ("test split, all 10,000 images" if profile.eval_per_class is None and classes is None
            else f"grading subset of the test split (data.eval_loader, {loader.num_samples:,} images"
                 + (f", classes {', '.join(classes)})" if classes else ")"))
    return loader, what


def _test_split(loader, profile: Profile) -> str:
    if profile.test_per_class is None:
        return f"test split, all {loader.num_samples:,} images"
    return f"the profile's test subset ({loader.num_samples:,} images, seed 0)"


def assignment_run(aid: str):
    def run(profile: Profile, device, root: Path) -> Outcome:
        ns = reference_namespace(aid, root, profile)
        model, history = ns["train_model"](profile, device)
        classes = ns.get("TARGET_CLASSES") if aid == "a2_finetune" else None
        loader, what = _grading_subset(profile, device, classes)
        extra = {"backbone": ns["BACKBONE"]} if aid == "a2_finetune" else {}
        return Outcome(model, history, loader, what, extra=extra)
    run.__doc__ = f"The reference solution of {aid}: its train_model, then the grading subset."
    return run


def ch2_vgg11(profile: Profile, device, root: Path) -> Outcome:
    """torchvision's VGG-11 with BatchNorm (ImageNet head, 10 classes) at the chapter's VGG_LR."""
    import torchvision
    lr = chapter_definitions("02_vgg", ("VGG_LR",), root)["VGG_LR"]
    seed_everything(0)
    model = torchvision.models.vgg11_bn(weights=None, num_classes=10)
    train_loader, test_loader = data.cifar10_loaders(profile, augment=True, device=device)
    history = fit(model, train_loader, test_loader, epochs=profile.epochs, device=device, quiet=True,
                  optimizer=default_optimizer(model, lr=lr))
    return Outcome(model, history, test_loader, _test_split(test_loader, profile))


def _ch3_data(profile: Profile, device):
    """Chapter 3's data at its largest N: every target-class training image of the profile."""
    from course_utils import pretrained
    target = pretrained.TARGET_CLASSES
    train_x, train_y = data.load_subset(True, profile.train_per_class or 5000, seed=0, classes=target)
    test_x, test_y = data.load_subset(False, profile.test_per_class, seed=0, classes=target)
    test_loader = data.TensorLoader(test_x, test_y, 256, device=device)
    return pretrained.load_backbone(verbose=False), train_x, train_y, test_loader


def ch3_feature_extraction(profile: Profile, device, root: Path) -> Outcome:
    """Chapter 3 (a): frozen backbone, features of 4 augmented views cached once, a new head."""
    from course_utils import pretrained
    seed_everything(0)
    backbone, train_x, train_y, test_loader = _ch3_data(profile, device)
    views = 4
    body = copy.deepcopy(backbone.model).to(device).eval()
    body.set_submodule(backbone.head, nn.Identity())
    train = data.TensorLoader(train_x, train_y, 256, augment=True, device=device)
    with torch.no_grad():
        pairs = [(body(x), y) for _ in range(views) for x, y in train]
        test_pairs = [(body(x), y) for x, y in test_loader]
    feats = torch.utils.data.TensorDataset(torch.cat([f for f, _ in pairs]), torch.cat([y for _, y in pairs]))
    loader = torch.utils.data.DataLoader(feats, batch_size=profile.batch_size, shuffle=True)
    head = nn.Linear(feats.tensors[0].shape[1], len(pretrained.TARGET_CLASSES))
    optimizer = torch.optim.SGD(head.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    history = fit(head, loader, test_pairs, epochs=max(5, 200 // len(loader)), optimizer=optimizer,
                  device=device, quiet=True)
    return Outcome(head, history, test_pairs, f"target classes of {_test_split(test_loader, profile)} "
                   "(features of the frozen backbone)")


def ch3_finetune(profile: Profile, device, root: Path) -> Outcome:
    """Chapter 3 (b): the whole pretrained network with a new head, SGD lr 0.01."""
    seed_everything(0)
    backbone, train_x, train_y, test_loader = _ch3_data(profile, device)
    n = profile.train_per_class or 5000
    net = copy.deepcopy(backbone.model)
    net.set_submodule(backbone.head, nn.Linear(net.get_submodule(backbone.head).in_features, 5))
    train = data.TensorLoader(train_x, train_y, profile.batch_size, train=True, augment=True, device=device)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4)
    # The chapter gives every run the same budget of images: epochs * 5 classes * min(N, 100).
    epochs = max(1, round(profile.epochs * min(n, 100) / n))
    history = fit(net, train, test_loader, epochs=epochs, optimizer=optimizer, device=device, quiet=True)
    return Outcome(net, history, test_loader, f"target classes of {_test_split(test_loader, profile)}")


def ch4_googlenet(profile: Profile, device, root: Path) -> Outcome:
    """Chapter 4's CIFAR GoogLeNet (its make_googlenet, quarter-width table), SGD lr 0.05."""
    from course_utils import specs
    ns = chapter_definitions("04_googlenet", ("make_googlenet", "cifar_stem", "quarter_table"), root)
    seed_everything(0)
    model = ns["make_googlenet"](ns["cifar_stem"], specs.GOOGLENET_BODY, ns["quarter_table"], num_classes=10)
    loaders = data.cifar10_loaders(profile, augment=True, device=device)
    history = fit(model, *loaders, epochs=profile.epochs, optimizer=default_optimizer(model, lr=0.05),
                  device=device, quiet=True)
    return Outcome(model, history, loaders[1], _test_split(loaders[1], profile))


def ch5_pair_member(depth: int, residual: bool):
    def run(profile: Profile, device, root: Path) -> Outcome:
        names = ("PlainBlock", "make_stage", "he_init", "cifar_net", "train_pair_member")
        ns = chapter_definitions("05_resnet", names, root, profile=profile, device=device)
        block = ns["BasicBlock"] if residual else ns["PlainBlock"]
        with contextlib.redirect_stdout(io.StringIO()):
            model, history = ns["train_pair_member"](depth, block)
        _, test_loader = data.cifar10_loaders(profile, augment=False, device=device)
        return Outcome(model, history, test_loader, _test_split(test_loader, profile))
    run.__doc__ = f"Chapter 5's {'ResNet' if residual else 'plain'}-{depth} (its train_pair_member)."
    return run


def speedrun(profile: Profile, device, root: Path) -> Outcome:
    """Chapter 6's speed run (course_utils.speedrun's final recipe, as the profile scales it)."""
    from dataclasses import asdict

    from course_utils import speedrun as sr
    model, result = sr.speed_run(profile, device, quiet=True)
    per_class = result.recipe.test_per_class
    what = ("test split, all 10,000 images" if per_class is None
            else f"the recipe's test subset ({10 * per_class:,} images, seed 0)")
    return Outcome(model, result.history, None, what, test_accuracy=result.test_acc,
                   test_images=10 * (per_class or 1000),
                   extra={"test_accuracy_tta": result.test_acc_tta, "tta": result.recipe.tta,
                          "recipe": asdict(result.recipe), "wall_s_own_clock": result.wall_s,
                          "fit_step": "not fit: the speed run's own training loop"})


# Assignments first: their records set the thresholds, so a session that runs out of time
# should still have them. Then the cheap chapter runs, the 56-layer pair last.
RUNS: dict[str, Callable[[Profile, object, Path], Outcome]] = {
    "a4_resnet": assignment_run("a4_resnet"),
    "a1_vgg": assignment_run("a1_vgg"),
    "a3_inception": assignment_run("a3_inception"),
    "a2_finetune": assignment_run("a2_finetune"),
    "speedrun": speedrun,
    "ch3_feature_extraction": ch3_feature_extraction,
    "ch3_finetune": ch3_finetune,
    "ch5_plain20": ch5_pair_member(20, residual=False),
    "ch5_resnet20": ch5_pair_member(20, residual=True),
    "ch2_vgg11": ch2_vgg11,
    "ch4_googlenet": ch4_googlenet,
    "ch5_plain56": ch5_pair_member(56, residual=False),
    "ch5_resnet56": ch5_pair_member(56, residual=True),
}
assert set(RUNS) == set(records.RUN_NAMES)


# --- recording --------------------------------------------------------------------------------

def git_commit(root: Path) -> str:
    """``HEAD``'s hash, ``+dirty`` when the working tree differs; ``unknown`` without git."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                              text=True, timeout=30, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=30).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _rounded(value):
    """Floats to 6 significant digits, inside dicts and lists too (records are read by people)."""
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(v) for v in value]
    return value


def record_run(name: str, profile: Profile, device, root: Path, commit: str,
               checkpoint_dir: Path | None = None) -> records.Record:
    """Train run ``name`` in ``profile`` and return its record (saving weights if small enough)."""
    device = torch.device(device)
    data.load_tensors(True), data.load_tensors(False)   # decoding is not training: before the clock
    _sync(device)
    start = time.perf_counter()
    outcome = RUNS[name](profile, device, root)
    if outcome.test_accuracy is None:
        _, outcome.test_accuracy = evaluate(outcome.model, outcome.test_loader, device)
    _sync(device)
    wall = time.perf_counter() - start
    images = outcome.test_images or sum(len(y) for _, y in outcome.test_loader)
    history = {k: [round(v, 6) for v in getattr(outcome.history, k)] for k in records.HISTORY_KEYS}
    record = records.Record(
        name=name, profile=profile.name, device=records.device_name(device),
        data_variant=records.data_variant(), test_accuracy=round(outcome.test_accuracy, 6),
        test_images=images, test_set=outcome.test_set, epochs=outcome.history.epochs,
        wall_s=round(wall, 2), history=history, torch=torch.__version__, commit=commit,
        date=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        command=f"python -m course_tools.results --profile {profile.name} --only {name}",
        extra=_rounded({"fit_step": outcome.history.step_path, **outcome.extra,
                        **({"torch_threads": torch.get_num_threads()} if device.type == "cpu" else {})}))
    if checkpoint_dir is not None:
        buffer = io.BytesIO()
        torch.save({k: v.cpu() for k, v in outcome.model.state_dict().items()}, buffer)
        if buffer.tell() <= CHECKPOINT_MAX_BYTES:
            path = checkpoint_dir / profile.name / f"{name}.pt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(buffer.getvalue())
            record.checkpoint = path.name
    return record


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_tools.results", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", help="smoke | cpu | full (default: $COURSE_PROFILE, else full on CUDA / cpu)")
    parser.add_argument("--only", help=f"comma-separated run names (default: all): {', '.join(RUNS)}")
    parser.add_argument("--out", type=Path, default=records.RECORDS_DIR,
                        help="records directory (default: the package's course_utils/records)")
    parser.add_argument("--root", type=Path, default=Path.cwd(),
                        help="course repository root, holding book/ and solutions/ (default: .)")
    parser.add_argument("--commit", help="commit to record (default: git rev-parse HEAD in --root)")
    parser.add_argument("--device", help="cuda | cpu (default: CUDA when available)")
    parser.add_argument("--no-checkpoints", action="store_true",
                        help=f"do not save weights (saved when <= {CHECKPOINT_MAX_BYTES:,} bytes, full profile only)")
    parser.add_argument("--list", action="store_true", help="print the runs and exit")
    args = parser.parse_args(argv)
    if args.list:
        for name, run in RUNS.items():
            print(f"{name:24s} {(run.__doc__ or '').strip().splitlines()[0]}")
        return 0
    names = [n.strip() for n in (args.only or ",".join(RUNS)).split(",") if n.strip()]
    unknown = set(names) - set(RUNS)
    if unknown:
        parser.error(f"unknown run(s) {sorted(unknown)}; choose from {', '.join(RUNS)}")
    profile, device = get_profile(args.profile), get_device(args.device)
    commit = args.commit or git_commit(args.root)
    keep_weights = profile.name == "full" and not args.no_checkpoints
    print(f"results: profile {profile.name}, {records.device_name(device)}, data {records.data_variant()}, "
          f"torch {torch.__version__}, commit {commit}; runs: {', '.join(names)}", flush=True)
    failed = []
    for name in (n for n in RUNS if n in names):
        try:
            record = record_run(name, profile, device, args.root.resolve(), commit,
                                args.out if keep_weights else None)
        except Exception:
            failed.append(name)
            print(f"{name}: FAILED\n{traceback.format_exc()}", flush=True)
            continue
        path = records.save(record, args.out)
        print(f"{name}: {record.summary()} -> {path}", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
