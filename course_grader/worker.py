"""The grading worker: a process that keeps nbgrader loaded and grades one student at a time.

``course grade`` starts one per worker slot (``python -m course_grader.worker ROOT AID PID``)
and talks to it through :class:`Worker`; inside, :func:`serve` runs nbgrader's ``autograde``
then ``generate_feedback`` through its Python API for each task.
"""
from __future__ import annotations

import ctypes
import json
import os
import select
import signal
import subprocess
import sys
from pathlib import Path

WEIGHTS_GLOB = "*.pt"  # trained weights travel with a submission


def _die_with_parent(parent_pid: int) -> None:
    """Linux: get SIGKILL when the grading process dies (so a killed run leaves no workers)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent_pid:
        os._exit(3)


class Worker:
    """A grading process that keeps nbgrader loaded (~8 s of imports) and grades one student at a time.

    Protocol: one JSON task per line on its stdin; it writes the result to the task's file and
    a newline on its stdout. A student's time budget is enforced here: past it, the process
    group is killed and the next task starts a fresh worker.
    """

    def __init__(self, root: Path, assignment: str, tmp_dir: Path, env: dict):
        self.root, self.assignment, self.env = root, assignment, env
        self.proc: subprocess.Popen | None = None
        self.dir = tmp_dir

    def start(self) -> None:
        cmd = [sys.executable, "-m", "course_grader.worker", str(self.root), self.assignment, str(os.getpid())]
        self.proc = subprocess.Popen(cmd, cwd=self.root, env=self.env, stdin=subprocess.PIPE,
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

    def grade(self, student: str, db_url: str, log: Path, budget: float, submitted: str,
              clear_flags: bool = False) -> dict:
        self.dir.mkdir(parents=True, exist_ok=True)
        log.parent.mkdir(parents=True, exist_ok=True)
        log.unlink(missing_ok=True)
        result_path = self.dir / f"{student}.result.json"
        result_path.unlink(missing_ok=True)
        task = {"student": student, "db_url": db_url, "result": str(result_path), "log": str(log),
                "submitted": submitted, "clear_flags": clear_flags}
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


def grading_api(root: str, assignment: str):
    """nbgrader's Python API on this course, set up for ``course grade``; returns (api, ignore)."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    from .course import Course
    cfg = Course(Path(root)).load_config()
    ignore = list(cfg.CourseDirectory.ignore)
    # The student's weights must sit next to the notebook that is graded (see nbgrader_config.py),
    # and weights lying in the source folder (the reference run's) must never replace them.
    source = Path(root) / cfg.CourseDirectory.source_directory / assignment
    cfg.Autograde.exclude_overwriting = {assignment: sorted(p.relative_to(source).as_posix()
                                                           for p in source.rglob(WEIGHTS_GLOB))}
    return NbGraderAPI(coursedir=CourseDirectory(config=cfg), config=cfg), ignore


def autograde_one(api, ignore: list[str], assignment: str, student: str, db_url: str, submitted: str,
                  clear_flags: bool = False) -> dict:
    """nbgrader's ``autograde`` (from the checked copy in ``submitted``) then ``generate_feedback``."""
    api.coursedir.db_url = db_url
    api.coursedir.submitted_directory = submitted
    api.coursedir.ignore = [p for p in ignore if p != WEIGHTS_GLOB]
    api.config.JudgeExecute.accept_flags = clear_flags
    result = api.autograde(assignment, student, force=True, create=True)
    print(result.get("log", ""), result.get("error", ""), sep="\n", flush=True)
    if not result.get("success"):
        return {**result, "stage": "autograde"}
    api.coursedir.ignore = [*ignore, "*"]  # the feedback folder gets the feedback page and nothing else
    feedback = api.generate_feedback(assignment, student, force=True)
    print(feedback.get("log", ""), feedback.get("error", ""), sep="\n", flush=True)
    return {**feedback, "stage": "feedback"}


def serve(argv: list[str]) -> None:
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
            result = autograde_one(api, ignore, assignment, task["student"], task["db_url"], task["submitted"],
                                   task.get("clear_flags", False))
        except BaseException as exc:  # noqa: BLE001 - report, do not crash silently
            import traceback
            result = {"success": False, "error": traceback.format_exc() or repr(exc)}
        result["log"] = (result.get("log") or "")[-20000:]
        sys.stdout.flush(), sys.stderr.flush()
        Path(task["result"]).write_text(json.dumps({k: result.get(k) for k in ("success", "error", "stage", "log")}))
        protocol.write(b"\n")


if __name__ == "__main__":
    serve(sys.argv[1:])
