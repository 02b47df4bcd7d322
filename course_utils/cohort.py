"""Grading a whole cohort: every submission ends with a gradebook row, a score and feedback.

For each ``submitted/<student>/<aid>/`` folder, :func:`grade_cohort`

1. renames a lone notebook with another name to the assignment's name, then fingerprints the
   folder; a student already graded with the same fingerprint and profile is skipped, so a
   second run changes nothing and a killed run resumes where it stopped;
2. triages what nbgrader cannot read (empty file, invalid JSON, JSON that is not a notebook,
   no notebook, another assignment's notebook): such a submission gets a gradebook row with
   zero on every cell and a feedback page that says what was wrong;
3. autogrades the rest in a worker process (``python -m course_utils.cohort``: nbgrader's
   ``autograde`` then ``generate_feedback`` through its Python API), with the kernel from
   :mod:`course_utils.kernel` (memory limit) and the per-cell timeout from nbgrader_config.py;
   if nbgrader gives up (the kernel died, hung, or the student's run exceeded its time budget)
   the submission is recorded like a triaged one, with the reason;
4. records the result. With SQLite, workers autograde against a private copy of the gradebook
   and only this process writes to ``gradebook.db``, one student at a time under a lock, in
   short transactions (a kill leaves it intact); with a server database (PostgreSQL,
   ``COURSE_DB_URL``) workers write to it directly.

A per-student state file (``reports/<aid>/grading/<student>.json``) records the fingerprint,
status, message, score, profile and limits; it is written last, so a student counts as
graded only once the gradebook holds their result. Logs: ``reports/<aid>/logs/<student>.log``.
"""
from __future__ import annotations

import ctypes
import datetime as dt
import fcntl
import hashlib
import html
import json
import os
import queue
import select
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from . import kernel
from .collect import Student, load_roster

GRADED = "graded"
WEIGHTS_GLOB = "*.pt"  # trained weights travel with a submission
FAILED = "failed"
MISSING = "missing"
STATUS_TEXT = {
    GRADED: "graded",
    "empty": "empty notebook file",
    "invalid_json": "notebook file is not valid JSON",
    "not_notebook": "file is not a Jupyter notebook",
    "no_notebook": "no notebook in the submission",
    "wrong_assignment": "notebook of another assignment",
    FAILED: "grading stopped",
    MISSING: "no submission",
    "error": "NOT graded (internal error; run course grade again)",
}


def load_config(root: Path):
    """The traitlets config nbgrader reads from ``<root>/nbgrader_config.py`` (env overrides applied)."""
    from traitlets.config.loader import PyFileConfigLoader
    return PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def sqlite_path(url: str) -> Path:
    return Path(url.split("sqlite:///", 1)[1].split("?", 1)[0])


@dataclass
class Settings:
    """What a grading run uses; recorded with every student's result and in the report."""

    root: Path
    assignment: str
    db_url: str
    workers: int = 1
    profile: str = "cpu"
    cell_timeout: int = 300
    memory_gb: float = 6.0
    student_timeout: float = 1320.0
    notebook: str = ""

    @classmethod
    def for_run(cls, root: Path, assignment: str, db_url: str, workers: int = 1) -> "Settings":
        cfg = load_config(root)
        timeout = int(cfg.Execute.timeout)
        profile = os.environ.get("COURSE_PROFILE") or _default_profile()
        release = Path(root) / "assignments" / assignment
        notebooks = sorted(p.stem for p in release.glob("*.ipynb"))
        if len(notebooks) != 1:
            raise SystemExit(f"{release}: expected exactly one released notebook, found {notebooks or 'none'} "
                             f"(run `course release {assignment}` first)")
        # A student's whole run: a handful of slow cells, not every cell at its limit.
        budget = float(os.environ.get("COURSE_STUDENT_TIMEOUT") or 4 * timeout + 120)
        return cls(Path(root), assignment, db_url, max(1, workers), profile, timeout,
                   kernel.memory_limit_gb(profile), budget, notebooks[0])

    @property
    def reports(self) -> Path:
        return self.root / "reports" / self.assignment

    def folder(self, student: str) -> Path:
        return self.root / "submitted" / student / self.assignment


def _default_profile() -> str:
    from .config import default_profile_name
    return default_profile_name()


