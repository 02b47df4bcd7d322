"""The judge process: runs a notebook's cells in order and decides each test cell.

Started by :mod:`course_grader.judge.__main__` (which loads this module as a private copy). The
task arrives as JSON on standard input (see :func:`course_grader.plugins.judge_execute.task_for`);
messages go out on the channel (:mod:`.protocol`):

``{"event": "start", "cell": i}`` before cell ``i``;
``{"event": "cell", "cell": i, "kind": "code"|"test", "passed": …, "message": …, "notes": […],
"flags": […], "error": …, "seconds": …}`` after it; ``{"event": "done"}`` at the end;
``{"event": "abandoned", "cell": i, "why": …}`` when a cell would not stop.
"""
from __future__ import annotations

import copy
import hashlib
import hmac
import json
import os
import re
import resource
import signal
import threading
import time
import warnings

import torch

from . import guard
from .protocol import MAX_LINE, MAX_MESSAGE
from .remote import (ForeignModule, HandOverTimeout, OutOfStep, Remote, StudentError, StudentThread, Trust,
                     remote_isinstance, remote_type)

MARKER = re.compile(r"^[ \t]*### (BEGIN|END) HIDDEN TESTS[^\n]*$", re.M)
HIDDEN_NAMES = frozenset({"In", "Out", "get_ipython", "exit", "quit", "open"})
GRACE_S = 5.0          # how long an interrupted cell gets to stop
NOTES_MAX = 5


class Channel:
    """Numbered, authenticated messages (the key lives only in the judge thread's local storage)."""

    def __init__(self, fd: int, key: bytes):
        self._local = threading.local()
        self._local.mac = hmac.new(key, digestmod=hashlib.sha256)
        self._local.seq = 0
        self._local.fd = fd

    def send(self, **body) -> None:
        local = self._local
        text = json.dumps(body, sort_keys=True, separators=(",", ":"))
        mac = local.mac.copy()
        mac.update(f"{local.seq}:{text}".encode())
        line = (json.dumps({"seq": local.seq, "body": text, "mac": mac.hexdigest()}) + "\n").encode()
        local.seq += 1
        os.write(local.fd, line[:MAX_LINE])


