"""Grading a whole cohort: every submission ends with a gradebook row, a score and feedback.

For each ``submitted/<student>/<aid>/`` folder, :func:`grade_cohort`

1. renames a lone notebook with another name to the assignment's name, then fingerprints the
   folder; a student already graded with the same fingerprint and profile is skipped, so a
   second run changes nothing and a killed run resumes where it stopped;
2. triages what nbgrader cannot read (empty file, invalid JSON, JSON that is not a notebook,
   no notebook, another assignment's notebook): such a submission gets a gradebook row with
   zero on every cell and a feedback page that says what was wrong;
3. autogrades the rest in a worker process (:mod:`.worker`: nbgrader's ``autograde`` then
   ``generate_feedback`` through its Python API), the notebook run by the judge in the
   sandbox (:mod:`.sandbox`) as the worker slot's own user, with the limits of
   nbgrader_config.py; if nbgrader gives up (the kernel died, hung, or the student's run
   exceeded its time budget) the submission is recorded like a triaged one, with the reason;
4. records the result. With SQLite, workers autograde against a private copy of the gradebook
   and only this process writes to ``gradebook.db``, one student at a time under a lock, in
   short transactions (a kill leaves it intact); with a server database (PostgreSQL,
   ``COURSE_DB_URL``) workers write to it directly.

A per-student state file (``reports/<aid>/grading/<student>.json``) records the fingerprint,
status, message, score, profile and limits; it is written last, so a student counts as
graded only once the gradebook holds their result. Logs: ``reports/<aid>/logs/<student>.log``.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import queue
import shutil
import stat
import sys
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import gradebook, settings
from .course import Course, CourseError
from .feedback_page import write_feedback_page
from .roster import Student, load_roster
from .statuses import FAILED, GRADED, STATUS_TEXT
from .submissions import fingerprint, inspect_submission, released_ids, stage, submitted_students
from .sandbox import slots
from .worker import Worker


@dataclass
class GradingRun:
    """What one grading run of one assignment uses; recorded with every result and in the report."""

    course: Course
    assignment: str
    workers: int = 1
    profile: str = "cpu"
    cell_timeout: int = 300
    memory_gb: float = 6.0
    student_timeout: float = 1320.0
    notebook: str = ""
    clear_flags: bool = False     # grade flagged checks on their verdicts (after an instructor's review)

    @classmethod
    def prepare(cls, course: Course, assignment: str, workers: int = 1) -> "GradingRun":
        profile = settings.grading_profile()
        config = course.load_config()
        timeout = int(config.JudgeExecute.get("cell_timeout", settings.grading(profile).cell_timeout_s))
        memory = float(config.JudgeExecute.get("memory_gb", settings.grading(profile).memory_gb))
        # A student's whole run: a handful of slow cells, not every cell at its limit.
        budget = 4 * timeout + 120
        return cls(course, assignment, max(1, workers), profile, timeout, memory, budget,
                   course.released_notebook(assignment))

    @property
    def root(self) -> Path:
        return self.course.root

    @property
    def db_url(self) -> str:
        return self.course.db_url

    @property
    def reports(self) -> Path:
        return self.course.reports_dir(self.assignment)

    def folder(self, student: str) -> Path:
        return self.course.submission_dir(student, self.assignment)


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
    flags: list[str] = field(default_factory=list)   # what the judge's guard saw ("tampering suspected")
    flags_cleared: bool = False                       # an instructor reviewed them (--clear-flag)
    skipped: bool = field(default=False, compare=False)

    def line(self) -> str:
        what = STATUS_TEXT.get(self.status, self.status)
        text = f"{self.student}: {self.score:g}/{self.max_score:g} {what}"
        if self.skipped:
            return text + " (already graded, skipped)"
        text += f" ({self.seconds:.1f} s)"
        if self.flags:
            text += f" - TAMPERING SUSPECTED: {self.flags[0]}" + (" (cleared)" if self.flags_cleared else "")
        return text + (f" - {self.message}" if self.message else "")


def grader_fault(result: dict) -> str:
    """Why grading failed through no fault of the student's, or ''."""
    text = f"{result.get('error') or ''}\n{result.get('log') or ''}"
    if "GraderFault" in text:
        line = next((l for l in reversed(text.splitlines()) if "GraderFault" in l), "")
        return line.split("GraderFault:", 1)[-1].strip()[:300] or "the judge failed"
    if "the grading worker exited with code" in text or "no result from the grading worker" in text:
        return (result.get("error") or "").strip()[:300]
    if "No space left on device" in text or "Errno 28" in text:
        return "the disk is full (no space left on device)"
    if "database is locked" in text or "OperationalError" in text:
        return "the gradebook could not be written"
    return ""


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

    def __init__(self, settings: GradingRun, roster: list[Student], quiet: bool = False, mode=None):
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
        self.staging = settings.reports / "staging"   # what nbgrader grades: a checked copy of submitted/
        self.mode = mode  # a course_grader.sandbox.bwrap.GradingMode; None: as nbgrader_config.py says

    # where things go
    def state_path(self, student: str) -> Path:
        return self.s.reports / "grading" / f"{student}.json"

    def log_path(self, student: str) -> Path:
        return self.s.reports / "logs" / f"{student}.log"

    def feedback_dir(self, student: str) -> Path:
        return self.s.course.feedback_dir(student, self.s.assignment)

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
        gradebook.ensure_assignment(s.db_url, s.assignment)
        with self.db_lock:
            gradebook.sync_students(s.db_url, list(self.roster.values()))
        todo, done = [], []
        in_gradebook = gradebook.graded_students(s.db_url, s.assignment)
        for student in students or submitted_students(s.root, s.assignment):
            folder = s.folder(student)
            if not folder.is_dir():
                self.say(f"{student}: no submission in {folder}")
                continue
            fp = fingerprint(folder)
            state = self.read_state(student)
            if (not force and state and state.get("fingerprint") == fp and state.get("profile") == s.profile
                    and student in in_gradebook):
                done.append(Outcome(**{**state, "skipped": True}))
            else:
                self.state_path(student).unlink(missing_ok=True)
                todo.append((student, fp))
        self.say(f"grading {s.assignment}: {len(todo)} submission(s) to grade, {len(done)} already graded; "
                 f"{s.workers} worker(s), profile {s.profile}, cell timeout {s.cell_timeout} s, "
                 f"kernel memory {s.memory_gb:g} GB")
        if self.mode is not None and todo:
            self.say(self.mode.note)
        slots_held = ExitStack()   # a sandbox user of its own per worker, across concurrent runs too
        workers = [Worker(s.root, s.assignment, s.reports / "tmp", self.worker_env(slot))
                   for slot in slots_held.enter_context(slots.claimed(min(s.workers, len(todo))))]
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
            slots_held.close()
        if todo:
            wall = time.monotonic() - started
            each = sorted(o.seconds for o in done if not o.skipped and o.status == GRADED) or [0.0]
            self.say(f"{len(todo)} submission(s) in {wall:.0f} s: {wall / len(todo):.1f} s per submission "
                     f"with {s.workers} worker(s); autograding one took {each[len(each) // 2]:.1f} s (median)")
        return sorted(done, key=lambda o: o.student)

    def grade_one(self, student: str, fp: str) -> Outcome:
        s, start = self.s, time.monotonic()
        folder = s.folder(student)
        staged = self.staging / student / s.assignment
        notes = stage(folder, staged, s.notebook)
        note = "; ".join(notes)
        status, message = inspect_submission(staged, s.notebook, s.assignment, self.releases)
        feedback_failed, flags = False, []
        if status == "ok":
            result = self.autograde(student)
            if self.cancelled.is_set():
                raise RuntimeError("grading run interrupted")
            fault = grader_fault(result)
            if fault:   # the grader's failure, not the student's: nothing is recorded, the next run retries
                return Outcome(student, "error", f"not graded: {fault}", seconds=time.monotonic() - start)
            flags = self.judge_flags(student)
            if result.get("success"):
                status, message = GRADED, note
            elif result.get("stage") == "feedback":  # graded; only the feedback page is missing
                status, message, feedback_failed = GRADED, "nbgrader could not render the feedback page", True
            else:
                status, message = FAILED, explain_failure(result, s.student_timeout)
        with self.db_lock:
            if status != GRADED:
                gradebook.record_zero(s.db_url, s.assignment, student, folder, self.fields(student))
            score, max_score = gradebook.submission_score(s.db_url, s.assignment, student)
        if status != GRADED:
            for stale in (self.feedback_dir(student), s.root / "autograded" / student / s.assignment):
                remove_tree(stale)
        if status != GRADED or feedback_failed:
            write_feedback_page(self.feedback_dir(student) / f"{s.notebook}.html", s.assignment, student,
                                status, message, score, max_score)
        outcome = Outcome(student, status, message, score, max_score, time.monotonic() - start, fp,
                          s.profile, s.cell_timeout, s.memory_gb,
                          dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                          "" if self.mode is None else self.mode.state, flags, bool(flags) and s.clear_flags)
        self.write_state(outcome)
        return outcome

    def judge_flags(self, student: str) -> list[str]:
        """What the judge's guard reported for this student (see course_grader.plugins.judge_execute)."""
        try:
            summary = json.loads((self.s.reports / "judge" / f"{student}.json").read_text())
        except (OSError, ValueError):
            return []
        return [str(f)[:300] for f in summary.get("flags", [])]

    def worker_env(self, slot: int) -> dict:
        s = self.s
        bindir = str(Path(sys.executable).parent)
        threads = str(max(1, (os.cpu_count() or 1) // s.workers))
        return {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
                "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", threads),
                "MKL_NUM_THREADS": os.environ.get("MKL_NUM_THREADS", threads),
                "COURSE_PROFILE": s.profile, "COURSE_WORKER_SLOT": str(slot),
                **(self.mode.env if self.mode is not None else {})}

    def autograde(self, student: str) -> dict:
        """nbgrader autograde + generate_feedback for one student, in one of the worker processes."""
        s = self.s
        private = s.reports / "tmp" / f"{student}.db"
        if gradebook.is_sqlite(s.db_url):
            with self.db_lock:
                url = gradebook.snapshot(s.db_url, private)
        else:
            url = s.db_url
        (s.reports / "judge" / f"{student}.json").unlink(missing_ok=True)
        submitted = self.staging.relative_to(s.root).as_posix()
        worker = self.idle.get()
        try:
            result = worker.grade(student, url, self.log_path(student), s.student_timeout, submitted,
                                  s.clear_flags)
        finally:
            self.idle.put(worker)
        if (result.get("success") or result.get("stage") == "feedback") and gradebook.is_sqlite(s.db_url):
            with self.db_lock:
                gradebook.copy_autogrades(url, s.db_url, s.assignment, student, self.fields(student))
        private.unlink(missing_ok=True)
        return result


def remove_tree(path: Path) -> None:
    """Remove an output tree of ours without following a link in it or changing anything outside.

    nbgrader leaves its outputs read-only, so directories are made writable first; a symbolic
    link is removed as a link (its target is never touched).
    """
    try:
        top = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(top.st_mode):
        os.unlink(path)
        return
    for _, _, _, dir_fd in os.fwalk(path, follow_symlinks=False):
        os.chmod(dir_fd, 0o755)
    shutil.rmtree(path)


MIN_FREE_BYTES = 1024 ** 3
DATA_USERS = ("check_trained_accuracy", "cifar10_loaders", "eval_loader")


def needs_cifar10(run: GradingRun) -> bool:
    release = run.course.release_dir(run.assignment) / f"{run.notebook}.ipynb"
    try:
        text = release.read_text(encoding="utf-8")
    except OSError:
        return False
    return any(name in text for name in DATA_USERS)


def preflight(run: GradingRun) -> None:
    """Refuse to grade anyone (one line, CourseError) when an input of the grader is unusable."""
    from .sandbox.bwrap import data_paths
    root = run.course.root
    if needs_cifar10(run):
        data = data_paths().get("COURSE_DATA_DIR")
        if data is None or not cifar10_present(data):
            where = os.environ.get("COURSE_DATA_DIR") or "~/.cache/cnn-course/data"
            raise CourseError(f"the data directory {where} does not hold CIFAR-10 (train/ and test/ with the 10 "
                              "classes, or cifar-10-batches-py): set COURSE_DATA_DIR before grading")
    for place in (root, Path(os.environ.get("TMPDIR") or "/tmp")):
        free = shutil.disk_usage(place).free
        if free < MIN_FREE_BYTES:
            raise CourseError(f"only {free / 1024 ** 2:.0f} MB free on the disk of {place}: grading needs at "
                              f"least {MIN_FREE_BYTES / 1024 ** 3:.0f} GB")
    url = run.db_url
    if gradebook.is_sqlite(url):
        path = gradebook.sqlite_path(url)
        writable = os.access(path, os.W_OK) if path.exists() else os.access(path.parent, os.W_OK)
        if not writable or (path.exists() and not os.access(path.parent, os.W_OK)):
            raise CourseError(f"the gradebook {path} cannot be written (check its and its folder's permissions)")
    else:
        try:
            gradebook.graded_students(url, run.assignment)
        except Exception as exc:  # noqa: BLE001 - any database error means the same here
            raise CourseError(f"the gradebook {url.split('@')[-1]} cannot be reached: "
                              f"{str(exc).strip().splitlines()[0][:200]}") from None


def cifar10_present(data: Path) -> bool:
    """CIFAR-10 in one of the two layouts course_utils.data reads (checked without importing torch)."""
    if (data / "cifar-10-batches-py" / "test_batch").is_file():
        return True
    split_ok = []
    for split in ("train", "test"):
        classes = [d for d in (data / split).iterdir() if d.is_dir()] if (data / split).is_dir() else []
        split_ok.append(len(classes) == 10 and all(any(d.iterdir()) for d in classes))
    return all(split_ok)


@contextmanager
def course_lock(root: Path):
    """One grading run per course at a time (the lock goes when the process does, even on SIGKILL)."""
    path = Path(root) / "reports" / ".grading.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CourseError(f"another `course grade` is running in {root} (lock: {path})") from None
        yield


def grade_cohort(course: Course, assignment: str, workers: int = 1, roster_path=None,
                 students: list[str] | None = None, force: bool = False, quiet: bool = False,
                 mode=None, clear_flags: bool = False) -> list[Outcome]:
    """Grade every submission of ``assignment`` (see the module docstring).

    ``mode`` (:func:`course_grader.sandbox.bwrap.grading_mode`) says whether kernels run in the sandbox.
    """
    settings = GradingRun.prepare(course, assignment, workers)
    settings.clear_flags = clear_flags
    roster = load_roster(roster_path or course.root / "roster.csv")
    preflight(settings)
    with course_lock(course.root):
        for leftover in (settings.reports / "tmp").glob("*"):  # private gradebooks of a killed run
            leftover.unlink()
        return CohortGrader(settings, roster, quiet, mode).run(students, force)