@dataclass
class Outcome:
    student: str
    status: str
    message: str = ""
    score: float = 0.0
    max_score: float = 0.0
    seconds: float = 0.0
    fingerprint: str = ""
    profile: str = ""
    cell_timeout: int = 0
    memory_gb: float = 0.0
    graded_at: str = ""
    sandbox: str = ""  # "on": graded in the grading sandbox; "off": --unsafe-no-sandbox
    skipped: bool = field(default=False, compare=False)

    def line(self) -> str:
        what = STATUS_TEXT.get(self.status, self.status)
        text = f"{self.student}: {self.score:g}/{self.max_score:g} {what}"
        if self.skipped:
            return text + " (already graded, skipped)"
        text += f" ({self.seconds:.1f} s)"
        return text + (f" - {self.message}" if self.message else "")


# --- submissions on disk -----------------------------------------------------------------------

def submitted_students(root: Path, assignment: str) -> list[str]:
    base = Path(root) / "submitted"
    return sorted(p.parent.name for p in base.glob(f"*/{assignment}") if p.is_dir()) if base.is_dir() else []


def normalise(folder: Path, notebook: str) -> str:
    """Rename a lone notebook with another name to ``<notebook>.ipynb``; return a note or ''."""
    target = folder / f"{notebook}.ipynb"
    if target.exists():
        return ""
    others = sorted((p for p in folder.glob("*.ipynb") if p.is_file()), key=lambda p: p.stat().st_mtime)
    if not others:
        return ""
    newest = others[-1]
    newest.rename(target)
    return f"your notebook {newest.name!r} was graded as {target.name!r}"


def fingerprint(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and ".ipynb_checkpoints" not in p.parts):
        h.update(path.relative_to(folder).as_posix().encode() + b"\0")
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        h.update(b"\0")
    return h.hexdigest()


def grade_ids(nb) -> set[str]:
    return {c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in nb.get("cells", [])} - {None}


def released_ids(root: Path) -> dict[str, set[str]]:
    """``{assignment: grade_ids of its released notebook(s)}`` for every released assignment."""
    ids: dict[str, set[str]] = {}
    for path in sorted((Path(root) / "assignments").glob("*/*.ipynb")):
        try:
            ids.setdefault(path.parent.name, set()).update(grade_ids(nbformat.read(path, as_version=4)))
        except Exception:  # noqa: BLE001 - a broken release elsewhere must not stop this one
            continue
    return ids


def inspect_submission(folder: Path, notebook: str, assignment: str,
                       releases: dict[str, set[str]]) -> tuple[str, str]:
    """``("ok", "")`` for a notebook nbgrader can grade, else ``(status, what the student reads)``."""
    path = folder / f"{notebook}.ipynb"
    if not path.exists():
        found = sorted(p.name for p in folder.iterdir() if p.is_file() and p.name != "timestamp.txt")
        return "no_notebook", (f"no notebook was found in your submission (files: {', '.join(found) or 'none'}). "
                               f"Submit {notebook}.ipynb.")
    raw = path.read_bytes()
    if not raw.strip():
        return "empty", (f"your notebook file is empty ({len(raw)} bytes), so there was nothing to grade. "
                         "Hint: save the notebook in Jupyter (File > Save) before downloading and submitting it.")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return "invalid_json", (f"your notebook file is not valid notebook JSON ({str(exc)[:120]}), so it "
                                "cannot be opened or graded. Hint: a notebook edited in a text editor or cut "
                                "short while uploading looks like this; check that it opens in Jupyter, then submit again.")
    if not (isinstance(data, dict) and isinstance(data.get("nbformat"), int)
            and isinstance(data.get("cells", data.get("worksheets")), list)):
        return "not_notebook", ("the file you submitted is JSON but not a Jupyter notebook (no 'nbformat' "
                                "and 'cells'), so it cannot be graded. Hint: submit the .ipynb file you worked in.")
    try:
        nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
    except Exception as exc:  # noqa: BLE001 - any reader error means the same to the student
        return "not_notebook", f"the file could not be read as a Jupyter notebook ({str(exc)[:160]})."
    # Assignments share some cell ids (setup, written answers): a notebook belongs to the one
    # whose cells it has most of, and must have at least one of this assignment's.
    ids = grade_ids(nb)
    overlap = {a: len(ids & other) for a, other in releases.items()}
    mine = overlap.get(assignment, 0)
    looks_like = [a for a, n in sorted(overlap.items()) if a != assignment and n > mine]
    if assignment in releases and (mine == 0 or looks_like):
        guess = f" It looks like the notebook of {', '.join(looks_like)}." if looks_like else ""
        found = ("none of its graded or answer cells are there" if mine == 0 else
                 f"it has {mine} of the {len(releases[assignment])} cells of {assignment}, fewer than of another assignment")
        return "wrong_assignment", (f"this notebook does not contain the cells of {assignment}: {found}."
                                    f"{guess} Hint: submit the {assignment} "
                                    f"notebook you downloaded and filled in; code pasted into a new notebook "
                                    f"cannot be graded.")
    return "ok", ""


