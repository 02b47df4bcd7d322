"""Inside the grading sandbox: apply the limits, make a CPU-time breach readable, start the kernel.

:mod:`course_grader.sandbox.bwrap` runs ``python <this file> <limits> -- <kernel argv>``
as the sandbox's unprivileged user. This module lowers the resource limits (an unprivileged
process can lower them, never raise them back), installs a ``SIGXCPU`` handler and then starts
the real kernel *in this process* when its command is ``<this python> -m <module> ...`` (the
``course-grader`` kernel of :mod:`course_grader.sandbox.kernel`, or ipykernel's launcher), so the handler
stays installed; any other command is ``exec``'d (and gets the limits, not the message).

CPU time: at ``--cpu-s`` seconds the kernel receives ``SIGXCPU``. If a cell is running, it is
stopped with :class:`CPUTimeLimitExceeded` ("exceeded the grading CPU-time limit of N s"); the
kernel lives on and every later cell gets a grace of a few more CPU seconds, so the tests after
the offending cell are still graded. Code that ignores the signal (a loop inside native code)
is killed at the hard limit, twice the soft one.
"""
from __future__ import annotations

import os
import sys

# Started as a script (``python .../course_grader/sandbox/inside.py``, so that the stock kernel
# does not pay for importing the grader and torch): keep this folder off sys.path, so that
# this folder's modules (kernel, bwrap, ...) never shadow anything.
if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]

import argparse  # noqa: E402
import resource  # noqa: E402
import runpy  # noqa: E402
import signal  # noqa: E402

GiB = 1024 ** 3


class CPUTimeLimitExceeded(BaseException):
    """The kernel used up its CPU time. A ``BaseException`` (like ``KeyboardInterrupt``), so that
    ``except Exception`` in student code does not swallow it."""


def grace_seconds(cpu_s: float) -> float:
    """CPU seconds each cell gets once the budget is spent (enough for a test cell, not a loop)."""
    return max(5.0, cpu_s / 20)


def hard_cpu_seconds(cpu_s: float) -> int:
    return int(2 * cpu_s + grace_seconds(cpu_s))


def cpu_message(cpu_s: float) -> str:
    return (f"this notebook exceeded the grading CPU-time limit of {cpu_s:g} s, so the cell was stopped "
            f"(later cells get {grace_seconds(cpu_s):g} s more each). Hint: look for an endless loop or "
            "heavy work outside train_model; training is skipped while grading.")


def _lower(which: int, soft: int, hard: int | None = None) -> None:
    """Set a limit no higher than it already is (an unprivileged process cannot raise it)."""
    old_soft, old_hard = resource.getrlimit(which)
    hard = soft if hard is None else hard
    if old_hard != resource.RLIM_INFINITY:
        hard = min(hard, old_hard)
    resource.setrlimit(which, (min(soft, hard), hard))


def apply_limits(cpu_s: float, mem_gb: float, fsize_gb: float, nproc: int) -> None:
    _lower(resource.RLIMIT_CPU, int(cpu_s), hard_cpu_seconds(cpu_s))
    # RLIMIT_DATA, the same figure course_grader.sandbox.kernel uses (see there why not RLIMIT_AS).
    _lower(resource.RLIMIT_DATA, int(mem_gb * GiB))
    _lower(resource.RLIMIT_FSIZE, int(fsize_gb * GiB))  # a bigger write fails with EFBIG
    _lower(resource.RLIMIT_NPROC, nproc)                 # fork bombs stop here
    _lower(resource.RLIMIT_CORE, 0)


def _inside_cell(frame) -> bool:
    """Is the main thread running a cell (IPython's ``run_code`` is on the stack)?"""
    while frame is not None:
        code = frame.f_code
        if code.co_name == "run_code" and "IPython" in code.co_filename:
            return True
        frame = frame.f_back
    return False


def install_cpu_handler(cpu_s: float) -> None:
    grace = grace_seconds(cpu_s)

    def on_sigxcpu(signum, frame):
        usage = resource.getrusage(resource.RUSAGE_SELF)
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        soft = int(usage.ru_utime + usage.ru_stime + grace)
        resource.setrlimit(resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))
        if _inside_cell(frame):
            raise CPUTimeLimitExceeded(cpu_message(cpu_s))

    signal.signal(signal.SIGXCPU, on_sigxcpu)


def run_kernel(argv: list[str]) -> None:
    """Run ``argv`` in this process if it is ``<this python> -m module ...``, else exec it."""
    same_python = (len(argv) >= 3 and argv[1] == "-m"
                   and os.path.realpath(argv[0]) == os.path.realpath(sys.executable))
    if not same_python:
        os.execv(argv[0], argv)
    sys.argv = [argv[2], *argv[3:]]
    runpy.run_module(argv[2], run_name="__main__", alter_sys=True)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if "--" not in argv:
        raise SystemExit("usage: python course_grader/sandbox/inside.py [limits] -- KERNEL COMMAND")
    split = argv.index("--")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cpu-s", type=float, required=True)
    parser.add_argument("--mem-gb", type=float, required=True)
    parser.add_argument("--fsize-gb", type=float, required=True)
    parser.add_argument("--nproc", type=int, required=True)
    args = parser.parse_args(argv[:split])
    apply_limits(args.cpu_s, args.mem_gb, args.fsize_gb, args.nproc)
    install_cpu_handler(args.cpu_s)
    run_kernel(argv[split + 1:])


if __name__ == "__main__":
    main()