def _cut(text: str, limit: int = MAX_MESSAGE) -> str:
    text = str(text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- what runs in the student thread (judge code; it returns data only) -----------------------------

def _make_shell(student: StudentThread):
    from IPython.core.interactiveshell import InteractiveShell

    class GradingShell(InteractiveShell):
        def enable_gui(self, gui=None):   # %matplotlib inline: there is no display while grading
            return None

    from traitlets.config import Config
    config = Config()
    config.HistoryManager.enabled = False     # no history thread, no record of the cells
    shell = GradingShell.instance(config=config)
    shell.showtraceback = lambda *a, **k: None        # the judge reports errors itself
    student.objects[0] = shell
    return None


def _run_cell(student: StudentThread, source: str):
    result = student.objects[0].run_cell(source, store_history=False, silent=False)
    exc = result.error_before_exec or result.error_in_exec
    if exc is None:
        return None
    name = type(exc).__name__
    try:
        text = str(exc)
    except BaseException:  # noqa: BLE001
        text = ""
    return (f"{name}: {text[:500]}" if text else name), isinstance(exc, MemoryError) or "allocate memory" in text


def _namespace(student: StudentThread, public_ids: dict):
    """The student's names for the test code: exported values, or markers for public library objects."""
    out = {}
    for name, value in list(student.objects[0].user_ns.items()):
        if type(name) is not str or name.startswith("_") or name in HIDDEN_NAMES:
            continue
        key = public_ids.get(id(value))
        out[name] = ("library", key) if key is not None else ("value", student.export(value))
    return out


# --- the judge ----------------------------------------------------------------------------------------

# --- hooks the student's side can reach: closures over what they need, never the Judge itself ------

def _measure_hook(student: StudentThread):
    """``checks._measure``: what a check reads off a student's model is read in the student thread."""
    def measure(fn, model, *args):
        if type(model) is not Remote:
            return fn(model, *args)
        target = student.unwrap(model)
        values = tuple(student.unwrap(a) for a in args)
        return student.call(lambda: student.export(fn(target, *values)))
    return measure


def _verify_hook(changes, found: list, student_ident: int):
    """Run after every hand-over (see :mod:`.guard`): record what changed, and stray threads."""
    def verify():
        seen = changes()
        others = [t.name for t in threading.enumerate()
                  if t.ident not in (threading.main_thread().ident, student_ident)
                  and type(t).__name__ != "TMonitor"]
        if others:
            seen.append(f"student code left thread(s) running: {', '.join(others[:5])}")
        for item in seen:
            if item not in found:
                found.append(item)
    return verify


def _cpu_limit_hook(student: StudentThread, cpu_limit: float, state: dict):
    """SIGXCPU: stop the running cell; later cells get a few more CPU seconds each."""
    def on_cpu_limit(signum, frame):
        state["exceeded"] = True
        usage = resource.getrusage(resource.RUSAGE_SELF)
        soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
        more = int(usage.ru_utime + usage.ru_stime + max(5.0, cpu_limit / 20))
        resource.setrlimit(resource.RLIMIT_CPU, (more if hard == resource.RLIM_INFINITY else min(more, hard), hard))
        student.interrupt()
    return on_cpu_limit


class Judge:
    """The judge thread's state. No object the student's side can reach refers to it."""

    def __init__(self, task: dict, loader, channel: Channel):
        self.task = task
        self.loader = loader
        self.channel = channel
        loader.load_teaching_library()
        lib = loader.modules
        self.checks, self.specs = lib["course_utils.checks"], lib["course_utils.specs"]
        self.config = lib["course_utils.config"]
        self.profile = self.config.get_profile(task["profile"])
        self.device = self.config.get_device("cpu" if task.get("cpu_only") else None)
        loader.builtins_of["course_utils"]["isinstance"] = remote_isinstance   # checks may meet student classes
        self.public_ids = self._public_library()

        torch_modules = guard.modules_with_prefixes(("torch", "torchvision"))
        classes = {v for m in torch_modules for v in list(vars(m).values()) if isinstance(v, type)}
        classes |= {v for m in loader.modules.values() for v in list(vars(m).values()) if isinstance(v, type)}
        self.trust = Trust(list(loader.modules_at_start.values()), classes)
        self.cell_flags: list[str] = []
        self.reports: list[str] = []
        self.cpu = {"exceeded": False}
        self.student = StudentThread(self.trust, None)
        self.checks._measure = _measure_hook(self.student)       # before the snapshots below are taken
        self.checks._report = self.reports.append
        self.cpu_limit = float((task.get("limits") or {}).get("cpu_s") or 0)
        if self.cpu_limit:
            from ..sandbox.limits import limit_cpu
            signal.signal(signal.SIGXCPU, _cpu_limit_hook(self.student, self.cpu_limit, self.cpu))
            limit_cpu(self.cpu_limit)
        private = list(loader.modules.values())
        builtins_copies = list(loader.builtins_of.values())
        fast = guard.Snapshot.of_modules(guard.modules_named(guard.FAST_MODULES), private_modules=private,
                                         private_builtins=builtins_copies,
                                         classes=guard.classes_named(guard.FAST_CLASSES), with_classes=False)
        self.student.verify = _verify_hook(fast.changes, self.cell_flags, self.student.ident)
        # The full snapshot is the judge's alone: nothing the student's side can reach refers to it.
        self.full = guard.Snapshot.of_modules(guard.modules_with_prefixes(guard.FULL_PREFIXES),
                                              private_modules=private, private_builtins=builtins_copies)
        self._integrity = (self.student.verify, self.student.trust, self.student._request, self.student._reply)

    def _public_library(self) -> dict:
        """``{id: (module, name)}`` of the public teaching library's objects (for the test namespace)."""
        import sys
        ids = {}
        for name, module in list(sys.modules.items()):
            if name == "course_utils" or name.startswith("course_utils."):
                ids[id(module)] = (name, None)
                for attr, value in list(vars(module).items()):
                    if getattr(value, "__module__", None) == name and not attr.startswith("_"):
                        ids.setdefault(id(value), (name, attr))
        return ids

    def _cpu_message(self) -> str:
        return (f"this cell exceeded the grading CPU-time limit of {self.cpu_limit:g} s and was stopped. "
                "Hint: look for an endless loop or heavy work outside train_model; training is skipped while "
                "grading.")

    def _check_integrity(self) -> None:
        s = self.student
        now = (s.verify, s.trust, s._request, s._reply)
        if not all(a is b for a, b in zip(now, self._integrity)):
            self.cell_flags.append("the judge's link to the student thread was changed")
        found = list(self.full.changes())
        if self.task.get("sandboxed"):
            found += guard.stop_started_processes()
        for item in found:
            if item not in self.cell_flags:
                self.cell_flags.append(item)

    # --- cells -------------------------------------------------------------------------------------
    def run(self, hook_installer) -> None:
        self.student.call(_make_shell, self.student)
        hook_installer(self.student.call(_user_ns, self.student))   # before any student code runs
        for index, cell in enumerate(self.task["cells"]):
            self.channel.send(event="start", cell=index)
            start = time.monotonic()
            del self.cell_flags[:]
            self.cpu["exceeded"] = False
            self.student.deadline = start + float(self.task["cell_timeout"])
            try:
                if cell["test"]:
                    result = self.run_test(cell)
                else:
                    result = self.run_code(cell)
            except _Abandon as stop:
                self.channel.send(event="abandoned", cell=index, why=str(stop))
                return
            except OutOfStep:
                self.channel.send(event="abandoned", cell=index,
                                  why="the student thread answered out of turn (tampering suspected)")
                return
            self._check_integrity()
            result.update(event="cell", cell=index, seconds=round(time.monotonic() - start, 3),
                          flags=list(self.cell_flags))
            self.channel.send(**result)

    def _interrupted(self, what: str) -> str:
        """A cell ran past its limit: stop the student thread, or give up on the notebook."""
        self.student.interrupt()
        if self.student.wait(GRACE_S):
            return (f"{what} timed out after {self.task['cell_timeout']:g} s (the grading limit per cell) and "
                    "was stopped. Hint: look for an endless loop; training is skipped while grading.")
        raise _Abandon(f"{what} timed out after {self.task['cell_timeout']:g} s and did not stop when it was "
                       "interrupted (does it catch every exception, e.g. with a bare `except:`?)")

    def run_code(self, cell: dict) -> dict:
        try:
            error = self.student.call(_run_cell, self.student, cell["source"])
            if error is not None:
                text, memory = error
                error = self._memory_message(text) if memory else text
        except HandOverTimeout:
            error = self._interrupted("this cell")
        if self.cpu["exceeded"]:
            error = self._cpu_message()
        return {"kind": "code", "passed": error is None, "error": error}

    def run_test(self, cell: dict) -> dict:
        try:
            namespace = self.test_namespace()
        except HandOverTimeout:
            return {"kind": "test", "passed": False, "notes": [], "reports": [],
                    "message": self._interrupted("your code, while the test's names were read,")}
        source = MARKER.sub("", cell["source"])
        notes: list[str] = []
        del self.reports[:]
        passed, message = True, ""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                code = compile(source, f"<test cell {cell.get('grade_id') or ''}>", "exec")
                exec(code, namespace)
            except HandOverTimeout:
                passed, message = False, self._interrupted("the code this check runs")
            except ForeignModule as exc:
                passed, message = False, f"{exc}."
            except AssertionError as exc:
                passed, message = False, str(exc) or "an assertion failed"
            except StudentError as exc:
                passed, message = False, str(exc)
            except Exception as exc:  # noqa: BLE001 - the check could not run on this code
                passed, message = False, self.out_of_memory(exc) or f"{type(exc).__name__}: {exc}"
        if self.cpu["exceeded"]:
            passed, message = False, self._cpu_message()
        for w in caught[:50]:
            note = f"{w.category.__name__}: {w.message}"
            if note not in notes:
                notes.append(_cut(note, 300))
        return {"kind": "test", "passed": passed, "message": _cut(message), "notes": notes[:NOTES_MAX],
                "reports": [r[:300] for r in list(self.reports)[:NOTES_MAX] if type(r) is str]}

    def out_of_memory(self, exc: BaseException) -> str:
        """A failed allocation, said in terms of the grading limit ('' for any other error)."""
        text = str(exc)
        if not (isinstance(exc, MemoryError) or "can't allocate memory" in text or "Cannot allocate memory" in text):
            return ""
        return self._memory_message(text)

    def _memory_message(self, text: str) -> str:
        limit = (self.task.get("limits") or {}).get("mem_gb")
        return ((f"the code used more than the grading memory limit of {limit:g} GB" if limit else
                 "the code ran out of memory") + f" ({_cut(text, 200)}). Hint: grading runs inference "
                "only; do not keep large tensors or the whole data set in memory.")

    def test_namespace(self) -> dict:
        names = self.student.call(_namespace, self.student, dict(self.public_ids))
        ns = {}
        for name, (kind, value) in names.items():
            if kind == "library":
                module, attr = value
                private = self.loader.modules.get(module)
                ns[name] = private if attr is None else getattr(private, attr, None)
            else:
                ns[name] = value
        test_builtins = dict(self.loader.builtins_of["course_utils"])
        test_builtins.update(print=lambda *a, **k: None, type=_test_type, isinstance=remote_isinstance)
        ns.update(checks=self.checks, specs=self.specs, pretrained=self.loader.modules["course_utils.pretrained"],
                  profiles=self.loader.modules["course_utils.profiles"],
                  torch=torch, nn=torch.nn, os=os, copy=copy, profile=self.profile, device=self.device,
                  __builtins__=test_builtins, __name__="__grading__")
        return ns


def _test_type(*args):
    return remote_type(args[0]) if len(args) == 1 else type(*args)


class _Abandon(Exception):
    """A cell did not stop: nothing after it can be graded."""


def _user_ns(student):
    return student.objects[0].user_ns      # its identity tells the audit hook whose functions are whose


def main(task: dict, loader, channel_fd: int, key: bytes) -> None:
    import sys
    channel = Channel(channel_fd, key)
    judge = Judge(task, loader, channel)
    judge_ident = threading.get_ident()
    try:
        judge.run(lambda user_ns: sys.addaudithook(guard.make_audit_hook(judge_ident, channel_fd, user_ns)))
    except BaseException as exc:  # noqa: BLE001 - the judge's own fault: say so, authenticated
        import traceback
        channel.send(event="fatal", error=_cut("".join(traceback.format_exception(exc)), 4000))
        return
    channel.send(event="done")