# --- the gradebook -----------------------------------------------------------------------------

def _timestamp(folder: Path):
    from nbgrader.utils import parse_utc
    stamp = folder / "timestamp.txt"
    try:
        return parse_utc(stamp.read_text().strip()) if stamp.exists() else None
    except Exception:  # noqa: BLE001 - a bad timestamp file is not worth failing a student for
        return None


def ensure_assignment(db_url: str, assignment: str) -> None:
    from nbgrader.api import Gradebook, MissingEntry
    with Gradebook(db_url) as gb:
        try:
            gb.find_assignment(assignment)
        except MissingEntry:
            raise SystemExit(f"{assignment} is not in the gradebook {db_url}: run `course release "
                             f"{assignment}` first (with the same COURSE_DB_URL)") from None


def sync_roster(db_url: str, roster: list[Student]) -> None:
    from nbgrader.api import Gradebook
    if not roster:
        return
    with Gradebook(db_url) as gb:
        for s in roster:
            gb.update_or_create_student(s.student_id, **s.gradebook_fields())


def submission_score(db_url: str, assignment: str, student: str) -> tuple[float, float]:
    from nbgrader.api import Gradebook
    with Gradebook(db_url) as gb:
        sub = gb.find_submission(assignment, student)
        return float(sub.score), float(sub.max_score)


def graded_students(db_url: str, assignment: str) -> set[str]:
    from nbgrader.api import Gradebook
    with Gradebook(db_url) as gb:
        return {s.student_id for s in gb.assignment_submissions(assignment)}


def record_zero(db_url: str, assignment: str, student: str, folder: Path, fields: dict) -> None:
    """A submission row with zero on every cell (nothing could be graded)."""
    from nbgrader.api import Gradebook
    with Gradebook(db_url) as gb:
        gb.update_or_create_student(student, **fields)
        stamp = _timestamp(folder)
        sub = gb.update_or_create_submission(assignment, student, **({"timestamp": stamp} if stamp else {}))
        for nb in sub.notebooks:
            for grade in nb.grades:
                grade.auto_score, grade.manual_score, grade.needs_manual_grade = 0.0, None, False
            for comment in nb.comments:
                comment.auto_comment = None
        gb.db.commit()


def copy_autogrades(src_url: str, dst_url: str, assignment: str, student: str, fields: dict) -> None:
    """Copy one student's autograder results (not manual grades) from ``src_url`` into ``dst_url``."""
    from nbgrader.api import Gradebook
    with Gradebook(src_url) as src, Gradebook(dst_url) as dst:
        sub = src.find_submission(assignment, student)
        dst.update_or_create_student(student, **fields)
        dst.update_or_create_submission(assignment, student, **({"timestamp": sub.timestamp} if sub.timestamp else {}))
        for nb in sub.notebooks:
            dnb = dst.find_submission_notebook(nb.name, assignment, student)
            dnb.late_submission_penalty = nb.late_submission_penalty
            for g in nb.grades:
                d = dst.find_grade(g.name, nb.name, assignment, student)
                d.auto_score = g.auto_score
                d.needs_manual_grade = d.manual_score is not None or g.needs_manual_grade
            for c in nb.comments:
                dst.find_comment(c.name, nb.name, assignment, student).auto_comment = c.auto_comment
        dst.db.commit()


