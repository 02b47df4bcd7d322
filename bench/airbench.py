"""Chapter 6's final recipe beside airbench94, and the GPU measurement of the whole ladder.

airbench94 (K. Jordan, ``pip install airbench``, an optional dependency: the ``bench``
extra) is the reference: one readable file that trains CIFAR-10 to 94 % on lossless data in
a few seconds. Both run in one process, on the same CIFAR-10 tensors (whatever
``$COURSE_DATA_DIR`` holds: say which variant a figure is for), alternating seed by seed,
each timed from data on the GPU to the test accuracy with its own test-time augmentation::

    python -m bench --only airbench                  # the row of `make bench`
    python -m bench.airbench compare --seeds 5       # the same, more seeds
    python -m bench.airbench ladder --out DIR        # every rung of the ladder, as records

``ladder`` is the one call that measures Chapter 6 on a GPU: every rung (seed 0 first,
then more seeds while ``--budget-s`` lasts) and the comparison with airbench94, writing one
run record per rung (``course_utils.records``) under ``DIR/full/`` as it goes, so that a run
stopped early still leaves what it measured. Copy them to ``course_utils/records/full/``.
"""
from __future__ import annotations

import argparse
import datetime
import math
import os
import shlex
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import torch

from course_utils import speedrun
from course_utils.data import CLASSES
from course_utils.speedrun import FINAL, LADDER

ROOT = Path(__file__).resolve().parent.parent
AIRBENCH_RECORD = "speedrun_airbench94"
INSTALL_HINT = "pip install -e '.[bench]' (or its wheel, offline)"


def why_not() -> str | None:
    """Why the comparison cannot run here, or None when it can."""
    if not torch.cuda.is_available():
        return "needs CUDA (airbench94 and the final recipe are GPU runs)"
    try:
        import airbench  # noqa: F401
    except ImportError:
        return f"airbench is not installed: {INSTALL_HINT}"
    return None


# --- the two contestants --------------------------------------------------------------

@contextmanager
def _cwd(path: Path):
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


class Airbench94:
    """airbench94 on our tensors.

    airbench reads ``<dir>/train.pt`` and ``<dir>/test.pt`` (uint8 N×H×W×C images, labels,
    class names) and builds its test loader from the relative path ``cifar10``; both files
    are written once from the tensors given, in a directory it then runs in.
    """

    def __init__(self, data: dict):
        import airbench
        self.airbench = airbench
        self.tmp = tempfile.TemporaryDirectory(prefix="airbench_")
        self.dir = Path(self.tmp.name) / "cifar10"
        self.dir.mkdir()
        for split, (images, labels) in (("train", data["train"]), ("test", data["test"])):
            torch.save({"images": images.cpu().permute(0, 2, 3, 1).contiguous(),
                        "labels": labels.cpu(),
                        "classes": list(CLASSES)}, self.dir / f"{split}.pt")
        with _cwd(self.dir.parent):
            self.train_loader = airbench.CifarLoader(
                "cifar10", train=True, batch_size=1024,
                aug={"flip": True, "translate": 2}, altflip=True)
            self.test_loader = airbench.CifarLoader("cifar10", train=False, batch_size=2000)

    def run(self, seed: int, epochs: float | None = None) -> tuple[float, float]:
        """(test accuracy with its TTA, seconds) of one airbench94 run."""
        torch.manual_seed(seed)
        kwargs = {} if epochs is None else {"epochs": epochs}
        with _cwd(self.dir.parent):
            torch.cuda.synchronize()
            start = time.perf_counter()
            model = self.airbench.train94(self.train_loader, verbose=False, **kwargs)
            accuracy = self.airbench.evaluate(model, self.test_loader, tta_level=2)
            torch.cuda.synchronize()
            return accuracy, time.perf_counter() - start

    def close(self):
        self.tmp.cleanup()


