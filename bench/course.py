"""Course-level timings: chapters executed, submissions autograded, the site built, the speed run."""
from __future__ import annotations

import importlib.util
import inspect
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from course_utils.config import Profile

ROOT = Path(__file__).resolve().parent.parent
STUB_MARKER = "This chapter is being written"


def _load_test_helper(name: str):
    """``tests/<name>.py`` as a module, or ``None`` when it does not exist (yet)."""
    path = ROOT / "tests" / f"{name}.py"
    if not path.exists():
        return None
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module          # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


# --- chapters -------------------------------------------------------------------------------

def chapter_paths(book: Path = ROOT / "book") -> list[Path]:
    return sorted(book.glob("0[0-9]_*.ipynb"))


def is_stub(nb) -> bool:
    """A placeholder chapter: it says it is being written, or runs no more than the setup cells."""
    says_so = any(STUB_MARKER in c.source for c in nb.cells if c.cell_type == "markdown")
    return says_so or sum(c.cell_type == "code" for c in nb.cells) <= 2


def execute(path: Path, profile: str, timeout: int = 900) -> float:
    """Wall seconds to execute ``path`` top to bottom in a fresh kernel, in ``profile``."""
    runner = _load_test_helper("notebook_runner")
    if runner is not None:
        return runner.execute_notebook(path, profile=profile, timeout=timeout)[1]
    import nbformat
    from nbclient import NotebookClient
    nb = nbformat.read(path, as_version=4)
    env = dict(os.environ)
    os.environ["COURSE_PROFILE"] = profile
    try:
        start = time.perf_counter()
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        return time.perf_counter() - start
    finally:
        os.environ.clear()
        os.environ.update(env)


def chapter_times(profile: Profile, paths: list[Path] | None = None) -> list[tuple[str, float | None, str]]:
    """``(chapter, seconds or None, note)`` for each chapter; stubs are skipped, failures noted."""
    import nbformat   # slow to import (jsonschema): only when chapters are asked for
    rows = []
    for path in chapter_paths() if paths is None else paths:
        if is_stub(nbformat.read(path, as_version=4)):
            rows.append((path.stem, None, "skipped: still a stub"))
            continue
        try:
            rows.append((path.stem, execute(path, profile.name), ""))
        except Exception as exc:   # a broken chapter is a row, not the end of the bench
            rows.append((path.stem, None, f"failed: {type(exc).__name__}: {str(exc).strip().splitlines()[-1][:80]}"))
    return rows


# --- autograding ----------------------------------------------------------------------------

def autograde_times(profile: Profile, submissions: int = 2) -> list[tuple[str, float | None, str]]:
    """Seconds per submission for ``nbgrader autograde`` + feedback of the reference solution.

    Uses the round-trip harness (tests/roundtrip.py): a throwaway course, the reference
    executed once as a student would (training, not timed), then ``submissions`` copies graded
    together (timed, nbgrader's start-up shared among them).
    """
    rt = _load_test_helper("roundtrip")
    if rt is None:
        return [("autograde", None, "n/a: tests/roundtrip.py is not there yet")]
    from course_grader.course import Course
    aids = [a for a in Course(ROOT).assignment_names() if (ROOT / "assignments" / a).is_dir()]
    if not aids:
        return [("autograde", None, "n/a: no released assignment yet")]
    rows = []
    env = dict(os.environ)
    os.environ["COURSE_PROFILE"] = profile.name
    try:
        for aid in aids:
            with tempfile.TemporaryDirectory(prefix=f"bench_{aid}_") as tmp:
                tmp = Path(tmp)
                try:
                    course = rt.new_course(tmp / "course", [aid])
                    work = rt.execute_as_student(rt.make_submission(aid, release=course / "assignments"),
                                                 tmp / "work", aid, profile=profile.name)
                    start = time.perf_counter()
                    cohort = rt.grade_cohort(aid, {f"student{i}": work for i in range(submissions)}, course)
                    seconds = (time.perf_counter() - start) / submissions
                    got, best = cohort.total("student0"), sum(cohort.max_scores.values())
                    where = "without the sandbox" if rt.NO_SANDBOX else "in the grading sandbox"
                    rows.append((aid, seconds, f"{submissions} graded together {where}; reference scored "
                                               f"{got:g}/{best:g}"))
                except Exception as exc:
                    rows.append((aid, None, f"failed: {type(exc).__name__}: {str(exc)[:80]}"))
    finally:
        os.environ.clear()
        os.environ.update(env)
    return rows


# --- the site -------------------------------------------------------------------------------

def project_files(root: Path = ROOT) -> list[str]:
    """What a fresh clone would hold: tracked files and new ones git does not ignore."""
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                         cwd=root, check=True, capture_output=True, text=True).stdout
    return [f for f in out.split("\0") if f and (root / f).is_file()]


def site_times(profile: Profile) -> list[tuple[str, float | None, str]]:
    """Cold build (a fresh copy of the project, nothing cached) and the cached rebuild after it.

    A copy, so that the bench neither reads nor clears the working tree's ``book/_build``.
    """
    from course_tools import site
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_site_") as tmp:
        copy = Path(tmp) / "course"
        for rel in project_files():
            (copy / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, copy / rel)
        for what in ("cold build", "cached build"):
            start = time.perf_counter()
            result = site.build(profile.name, root=copy, capture=True, check=False)
            seconds = time.perf_counter() - start
            ok = getattr(result, "ok", True)
            rows.append((what, seconds if ok else None,
                         "" if ok else f"failed (exit {result.returncode}): {result.log.strip()[-80:]}"))
    return rows


# --- Chapter 5's speed run (CUDA) -----------------------------------------------------------

def speedrun_result(profile: Profile) -> tuple[str, str]:
    """``(value, detail)`` of Chapter 5's ResNet speed run on CUDA, else why not.

    Calls ``course_utils.speedrun.speed_run(profile)``, which returns ``(model, result)`` with
    ``test_acc``, ``test_acc_tta``, ``wall_s`` and ``device`` (a ``run`` function is accepted too).
    """
    if not torch.cuda.is_available():
        return "n/a", "needs CUDA"
    try:
        from course_utils import speedrun
    except ImportError:
        return "n/a", "course_utils.speedrun is not there yet"
    run = getattr(speedrun, "speed_run", None) or getattr(speedrun, "run", None)
    if run is None:
        return "n/a", "course_utils.speedrun has no speed_run()"
    kwargs = {"quiet": True} if "quiet" in inspect.signature(run).parameters else {}
    start = time.perf_counter()
    result = run(profile, **kwargs)
    seconds = time.perf_counter() - start
    result = result[-1] if isinstance(result, tuple) else result
    fields = result if isinstance(result, dict) else vars(result)
    acc = fields.get("test_acc_tta", fields.get("test_acc", fields.get("accuracy")))
    wall = fields.get("wall_s", fields.get("seconds", seconds))
    value = f"{acc:.2%} in {wall:.1f} s" if isinstance(acc, float) else f"{wall:.1f} s"
    detail = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                       for k, v in fields.items() if isinstance(v, (int, float, str)))
    return value, f"{detail}; {seconds:.0f} s with data loading"