def snapshot(db_url: str, dest: Path) -> str:
    """A consistent copy of a SQLite gradebook (the backup API), as a db_url."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.unlink(missing_ok=True)
    src = sqlite3.connect(sqlite_path(db_url))
    out = sqlite3.connect(dest)
    try:
        src.backup(out)
    finally:
        out.close()
        src.close()
    return f"sqlite:///{dest}"


def integrity_check(db_url: str) -> str:
    con = sqlite3.connect(sqlite_path(db_url))
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


# --- feedback for what nbgrader could not grade ------------------------------------------------

def write_feedback_page(path: Path, assignment: str, student: str, status: str, message: str,
                        score: float, max_score: float) -> Path:
    """A plain feedback page: what happened to the submission, the score, what to do."""
    path.parent.mkdir(parents=True, exist_ok=True)
    title = f"{assignment}: feedback for {student}"
    if status == GRADED:
        what = "Your notebook was graded, but the detailed feedback page could not be produced"
        after = "Ask your instructor for the details of each check."
    else:
        what = f"Your submission could not be graded: {STATUS_TEXT.get(status, status)}"
        after = ("Every check of the assignment scored 0. If you can still submit, fix this and submit "
                 "again; otherwise show this page to your instructor.")
    body = (f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>\n"
            f"<body style='font-family: sans-serif; max-width: 48em; margin: 2em auto'>\n"
            f"<h1>{html.escape(title)}</h1>\n"
            f"<p><b>Score: {score:g} / {max_score:g}</b></p>\n"
            f"<p><b>{html.escape(what)}.</b></p>\n"
            f"<p>{html.escape(message)}</p>\n"
            f"<p>{html.escape(after)}</p>\n</body></html>\n")
    path.write_text(body, encoding="utf-8")
    return path


# --- one student ---------------------------------------------------------------------------------

def _die_with_parent(parent_pid: int) -> None:
    """Linux: get SIGKILL when the grading process dies (so a killed run leaves no workers)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent_pid:
        os._exit(3)


def explain_failure(result: dict, budget: float) -> str:
    text = (result.get("error") or "") + "\n" + (result.get("log") or "")
    if result.get("timed_out"):
        return (f"grading your notebook took longer than {budget:g} s in total and was stopped. "
                "Hint: several cells ran close to the time limit; make them faster.")
    if "DeadKernelError" in text or "Kernel died" in text:
        return ("the Python kernel running your notebook died (it crashed, exited, or was killed), so "
                "nothing after that point could be graded. Hint: look for os._exit/sys.exit calls or "
                "code that crashes Python.")
    if "UnresponsiveKernelError" in text:
        return "the kernel stopped responding and could not be interrupted (an endless loop in native code?)."
    lines = [l for l in (result.get("error") or "").strip().splitlines() if l.strip()]
    return "nbgrader could not grade this notebook" + (f": {lines[-1][:300]}" if lines else ".")


