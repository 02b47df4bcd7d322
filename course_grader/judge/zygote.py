"""The warm judge: one sandbox per worker imports torch once and forks a judge for each submission.

Starting a judge means importing torch, torchvision, matplotlib, IPython and the teaching library
before the first cell runs, which is much of the time a notebook's grading takes (figures:
book/instructor/measurements.md). ``python -m course_grader.judge --zygote`` does those imports
once, in the grading sandbox (the same command, namespaces, uid and view of the files as a
one-shot judge), and then forks one judge per submission. What one student's code could leave for the next is removed in between:

* **No processes.** The zygote is the subreaper of its PID namespace. After a judge ends it sends
  SIGKILL to every process it may signal (``kill(-1)``) and reaps them all, so nothing a student
  started lives on; a fork cannot escape that signal.
* **No files.** ``/tmp`` and ``/dev/shm`` (the only writable places in the sandbox) are emptied,
  and System V IPC objects are removed.
* **No secrets in the zygote.** The zygote never reads a task: the judge it forks reads its key
  and task from the socket itself and closes the socket before any student code runs. Zygote and
  judges are not dumpable (:func:`course_grader.sandbox.limits.not_dumpable`), so no process of
  the sandbox uid can trace another or read its memory or descriptors.
* **Nothing imported later.** The zygote imports everything it will ever run before the first
  judge, and Python starts isolated (``-I``: no working folder on ``sys.path``): a file a student
  leaves in ``/tmp`` can never be imported by it.

A student can still stop or kill the zygote (same uid): the grader then gets no answer, kills
the sandbox and starts a fresh one for the next submission. Each submission's verdicts travel on
a pipe of their own, made by the grader and handed over with the task (``SCM_RIGHTS``), so the
grader reads them exactly as from a one-shot judge: authenticated lines until end of file.

Protocol on the zygote's standard input (a Unix stream socket): the grader sends an 8-byte
length with the channel's write end attached, then that many bytes of the request JSON
``{"key": hex, "task": {...}}``; after the judge and everything it left are gone, the zygote
answers ``exit <status>\\n`` (the judge's exit status, or 128 + the signal that killed it).
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import struct
import subprocess
import time
from pathlib import Path

from ..sandbox import limits, processes

HEADER = struct.Struct("!Q")
MAX_REQUEST = 256 * 1024 ** 2
WRITABLE = ("/tmp", "/dev/shm")
SYSV_TABLES = ("/proc/sysvipc/shm", "/proc/sysvipc/msg", "/proc/sysvipc/sem")
PR_SET_CHILD_SUBREAPER = 36


# --- inside the sandbox ---------------------------------------------------------------------------

def _read_exactly(sock: socket.socket, size: int) -> bytes:
    parts, left = [], size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise EOFError("the grader closed the socket in the middle of a request")
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def serve(judge) -> None:
    """The zygote's loop (standard input is the socket); ``judge(request, channel_fd)`` never returns."""
    sock = socket.socket(fileno=0)
    if not limits.prctl(PR_SET_CHILD_SUBREAPER, 1):
        raise OSError("prctl is not available: the warm judge needs Linux")
    while True:
        try:
            head, fds, _, _ = socket.recv_fds(sock, HEADER.size, 1)
        except OSError:
            return
        if not head:
            return                                   # the grader is done with this sandbox
        if len(fds) != 1:
            for fd in fds:
                os.close(fd)
            return                                   # not the grader's framing: end, it starts a new one
        pid = os.fork()
        if pid == 0:
            try:
                head += _read_exactly(sock, HEADER.size - len(head))
                (size,) = HEADER.unpack(head)
                if size > MAX_REQUEST:
                    os._exit(2)
                request = _read_exactly(sock, size)
                sock.close()
            except BaseException:  # noqa: BLE001 - whatever failed, this child must not return to the loop
                os._exit(2)
            os.set_inheritable(fds[0], False)     # as a one-shot judge's channel (a dup) is
            judge(request, fds[0])
            os._exit(0)
        os.close(fds[0])
        status = _wait_for(pid)
        try:
            clear()
        except BaseException:  # noqa: BLE001 - a sandbox that cannot be cleared is ended; the grader starts another
            return
        try:
            sock.sendall(f"exit {status}\n".encode())
        except OSError:
            return


