"""nbgrader's ``Execute`` replaced: the notebook is run by the judge, and the cells' outputs are
the student's own (as submitted) plus, for each test cell, the judge's verdict.

:class:`JudgeExecute` (configured in nbgrader_config.py through
:func:`course_grader.sandbox.bwrap.configure`) hands the notebook's code cells, hidden tests
included, to :mod:`course_grader.judge` in the grading sandbox, reads the authenticated
verdicts and writes, for each test cell, one output that nbgrader's ``SaveAutoGrades`` scores:

* passed: a ``stdout`` stream ("passed"), plus a note per warning the code raised — a warning
  never costs points;
* failed: an ``error`` whose value is the check's own message (course text, with the values the
  check measured), and, where it helps, what went wrong earlier in the student's notebook;
* tampering suspected (the judge's guard saw student code change what the checks rely on): an
  error saying so; the check scores 0 until the instructor clears the flag
  (``course grade --clear-flag``).

Every other cell keeps the outputs the student submitted: nothing student code prints while it
is graded reaches the feedback. A fault of the grader itself (the judge could not start, or
failed in its own code) raises :class:`GraderFault`: the submission is then *not graded*, and
``course grade`` retries it next time.
"""
from __future__ import annotations

import atexit
import json
import os
import secrets
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nbgrader.preprocessors.base import NbGraderPreprocessor
from traitlets import Bool, Float, Integer

from ..judge.protocol import MAX_MESSAGE, Reader
from ..judge.zygote import Zygote
from ..notebooks import grade_id, is_test_cell
from ..sandbox import bwrap
from ..settings import grading, grading_profile

GRACE_S = 15.0          # host-side margin over a cell's time limit before the judge is killed
START_S = 600.0         # time the judge may take to start (imports; a loaded machine is slow) before its first cell
FILE_LIMIT = 500 * 1024 ** 2
FLAGS_NAME = "judge.json"


class GraderFault(RuntimeError):
    """The grader, not the student, failed: the submission stays ungraded and is retried."""


WARM: list = []          # [sandbox key, Zygote]: the grading process's warm judge, if any


@atexit.register
def close_warm_judge() -> None:
    if WARM:
        zygote = WARM.pop()
        WARM.clear()
        zygote.stop()
        shutil.rmtree(zygote.staging, ignore_errors=True)


def read_channel(fd: int, outcome: "Outcome", timeout: float) -> bool:
    """Feed the judge's lines to ``outcome`` until end of file (True) or a time limit (False).

    The judge has ``START_S`` to report its first cell, then each cell its ``timeout`` plus a margin.
    """
    reader = outcome.reader
    deadline = time.monotonic() + START_S
    buffer = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            outcome.stop(f"timeout in cell {outcome.current}")
            return False
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            return True
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            flags_before = len(reader.stream.flags) + reader.stream.rejected
            message = reader.feed(line)
            if len(reader.stream.flags) + reader.stream.rejected > flags_before:
                outcome.flag_cells.append(outcome.current or 0)
            if message is not None:
                outcome.take(message)
                if message.get("event") == "start":
                    deadline = time.monotonic() + timeout + GRACE_S
        if len(buffer) > 1024 * 1024:      # a line that never ends: not the judge's
            buffer = b""
            reader.stream.rejected += 1


def task_for(nb, profile: str, cell_timeout: float, files: str | None, limits: dict | None) -> tuple[dict, list[int]]:
    """The judge's task for ``nb``, and the notebook index of each code cell in it."""
    cells, where = [], []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            cells.append({"source": cell.source, "test": is_test_cell(cell), "grade_id": grade_id(cell)})
            where.append(index)
    return {"cells": cells, "profile": profile, "cell_timeout": cell_timeout, "files": files,
            "limits": limits, "sandboxed": files == bwrap.FILES_AT}, where


def empty_folder(folder: Path) -> None:
    """Remove what ``folder`` holds, keeping the folder itself (a warm judge's sandbox binds it)."""
    for entry in os.scandir(folder):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            Path(entry.path).unlink(missing_ok=True)