def _sync(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def ours(data: dict, seed: int, recipe=FINAL, eval_each_epoch=False, device="cuda"):
    """(result, seconds) of one run of ``recipe``, timed like airbench94's."""
    _sync(device)
    start = time.perf_counter()
    _, result = speedrun.train(recipe, data, device, seed=seed,
                               eval_each_epoch=eval_each_epoch)
    _sync(device)
    return result, time.perf_counter() - start


def gpu_data(recipe=FINAL, device="cuda") -> tuple[dict, dict]:
    """The recipe's data (the whole split in ``full``) on the CPU and the same tensors on
    ``device``."""
    host = speedrun.load_data(recipe)
    on_device = {k: tuple(t.to(device) for t in v) for k, v in host.items()}
    return host, on_device


def spread(values: list[float]) -> tuple[float, float]:
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def summary_line(label: str, accuracies: list[float], seconds: list[float]) -> str:
    (acc, acc_sd), (sec, sec_sd) = spread(accuracies), spread(seconds)
    return (f"{label}: {100 * acc:.2f} ± {100 * acc_sd:.2f} % in {sec:.2f} ± {sec_sd:.2f} s "
            f"(n={len(seconds)}, {min(seconds):.2f}–{max(seconds):.2f} s)")


def verdict(ours_acc, ours_s, ref_acc, ref_s) -> tuple[float, bool, str]:
    """The time ratio (ours / airbench94) and whether our mean accuracy matches theirs."""
    ratio = statistics.mean(ours_s) / statistics.mean(ref_s)
    matched = statistics.mean(ours_acc) >= statistics.mean(ref_acc)
    gap = 100 * (statistics.mean(ours_acc) - statistics.mean(ref_acc))
    words = (f"{ratio:.2f}× airbench94's time, accuracy "
             f"{'matched' if matched else 'NOT matched'} ({gap:+.2f} points)")
    return ratio, matched, words


def compare(seeds: int = 3, data=None, report=print) -> dict:
    """Final recipe and airbench94, ``seeds`` runs each, alternating, after a warm-up each."""
    host, device = data or gpu_data()
    reference = Airbench94(device)
    try:
        ours(device, seed=10_000, recipe=replace(FINAL, epochs=1))     # warm-up: cuDNN
        reference.run(seed=10_000, epochs=1)
        runs = {"ours": [], "airbench94": []}
        for seed in range(seeds):
            order = ("ours", "airbench94") if seed % 2 == 0 else ("airbench94", "ours")
            for who in order:
                if who == "ours":
                    result, seconds = ours(device, seed)
                    runs["ours"].append((result.test_acc_tta, seconds, result))
                else:
                    runs["airbench94"].append((*reference.run(seed), None))
                accuracy, seconds = runs[who][-1][:2]
                report(f"  {who} seed {seed}: {100 * accuracy:.2f} % in {seconds:.2f} s")
    finally:
        reference.close()
    acc = {k: [r[0] for r in v] for k, v in runs.items()}
    sec = {k: [r[1] for r in v] for k, v in runs.items()}
    ratio, matched, words = verdict(acc["ours"], sec["ours"], acc["airbench94"],
                                    sec["airbench94"])
    return {"runs": runs, "accuracy": acc, "seconds": sec, "ratio": ratio,
            "matched": matched, "words": words}


def bench_rows(profile) -> list[tuple[str, str, str]]:
    """``(what, value, detail)`` rows for ``python -m bench``; "n/a: why" where it cannot."""
    what = "final recipe vs airbench94, time ratio"
    reason = why_not()
    if reason:
        return [(what, "n/a", f"n/a: {reason}")]
    from course_utils.records import data_variant
    seeds = 1 if profile.name == "smoke" else 3
    out = compare(seeds, report=lambda line: print(line, flush=True))
    detail = "; ".join([summary_line("ours", out["accuracy"]["ours"], out["seconds"]["ours"]),
                        summary_line("airbench94", out["accuracy"]["airbench94"],
                                     out["seconds"]["airbench94"]),
                        out["words"], f"{torch.cuda.get_device_name()}, {data_variant()}"])
    return [(what, f"{out['ratio']:.2f}×", detail)]


# --- the ladder as records ------------------------------------------------------------

def _commit() -> str:
    """``$COURSE_COMMIT`` (a device copy may have no .git), else git's ``HEAD``."""
    if os.environ.get("COURSE_COMMIT"):
        return os.environ["COURSE_COMMIT"]
    from course_tools.results import git_commit
    return git_commit(ROOT)


def make_record(name: str, results: list, seconds: list[float], recipe, extra: dict,
                profile: str = "full", device="cuda"):
    """A run record from one or more seeds (means in the main fields, seeds in ``extra``).

    ``results``: ``(SpeedRunResult or None, test accuracy)`` per seed.
    """
    from course_utils import records
    per_class = recipe.test_per_class
    test_images = 10 * (per_class or 1000)
    test_set = ("test split, all 10,000 images" if per_class is None
                else f"stratified test subset, {test_images:,} images (seed 0)")
    accuracy = [r.test_acc_tta if r is not None else a for r, a in results]
    first = next((r for r, _ in results if r is not None), None)
    history = {}
    if first is not None:
        h = first.history.as_dict()
        history = {k: h.get(k, []) for k in records.HISTORY_KEYS}
    acc_mean, acc_sd = spread(accuracy)
    sec_mean, sec_sd = spread(seconds)
    extra = dict(extra, seeds=list(range(len(seconds))),
                 test_accuracy_per_seed=accuracy, wall_s_per_seed=seconds,
                 test_accuracy_std=acc_sd, wall_s_std=sec_sd)
    if first is not None:
        extra["test_accuracy_without_tta_per_seed"] = [r.test_acc for r, _ in results]
    return records.Record(
        name=name, profile=profile, device=records.device_name(device),
        data_variant=records.data_variant(), test_accuracy=acc_mean,
        test_images=test_images, test_set=test_set, epochs=int(math.ceil(recipe.epochs)),
        wall_s=sec_mean, history=history, torch=torch.__version__, commit=_commit(),
        date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        command="python -m bench.airbench " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
        extra=extra)


def measure_ladder(out: Path, seeds: int = 3, budget_s: float = 480, with_airbench=True,
                   report=print, profile: str = "full", device="cuda",
                   rungs: list[int] | None = None) -> dict[int, list]:
    """Every rung (or those in ``rungs``), seed 0 first, then more seeds while the budget
    lasts; records under ``out/<profile>/``. With airbench installed (and CUDA), the final
    rung's seeds are its comparison runs. ``profile="smoke", device="cpu"`` is a dry run."""
    from course_utils import records
    t0 = time.perf_counter()
    recipes = {k: speedrun.scaled(LADDER[k].recipe, profile)
               for k in (range(len(LADDER)) if rungs is None else rungs)}
    host, on_device = gpu_data(next(iter(recipes.values())), device)
    runs: dict[int, list] = {k: [] for k in recipes}   # (result, seconds) per seed
    last = len(LADDER) - 1

    def data_for(recipe):
        return on_device if recipe.data_on_device else host

    def save(k):
        rung = LADDER[k]
        results = [(r, r.test_acc_tta) for r, _ in runs[k]]
        record = make_record(speedrun.record_name(k), results,
                             [r.wall_s for r, _ in runs[k]], recipes[k],
                             {"rung": k, "key": rung.key, "idea": rung.idea,
                              "recipe": recipes[k].as_dict()}, profile, device)
        records.save(record, out)

    def run(k, seed):
        result, seconds = ours(data_for(recipes[k]), seed, recipes[k],
                               eval_each_epoch=seed == 0, device=device)
        runs[k].append((result, seconds))
        save(k)
        report(f"  rung {k:2d} {LADDER[k].key:<20} seed {seed}: "
               f"{100 * result.test_acc_tta:.2f} % in {result.wall_s:.2f} s "
               f"[{time.perf_counter() - t0:.0f} s elapsed]")

    report("warm-up: one epoch of every rung (cuDNN picks its kernels)")
    for k, recipe in recipes.items():
        ours(data_for(recipe), 10_000, replace(recipe, epochs=1), device=device)
    comparison = None
    if with_airbench and last in recipes and profile == "full" and why_not() is None:
        report(f"final rung and airbench94, {seeds} seeds each, alternating")
        comparison = compare(seeds, (host, on_device), report)
        runs[last] = [(r[2], r[1]) for r in comparison["runs"]["ours"]]
        save(last)
        ref = comparison["runs"]["airbench94"]
        record = make_record(AIRBENCH_RECORD, [(None, a) for a, _, _ in ref],
                             [s for _, s, _ in ref], replace(FINAL, epochs=10),
                             {"reference": "airbench94 (pip airbench), train94 + evaluate "
                                           "with tta_level=2, same tensors, same process",
                              "time_ratio_final_over_airbench94": comparison["ratio"],
                              "accuracy_matched": comparison["matched"]})
        records.save(record, out)
    report("ladder, seed 0, last rung first (the early rungs are the slow ones)")
    for k in sorted(recipes, reverse=True):
        if not runs[k]:
            run(k, 0)
    cost = {k: statistics.mean(r.wall_s for r, _ in runs[k]) + 1.0 for k in runs}
    for seed in range(1, seeds):
        for k in sorted(runs, key=cost.get):        # cheapest first
            if len(runs[k]) > seed:
                continue
            if time.perf_counter() - t0 + cost[k] > budget_s:
                report(f"  rung {k} seed {seed}: skipped, the budget ({budget_s:.0f} s) "
                       f"would run out")
                continue
            run(k, seed)
    rows = [dict(k=k, idea=LADDER[k].idea, epochs=recipes[k].epochs,
                 accuracy=statistics.mean(r.test_acc_tta for r, _ in runs[k]),
                 wall_s=statistics.mean(r.wall_s for r, _ in runs[k]))
            for k in runs if runs[k]]
    report(speedrun.ladder_table(rows))
    if comparison:
        report(comparison["words"])
    report(f"records written under {out}/{profile}/ "
           f"({time.perf_counter() - t0:.0f} s in all)")
    return runs


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.airbench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    cmp_ = sub.add_parser("compare", help="final recipe vs airbench94, side by side")
    cmp_.add_argument("--seeds", type=int, default=3)
    lad = sub.add_parser("ladder", help="measure every rung; write run records")
    lad.add_argument("--out", required=True, type=Path, help="records go to OUT/full/")
    lad.add_argument("--seeds", type=int, default=3)
    lad.add_argument("--budget-s", type=float, default=480,
                     help="stop adding seeds once this much time has gone")
    lad.add_argument("--no-airbench", action="store_true")
    lad.add_argument("--profile", default="full",
                     help="full (default); smoke or cpu with --device cpu: a dry run")
    lad.add_argument("--device", default="cuda")
    args = parser.parse_args(argv)
    dry_run = args.command == "ladder" and args.device == "cpu"
    if not torch.cuda.is_available() and not dry_run:
        print("n/a: needs CUDA: the ladder and the comparison are GPU measurements")
        return 0
    where = "CPU (dry run)" if dry_run else torch.cuda.get_device_name()
    print(f"{where}, torch {torch.__version__}", flush=True)
    if args.command == "compare":
        reason = why_not()
        if reason:
            print(f"n/a: {reason}")
            return 0
        out = compare(args.seeds, report=lambda line: print(line, flush=True))
        print(summary_line("ours", out["accuracy"]["ours"], out["seconds"]["ours"]))
        print(summary_line("airbench94", out["accuracy"]["airbench94"],
                           out["seconds"]["airbench94"]))
        print(out["words"])
        return 0
    measure_ladder(args.out, args.seeds, args.budget_s, not args.no_airbench,
                   report=lambda line: print(line, flush=True), profile=args.profile,
                   device=args.device)
    return 0


if __name__ == "__main__":
    sys.exit(main())