def _wait_for(pid: int) -> int:
    """The judge's exit status (128 + signal when killed), reaping strays that end meanwhile."""
    while True:
        try:
            done, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 1
        if done == pid:
            return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


def clear() -> None:
    """Kill and reap every other process of the sandbox, then empty its writable places (raises if
    something cannot be removed)."""
    while True:
        try:
            os.kill(-1, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass                                     # nothing left that this uid may signal
        try:
            while True:
                os.waitpid(-1, 0)
        except ChildProcessError:
            pass
        if not processes.of_uid(os.getuid(), {os.getpid()}):
            break
        time.sleep(0.01)
    for place in WRITABLE:
        _empty(Path(place))
    if any(len(Path(t).read_text().splitlines()) > 1 for t in SYSV_TABLES if Path(t).exists()):
        subprocess.run(["ipcrm", "--all"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)


def _empty(folder: Path) -> None:
    """Remove everything of this uid in ``folder``, whatever modes student code gave it. What
    belongs to another uid stays: the sandbox's own mount points (read-only paths that lie under
    ``/tmp``, e.g. a checkout there), which this uid can neither write nor fill."""
    uid = os.getuid()
    for entry in list(os.scandir(folder)):
        if entry.stat(follow_symlinks=False).st_uid != uid:
            continue
        if entry.is_dir(follow_symlinks=False):
            os.chmod(entry.path, 0o700)
            for top, dirs, _ in os.walk(entry.path):
                for name in dirs:        # before os.walk enters them
                    path = os.path.join(top, name)
                    if not os.path.islink(path):
                        os.chmod(path, 0o700)
            shutil.rmtree(entry.path)
        else:
            os.unlink(entry.path)


# --- the grader's side ----------------------------------------------------------------------------

class Zygote:
    """A warm judge in its sandbox, started by ``command`` (which ends in ``-m course_grader.judge
    --zygote``), and the folder bound at ``/submission`` that each task's files are staged in."""

    REPLY_S = 60.0        # how long clearing up after a judge may take before the sandbox is replaced

    def __init__(self, command: list[str], staging: Path):
        self.command, self.staging = command, staging
        self.proc: subprocess.Popen | None = None
        self.sock: socket.socket | None = None
        self.judges = 0       # judges forked in the current sandbox

    @property
    def where(self) -> dict:
        """Which sandbox (the host pid of its bwrap) ran the last judge, and how many it has run."""
        return {"sandbox": self.proc.pid if self.proc else None, "judge": self.judges}

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        ours, theirs = socket.socketpair()
        try:
            self.proc = subprocess.Popen(self.command, stdin=theirs, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, start_new_session=True)
        finally:
            theirs.close()
        self.sock = ours
        self.judges = 0

    def submit(self, request: bytes, timeout: float) -> int:
        """Hand one judge its request; returns the read end of its channel (the caller closes it)."""
        for attempt in (1, 2):
            if not self.alive:
                self.stop()
                self.start()
            read, write = os.pipe()
            try:
                self.sock.settimeout(timeout)
                socket.send_fds(self.sock, [HEADER.pack(len(request))], [write])
                self.sock.sendall(request)
                self.judges += 1
                return read
            except OSError:
                os.close(read)
                self.stop()
                if attempt == 2:
                    raise
            finally:
                os.close(write)
        raise AssertionError("unreachable")

    def reply(self, timeout: float) -> int | None:
        """The judge's exit status once the sandbox is clear, or None (then the sandbox is stopped)."""
        deadline, buffer = time.monotonic() + timeout, b""
        while b"\n" not in buffer:
            left = deadline - time.monotonic()
            if left <= 0 or self.sock is None:
                break
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(64)
            except OSError:
                break
            if not chunk:
                break
            buffer += chunk
        if self.sock is not None:
            self.sock.settimeout(None)
        line = buffer.split(b"\n", 1)[0].decode(errors="replace")
        if buffer.count(b"\n") == 1 and buffer.endswith(b"\n") and line.startswith("exit "):
            try:
                return int(line[5:])
            except ValueError:
                pass
        self.stop()
        return None

    def stop(self) -> None:
        """Kill the sandbox and everything in it (the next task starts a fresh one)."""
        proc, self.proc = self.proc, None
        sock, self.sock = self.sock, None
        if sock is not None:
            sock.close()
        if proc is not None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait()