class CohortGrader:
    """One grading run of one assignment (see the module docstring)."""

    def __init__(self, settings: Settings, roster: list[Student], quiet: bool = False, mode=None):
        # nbgrader's Gradebook trips SQLAlchemy 2's autoflush warnings when it adds a submission.
        warnings.filterwarnings("ignore", message=r"Object of type <\w+> not in session")
        self.s = settings
        self.roster = {st.student_id: st for st in roster}
        self.quiet = quiet
        self.db_lock = threading.Lock()
        self.print_lock = threading.Lock()
        self.idle: queue.Queue[Worker] = queue.Queue()
        self.cancelled = threading.Event()
        self.releases = released_ids(settings.root)
        self.jupyter_dir = settings.reports / "kernelspec"
        self.mode = mode  # a course_utils.sandbox.GradingMode; None: as nbgrader_config.py says

    # where things go
    def state_path(self, student: str) -> Path:
        return self.s.reports / "grading" / f"{student}.json"

    def log_path(self, student: str) -> Path:
        return self.s.reports / "logs" / f"{student}.log"

    def feedback_dir(self, student: str) -> Path:
        return self.s.root / "feedback" / student / self.s.assignment

    def fields(self, student: str) -> dict:
        st = self.roster.get(student)
        return st.gradebook_fields() if st else {}

    def say(self, text: str) -> None:
        if not self.quiet:
            with self.print_lock:
                print(text, flush=True)

    def read_state(self, student: str) -> dict | None:
        try:
            return json.loads(self.state_path(student).read_text())
        except (OSError, ValueError):
            return None

    def write_state(self, outcome: Outcome) -> None:
        path = self.state_path(outcome.student)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({k: v for k, v in asdict(outcome).items() if k != "skipped"}, indent=1))
        os.replace(tmp, path)  # atomic: a kill leaves the old state or the new one

    # the run
    def run(self, students: list[str] | None = None, force: bool = False) -> list[Outcome]:
        s = self.s
        ensure_assignment(s.db_url, s.assignment)
        with self.db_lock:
            sync_roster(s.db_url, list(self.roster.values()))
        todo, done = [], []
        in_gradebook = graded_students(s.db_url, s.assignment)
        for student in students or submitted_students(s.root, s.assignment):
            folder = s.folder(student)
            if not folder.is_dir():
                self.say(f"{student}: no submission in {folder}")
                continue
            note = normalise(folder, s.notebook)
            fp = fingerprint(folder)
            state = self.read_state(student)
            if (not force and state and state.get("fingerprint") == fp and state.get("profile") == s.profile
                    and student in in_gradebook):
                done.append(Outcome(**{**state, "skipped": True}))
            else:
                self.state_path(student).unlink(missing_ok=True)
                todo.append((student, fp, note))
        self.say(f"grading {s.assignment}: {len(todo)} submission(s) to grade, {len(done)} already graded; "
                 f"{s.workers} worker(s), profile {s.profile}, cell timeout {s.cell_timeout} s, "
                 f"kernel memory {s.memory_gb:g} GB")
        if self.mode is not None and todo:
            self.say(self.mode.note)
        kernel.write_kernelspec(self.jupyter_dir, s.memory_gb)
        workers = [Worker(s, self.worker_env()) for _ in range(min(s.workers, len(todo)))]
        for w in workers:
            self.idle.put(w)
        total, count, started = len(todo), 0, time.monotonic()
        try:
            with ThreadPoolExecutor(max_workers=s.workers) as pool:
                futures = {pool.submit(self.grade_one, *item): item[0] for item in todo}
                try:
                    for fut in as_completed(futures):
                        count += 1
                        try:
                            outcome = fut.result()
                        except Exception as exc:  # noqa: BLE001 - one student's problem is not the cohort's
                            # Nothing was recorded for this student: the next run grades them again.
                            outcome = Outcome(futures[fut], "error", f"{type(exc).__name__}: {exc}")
                        done.append(outcome)
                        self.say(f"[{count}/{total}] {outcome.line()}")
                except BaseException:
                    self.cancelled.set()  # in-flight students record nothing: they are graded next run
                    for fut in futures:
                        fut.cancel()
                    for w in workers:
                        w.stop(kill=True)
                    raise
        finally:
            for w in workers:
                w.stop()
        if todo:
            wall = time.monotonic() - started
            each = sorted(o.seconds for o in done if not o.skipped and o.status == GRADED) or [0.0]
            self.say(f"{len(todo)} submission(s) in {wall:.0f} s: {wall / len(todo):.1f} s per submission "
                     f"with {s.workers} worker(s); autograding one took {each[len(each) // 2]:.1f} s (median)")
        return sorted(done, key=lambda o: o.student)

    def grade_one(self, student: str, fp: str, note: str = "") -> Outcome:
        s, start = self.s, time.monotonic()
        folder = s.folder(student)
        status, message = inspect_submission(folder, s.notebook, s.assignment, self.releases)
        feedback_failed = False
        if status == "ok":
            result = self.autograde(student)
            if self.cancelled.is_set():
                raise RuntimeError("grading run interrupted")
            if result.get("success"):
                status, message = GRADED, note
            elif result.get("stage") == "feedback":  # graded; only the feedback page is missing
                status, message, feedback_failed = GRADED, "nbgrader could not render the feedback page", True
            else:
                status, message = FAILED, explain_failure(result, s.student_timeout)
        with self.db_lock:
            if status != GRADED:
                record_zero(s.db_url, s.assignment, student, folder, self.fields(student))
            score, max_score = submission_score(s.db_url, s.assignment, student)
        if status != GRADED:
            for stale in (self.feedback_dir(student), s.root / "autograded" / student / s.assignment):
                _rmtree(stale)
        if status != GRADED or feedback_failed:
            write_feedback_page(self.feedback_dir(student) / f"{s.notebook}.html", s.assignment, student,
                                status, message, score, max_score)
        outcome = Outcome(student, status, message, score, max_score, time.monotonic() - start, fp,
                          s.profile, s.cell_timeout, s.memory_gb,
                          dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                          "" if self.mode is None else self.mode.state)
        self.write_state(outcome)
        return outcome

    def worker_env(self) -> dict:
        s = self.s
        bindir = str(Path(sys.executable).parent)
        threads = str(max(1, (os.cpu_count() or 1) // s.workers))
        return {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
                "JUPYTER_PATH": os.pathsep.join(filter(None, [str(self.jupyter_dir), os.environ.get("JUPYTER_PATH")])),
                "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", threads),
                "MKL_NUM_THREADS": os.environ.get("MKL_NUM_THREADS", threads),
                "COURSE_PROFILE": s.profile, "COURSE_KERNEL_MEMORY_GB": f"{s.memory_gb:g}",
                **(self.mode.env if self.mode is not None else {})}

    def autograde(self, student: str) -> dict:
        """nbgrader autograde + generate_feedback for one student, in one of the worker processes."""
        s = self.s
        private = s.reports / "tmp" / f"{student}.db"
        if is_sqlite(s.db_url):
            with self.db_lock:
                url = snapshot(s.db_url, private)
        else:
            url = s.db_url
        worker = self.idle.get()
        try:
            result = worker.grade(student, url, self.log_path(student), s.student_timeout)
        finally:
            self.idle.put(worker)
        if (result.get("success") or result.get("stage") == "feedback") and is_sqlite(s.db_url):
            with self.db_lock:
                copy_autogrades(url, s.db_url, s.assignment, student, self.fields(student))
        private.unlink(missing_ok=True)
        return result


class Worker:
    """A grading process that keeps nbgrader loaded (~8 s of imports) and grades one student at a time.

    Protocol: one JSON task per line on its stdin; it writes the result to the task's file and
    a newline on its stdout. A student's time budget is enforced here: past it, the process
    group is killed and the next task starts a fresh worker.
    """

    def __init__(self, settings: Settings, env: dict):
        self.s, self.env = settings, env
        self.proc: subprocess.Popen | None = None
        self.dir = settings.reports / "tmp"

    def start(self) -> None:
        cmd = [sys.executable, "-m", "course_utils.cohort", str(self.s.root), self.s.assignment, str(os.getpid())]
        self.proc = subprocess.Popen(cmd, cwd=self.s.root, env=self.env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0,
                                     start_new_session=True)

    def stop(self, kill: bool = False) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if not kill:
            try:
                proc.stdin.close()  # end of tasks: the worker exits on its own
                proc.wait(timeout=30)
                return
            except (OSError, subprocess.TimeoutExpired):
                pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()

    def send(self, task: dict) -> None:
        """Hand ``task`` to the worker, starting one if there is none (or it has died since)."""
        for attempt in (1, 2):
            if self.proc is None or self.proc.poll() is not None:
                self.start()
            try:
                self.proc.stdin.write((json.dumps(task) + "\n").encode())
                return
            except BrokenPipeError:
                self.stop(kill=True)
                if attempt == 2:
                    raise

    def grade(self, student: str, db_url: str, log: Path, budget: float) -> dict:
        self.dir.mkdir(parents=True, exist_ok=True)
        log.parent.mkdir(parents=True, exist_ok=True)
        log.unlink(missing_ok=True)
        result_path = self.dir / f"{student}.result.json"
        result_path.unlink(missing_ok=True)
        task = {"student": student, "db_url": db_url, "result": str(result_path), "log": str(log)}
        timed_out = done = False
        try:
            self.send(task)
            ready, _, _ = select.select([self.proc.stdout], [], [], budget)
            timed_out = not ready
            done = bool(ready) and self.proc.stdout.readline().endswith(b"\n")
        except OSError:
            pass
        if not done:  # past the budget, or the worker died (EOF): it is replaced for the next task
            code = self.proc.poll() if self.proc else None
            self.stop(kill=True)
            if timed_out:
                return {"success": False, "timed_out": True}
            if not result_path.exists():
                return {"success": False, "error": f"the grading worker exited with code {code}"}
        try:
            return json.loads(result_path.read_text())
        except (OSError, ValueError) as exc:
            return {"success": False, "error": f"no result from the grading worker ({exc})"}
        finally:
            result_path.unlink(missing_ok=True)


def _rmtree(path: Path) -> None:
    import shutil
    if path.exists():
        for p in path.rglob("*"):  # nbgrader leaves its outputs read-only
            p.chmod(0o755 if p.is_dir() else 0o644)
        shutil.rmtree(path)


@contextmanager
def course_lock(root: Path):
    """One grading run per course at a time (the lock goes when the process does, even on SIGKILL)."""
    path = Path(root) / "reports" / ".grading.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SystemExit(f"another `course grade` is running in {root} (lock: {path})") from None
        yield


def grade_cohort(assignment: str, root: Path, db_url: str, workers: int = 1, roster_path=None,
                 students: list[str] | None = None, force: bool = False, quiet: bool = False,
                 mode=None) -> list[Outcome]:
    """Grade every submission of ``assignment`` in the course at ``root`` (see the module docstring).

    ``mode`` (:func:`course_utils.sandbox.grading_mode`) says whether kernels run in the sandbox.
    """
    root = Path(root)
    settings = Settings.for_run(root, assignment, db_url, workers)
    roster = load_roster(roster_path or root / "roster.csv")
    with course_lock(root):
        for leftover in (settings.reports / "tmp").glob("*"):  # private gradebooks of a killed run
            leftover.unlink()
        return CohortGrader(settings, roster, quiet, mode).run(students, force)


# --- the worker process --------------------------------------------------------------------------

def grading_api(root: str, assignment: str):
    """nbgrader's Python API on this course, set up for ``course grade``; returns (api, ignore)."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    cfg = load_config(Path(root))
    cfg.Execute.kernel_name = kernel.KERNEL_NAME
    ignore = list(cfg.CourseDirectory.ignore)
    # The student's weights must sit next to the notebook that is graded (see nbgrader_config.py),
    # and weights lying in the source folder (the reference run's) must never replace them.
    source = Path(root) / cfg.CourseDirectory.source_directory / assignment
    cfg.Autograde.exclude_overwriting = {assignment: sorted(p.relative_to(source).as_posix()
                                                           for p in source.rglob(WEIGHTS_GLOB))}
    return NbGraderAPI(coursedir=CourseDirectory(config=cfg), config=cfg), ignore


def autograde_one(api, ignore: list[str], assignment: str, student: str, db_url: str) -> dict:
    """nbgrader's ``autograde`` then ``generate_feedback`` for one student."""
    api.coursedir.db_url = db_url
    api.coursedir.ignore = [p for p in ignore if p != WEIGHTS_GLOB]
    result = api.autograde(assignment, student, force=True, create=True)
    print(result.get("log", ""), result.get("error", ""), sep="\n", flush=True)
    if not result.get("success"):
        return {**result, "stage": "autograde"}
    api.coursedir.ignore = ignore  # no weights copied into the feedback folder
    feedback = api.generate_feedback(assignment, student, force=True)
    print(feedback.get("log", ""), feedback.get("error", ""), sep="\n", flush=True)
    return {**feedback, "stage": "feedback"}


def _serve(argv: list[str]) -> None:
    """The worker process: tasks from stdin, one at a time (see :class:`Worker`)."""
    root, assignment, parent_pid = argv
    _die_with_parent(int(parent_pid))
    protocol = os.fdopen(os.dup(1), "wb", buffering=0)
    api, ignore = grading_api(root, assignment)
    for line in sys.stdin:
        task = json.loads(line)
        with open(task["log"], "ab") as log:  # this student's log gets nbgrader's and the kernel's output
            sys.stdout.flush(), sys.stderr.flush()
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
        try:
            result = autograde_one(api, ignore, assignment, task["student"], task["db_url"])
        except BaseException as exc:  # noqa: BLE001 - report, do not crash silently
            import traceback
            result = {"success": False, "error": traceback.format_exc() or repr(exc)}
        result["log"] = (result.get("log") or "")[-20000:]
        sys.stdout.flush(), sys.stderr.flush()
        Path(task["result"]).write_text(json.dumps({k: result.get(k) for k in ("success", "error", "stage", "log")}))
        protocol.write(b"\n")


if __name__ == "__main__":
    _serve(sys.argv[1:])