def stage_files(workdir: Path, staged: Path) -> Path:
    """A private copy of the submission's regular files (weights), never a notebook or a link."""
    staged.mkdir(parents=True, exist_ok=True)
    empty_folder(staged)
    os.chmod(staged, 0o755)
    for entry in os.scandir(workdir):
        st = entry.stat(follow_symlinks=False)
        if (entry.name.endswith(".ipynb") or not stat.S_ISREG(st.st_mode) or st.st_size > FILE_LIMIT
                or entry.name.startswith(".")):
            continue
        target = staged / entry.name
        fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst)
        os.chmod(target, 0o644)
    return staged


class JudgeExecute(NbGraderPreprocessor):
    """Run the notebook in the judge; see the module docstring."""

    cell_timeout = Float(0, help="seconds one cell may run (0: the profile's figure)").tag(config=True)
    memory_gb = Float(0, help="memory of the judge in GB (0: the profile's figure)").tag(config=True)
    cpu_seconds = Float(0, help="CPU seconds of the whole run (0: the profile's figure)").tag(config=True)
    tmp_mb = Integer(1024, help="size of the judge's /tmp and /dev/shm").tag(config=True)
    file_size_gb = Float(1.0, help="largest file student code may write").tag(config=True)
    processes = Integer(512, help="processes and threads of one worker slot's uid").tag(config=True)
    accept_flags = Bool(False, help="score checks that the guard flagged (after an instructor's review)").tag(config=True)
    warm = Bool(True, help="fork each judge from a warm one in a sandbox that lives as long as the grading "
                           "process (False: a fresh sandbox and judge per submission)").tag(config=True)

    def preprocess(self, nb, resources):
        profile = grading_profile()
        figures = grading(profile)
        timeout = self.cell_timeout or figures.cell_timeout_s
        limits = {"cpu_s": self.cpu_seconds or figures.cpu_s, "mem_gb": self.memory_gb or figures.memory_gb,
                  "fsize_gb": self.file_size_gb, "nproc": self.processes}
        workdir = Path(resources.get("metadata", {}).get("path") or ".")
        zygote = self.warm_judge(resources) if self.warm and bwrap.enabled() else None
        staged = zygote.staging if zygote else self.judge_dir(resources) / "files" / self.student_id(resources)
        files = stage_files(workdir, staged)
        try:
            task, where = task_for(nb, profile, timeout, bwrap.FILES_AT if bwrap.enabled() else str(files), limits)
            outcome = self.run_judge(task, files, timeout, zygote)
        finally:   # the judge had its own copy in its /tmp
            if zygote:
                empty_folder(files)
            else:
                shutil.rmtree(files, ignore_errors=True)
        self.log.info("judge: %d cell result(s), done=%s, stopped=%r, exit code %s, flags %s, refused lines %d",
                      len(outcome.cells), outcome.done, outcome.stopped, outcome.returncode,
                      outcome.all_flags(), outcome.reader.stream.rejected)
        self.write_summary(resources, outcome)
        apply_outcome(nb, where, outcome, accept_flags=self.accept_flags)
        return nb, resources

    # --- running the judge -----------------------------------------------------------------------
    def sandbox(self) -> tuple[bwrap.SandboxConfig, dict]:
        config = bwrap.SandboxConfig.from_env(tmp_mb=self.tmp_mb)
        why = bwrap.missing(config)
        if why:
            raise GraderFault(f"the grading sandbox cannot run here: {why}")
        bwrap.share_caches()
        return config, bwrap.judge_environment(os.environ)

    def command(self, files: Path) -> tuple[list[str], dict]:
        if bwrap.enabled():
            config, env = self.sandbox()
            return bwrap.judge_command(config, files, env), {}
        env = bwrap.judge_environment(os.environ)
        return [sys.executable, *bwrap.JUDGE_ARGS], env

    def warm_judge(self, resources) -> Zygote:
        """This process's warm judge (:mod:`course_grader.judge.zygote`), replaced when its sandbox
        would differ (limits, environment, data, course)."""
        config, env = self.sandbox()
        parent = self.judge_dir(resources) / "files"
        key = (config, tuple(sorted(env.items())), str(parent))
        if WARM and WARM[0] == key:
            return WARM[1]
        close_warm_judge()
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix="warm-", dir=parent))
        os.chmod(staging, 0o755)
        WARM[:] = [key, Zygote(bwrap.judge_command(config, staging, env, warm=True), staging)]
        return WARM[1]

    def run_judge(self, task: dict, files: Path, timeout: float, zygote: Zygote | None = None) -> "Outcome":
        key = secrets.token_bytes(32)
        outcome = Outcome(Reader(key))
        request = json.dumps({"key": key.hex(), "task": task}).encode()
        if zygote is not None:
            try:
                channel = zygote.submit(request, START_S)
            except OSError as exc:
                raise GraderFault(f"the warm judge could not be started: {exc}") from exc
            outcome.warm = zygote.where
            try:
                ended = read_channel(channel, outcome, timeout)
            finally:
                os.close(channel)
            if ended:
                outcome.returncode = zygote.reply(Zygote.REPLY_S)
                if outcome.returncode is None:
                    self.log.warning("judge: the warm judge's sandbox was not cleared after this submission; "
                                     "the next one gets a fresh sandbox")
            else:
                zygote.stop()
            if outcome.returncode is None and not outcome.done:
                outcome.returncode = -signal.SIGKILL
            return outcome
        cmd, env = self.command(files)
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                env=env or None, start_new_session=True)
        try:
            proc.stdin.write(request)
            proc.stdin.close()
        except BrokenPipeError:
            pass
        try:
            read_channel(proc.stdout.fileno(), outcome, timeout)
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait()
        outcome.returncode = proc.returncode
        return outcome

    def judge_dir(self, resources) -> Path:
        """``reports/<aid>/judge/``: what the judge leaves for ``course grade`` (and its staging)."""
        from nbgrader.coursedir import CourseDirectory
        assignment = resources.get("nbgrader", {}).get("assignment") or "unknown"
        return Path(CourseDirectory(config=self.config).root) / "reports" / assignment / "judge"

    @staticmethod
    def student_id(resources) -> str:
        return resources.get("nbgrader", {}).get("student") or "unknown"

    def write_summary(self, resources, outcome: "Outcome") -> None:
        """``reports/<aid>/judge/<student>.json``: flags and faults, for ``course grade`` and the report."""
        path = self.judge_dir(resources) / f"{self.student_id(resources)}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"flags": outcome.all_flags(), "not_graded": outcome.not_graded,
                                    "stopped": outcome.stopped, "exit_code": outcome.returncode,
                                    "cells": len(outcome.cells), "rejected_lines": outcome.reader.stream.rejected,
                                    "warm": outcome.warm},
                                   indent=1))


