"""Students' notebooks run top to bottom as a kernel runs them, without a kernel start for each.

Most of a smoke-profile student run is start-up: a fresh kernel imports torch, torchvision and
the course library (about 5 of 9 seconds on two cores), and the round trips run thirty students.
Here one process imports them once and forks a child per notebook. The child runs the cells in
IPython, as ipykernel does, records each cell's output or error and goes on after an error, then
writes the notebook into the student's folder beside the weights it saved. Children share
nothing with one another: each starts from the parent's pristine state.

The parent never runs a torch operation, so no OpenMP thread pool exists when it forks (GNU
OpenMP hangs in a child forked after its pool started), and each child starts torch's default
threads as a kernel would. The submitted notebook differs from a kernel's in two ways: figures
are drawn with Agg and not saved as PNG outputs, and an error output has no traceback lines
(the feedback shows a student's own outputs; the round-trip checks pass without them).
test_roundtrips checks that such a run trains exactly the weights a Jupyter kernel trains.
"""
from __future__ import annotations

import atexit
import json
import os
import select
import signal
import subprocess
import sys
from pathlib import Path

import nbformat

# What the assignments' first cells import; the parent pays for it once.
PRELOAD = ("torch", "torchvision", "matplotlib.pyplot", "course_utils.config", "course_utils.data",
           "course_utils.train", "course_utils.plots", "course_utils.checks", "course_utils.specs",
           "course_utils.pretrained", "IPython.core.interactiveshell")


class StudentRunner:
    """A warm process (see the module docstring) that runs notebooks for one environment."""

    def __init__(self, env: dict[str, str]):
        self.env = env
        self.proc: subprocess.Popen | None = None
        atexit.register(self.stop)

    def _start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, __file__], env=self.env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc and proc.poll() is None:
            proc.stdin.close()
            proc.wait(timeout=30)

    def run(self, nb: nbformat.NotebookNode, workdir: Path, name: str, timeout: float) -> None:
        """Execute ``nb`` in ``workdir`` (errors recorded, the run goes on) and write it there as
        ``name``; ``TimeoutError`` past ``timeout`` seconds, ``RuntimeError`` if the run broke."""
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        nbformat.write(nb, workdir / name)
        self.proc.stdin.write(json.dumps({"workdir": str(workdir), "name": name, "timeout": timeout}) + "\n")
        reply = json.loads(self.proc.stdout.readline() or '{"error": "the student runner died"}')
        if reply.get("timed_out"):
            raise TimeoutError(f"{name} ran past {timeout} s")
        if reply.get("error"):
            raise RuntimeError(f"{name}: {reply['error']}")
        nb.update(nbformat.read(workdir / name, as_version=4))


# pytest sets it anew for every test; a student's run has no use for it.
VOLATILE = frozenset({"PYTEST_CURRENT_TEST"})
_runner: StudentRunner | None = None


def run_as_student(nb: nbformat.NotebookNode, workdir: Path, name: str, env: dict[str, str],
                   timeout: float) -> None:
    """``StudentRunner.run`` in the warm process for ``env``: one at a time, replaced (not kept
    beside the new one) when the environment changes."""
    global _runner
    env = {k: v for k, v in env.items() if k not in VOLATILE}
    if _runner is None or _runner.env != env:
        if _runner is not None:
            _runner.stop()
        _runner = StudentRunner(env)
    _runner.run(nb, workdir, name, timeout)


# --- the warm process -------------------------------------------------------------------------

def _execute(path: Path) -> None:
    """In the child: run every code cell of ``path`` and write it back with outputs."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output
    from traitlets.config import Config

    nb = nbformat.read(path, as_version=4)
    config = Config()
    config.HistoryManager.hist_file = ":memory:"   # as nbclient starts kernels: no history file
    shell = InteractiveShell.instance(config=config)
    for count, cell in enumerate((c for c in nb.cells if c.cell_type == "code"), start=1):
        with capture_output() as captured:
            result = shell.run_cell(cell.source, store_history=False)
        cell.execution_count, cell.outputs = count, []
        for stream, text in (("stdout", captured.stdout), ("stderr", captured.stderr)):
            if text:
                cell.outputs.append(nbformat.v4.new_output("stream", name=stream, text=text))
        for shown in captured.outputs:
            cell.outputs.append(nbformat.v4.new_output("display_data", data=shown.data, metadata=shown.metadata))
        error = result.error_before_exec or result.error_in_exec
        if error is not None:
            cell.outputs.append(nbformat.v4.new_output("error", ename=type(error).__name__, evalue=str(error),
                                                       traceback=[]))
    nbformat.write(nb, path)


def _run_child(task: dict) -> int:
    """Fork a child that runs one notebook and exits (0: it ran to the end); its pid."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):   # the protocol pipes are the parent's
                os.dup2(null, fd)
            os.chdir(task["workdir"])
            _execute(Path(task["workdir"]) / task["name"])
            code = 0
        finally:
            os._exit(code)
    return pid


def serve() -> None:
    import importlib
    sys.path[0] = ""   # as in a kernel: the working folder (each child's is the student's), not tests/
    for module in PRELOAD:
        importlib.import_module(module)
    for line in sys.stdin:
        task = json.loads(line)
        pid = _run_child(task)
        fd = os.pidfd_open(pid)
        ready, _, _ = select.select([fd], [], [], task["timeout"])
        if not ready:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        os.close(fd)
        reply = ({"timed_out": True} if not ready else
                 {} if os.waitstatus_to_exitcode(status) == 0 else
                 {"error": f"the run exited with status {os.waitstatus_to_exitcode(status)}"})
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    serve()