class Outcome:
    """What one judge run said, cell by cell."""

    def __init__(self, reader: Reader):
        self.reader = reader
        self.cells: dict[int, dict] = {}
        self.current: int | None = None
        self.done = False
        self.stopped = ""          # why the judge was stopped or ended early ("" if it finished)
        self.fault = ""            # the grader's own failure
        self.returncode: int | None = None
        self.started = False
        self.flag_cells: list[int] = []   # the cell running when each unauthenticated flag arrived
        self.warm: dict | None = None     # which warm sandbox ran it (Zygote.where), None: a fresh one

    def take(self, message: dict) -> None:
        event = message.get("event")
        if event == "start":
            self.current, self.started = message.get("cell"), True
        elif event == "cell":
            self.cells[message.get("cell")] = message
        elif event == "abandoned":
            self.stopped = str(message.get("why") or "a cell did not stop")
        elif event == "fatal":
            self.fault = str(message.get("error") or "the judge failed")
        elif event == "done":
            self.done = True

    def stop(self, why: str) -> None:
        self.stopped = self.stopped or why

    @property
    def not_graded(self) -> str:
        """Why nothing of this run can count (a grader fault), or ''."""
        if self.fault:
            return "the judge failed: " + self.fault.strip().splitlines()[-1][:300]
        if not self.started and not self.done:
            why = f"exit code {self.returncode}" if not self.stopped else f"no answer within {START_S:g} s"
            return f"the judge did not start ({why})"
        return ""

    def all_flags(self) -> list[str]:
        found = list(self.reader.stream.flags)
        for cell in self.cells.values():
            found += [f for f in cell.get("flags", []) if f not in found]
        if self.reader.stream.rejected:
            found.append(f"{self.reader.stream.rejected} line(s) on the judge's channel were not written by the judge")
        return found


def _stream(text: str) -> dict:
    from nbformat.v4 import new_output
    return new_output("stream", name="stdout", text=text)


def _error(name: str, message: str) -> dict:
    from nbformat.v4 import new_output
    message = message[:MAX_MESSAGE]
    return new_output("error", ename=name, evalue=message, traceback=[f"\x1b[0;31m{name}\x1b[0m: {message}"])


def _earlier_errors(nb, upto: int) -> str:
    """The last error the student's own run of an earlier cell ended with (in the submitted notebook)."""
    for cell in reversed(nb.cells[:upto]):
        if cell.cell_type != "code" or is_test_cell(cell):
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                value = (out.get("evalue") or "").strip().splitlines()
                where = grade_id(cell) or "an earlier cell"
                return f"{out.get('ename', 'Error')}: {value[-1][:300] if value else ''} (cell {where})"
    return ""


def apply_outcome(nb, where: list[int], outcome: Outcome, accept_flags: bool = False) -> None:
    """Write the verdicts into the test cells (see the module docstring)."""
    if outcome.not_graded:
        raise GraderFault(outcome.not_graded)
    flagged_from = None          # the first code cell (task index) after which the guard saw tampering
    for task_index in sorted(outcome.cells):
        if outcome.cells[task_index].get("flags"):
            flagged_from = task_index
            break
    if outcome.flag_cells:
        flagged_from = min(flagged_from if flagged_from is not None else 10 ** 9, min(outcome.flag_cells))
    flags = outcome.all_flags()
    first_error, recent = "", []     # errors of student cells while the notebook was graded
    for task_index, nb_index in enumerate(where):
        cell = nb.cells[nb_index]
        if not is_test_cell(cell):
            error = (outcome.cells.get(task_index) or {}).get("error")
            if error:
                said = f"cell {grade_id(cell) or task_index} stopped with {str(error)[:400]}"
                first_error = first_error or said
                recent.append(said)
            continue
        since, recent = recent, []
        result = outcome.cells.get(task_index)
        if result is None:
            why = outcome.stopped or "the grading process ended before this cell"
            if outcome.returncode not in (0, None) and not outcome.stopped:
                why = (f"the grading process was killed while it ran cell {outcome.current} (exit code "
                       f"{outcome.returncode}): your code may have used up the memory or CPU-time limit, or "
                       "ended Python (os._exit)")
            cell.outputs = [_error("NotGraded", f"this check was not run: {why}.")]
            continue
        if flagged_from is not None and task_index >= flagged_from and not accept_flags:
            cell.outputs = [_error("TamperingSuspected",
                                   f"tampering suspected: {flags[0]}. This check scores 0 until your instructor "
                                   "has reviewed the submission.")]
            continue
        notes = "".join(f"note: while your notebook was graded, {e}\n" for e in since[:3])
        notes += "".join(f"note: {n} (a warning, not an error: no points lost)\n" for n in result.get("notes", []))
        measured = "".join(f"{r}\n" for r in result.get("reports", []))
        if result.get("passed"):
            cell.outputs = [_stream("passed\n" + measured + notes)]
            continue
        message = str(result.get("message") or "the check failed")
        if first_error and first_error not in since:
            message += f" Note: while your notebook was graded, {first_error}"
            message += "" if message.endswith(".") else "."
        earlier = _earlier_errors(nb, nb_index)
        if earlier:
            message += f" Note: in the notebook you submitted, {earlier}."
        cell.outputs = ([_stream(measured + notes)] if measured or notes else []) + [_error("CheckFailed", message)]
