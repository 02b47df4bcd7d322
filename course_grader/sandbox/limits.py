"""Resource limits of the judge, applied inside the sandbox before any student code runs.

An unprivileged process can lower its limits, never raise them back. Memory is ``RLIMIT_DATA``
(private writable memory: heap, anonymous mmaps, thread stacks), which, unlike ``RLIMIT_AS``,
does not count the address space torch reserves but never writes, so the figure is close to
what student code can actually use: an allocation past it fails in the student's code with a
``MemoryError`` (or torch's allocator error), which the check reports. CPU time is a backstop
behind the per-cell timeouts: at the soft limit the judge stops the running cell and goes on;
at the hard limit the process is killed and the rest of the notebook is not graded.
"""
from __future__ import annotations

import resource

GiB = 1024 ** 3
PR_SET_DUMPABLE = 4


def _lower(which: int, soft: int, hard: int | None = None) -> None:
    """Set a limit no higher than it already is."""
    old_soft, old_hard = resource.getrlimit(which)
    hard = soft if hard is None else hard
    if old_hard != resource.RLIM_INFINITY:
        hard = min(hard, old_hard)
    resource.setrlimit(which, (min(soft, hard), hard))


def apply_limits(cpu_s: float, mem_gb: float, fsize_gb: float, nproc: int) -> None:
    """Memory, file size and processes now; CPU time from :func:`limit_cpu` once the judge is ready."""
    _lower(resource.RLIMIT_DATA, int(mem_gb * GiB))
    _lower(resource.RLIMIT_FSIZE, int(fsize_gb * GiB))  # a bigger write fails with EFBIG
    _lower(resource.RLIMIT_NPROC, nproc)                 # per uid: each worker slot has its own
    _lower(resource.RLIMIT_CORE, 0)


def limit_cpu(cpu_s: float) -> None:
    """``cpu_s`` more CPU seconds from now (the judge's own start-up does not count): at the soft
    limit the judge stops the running cell (SIGXCPU); at the hard one the kernel kills the process
    (code that ignores the stop)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = int(usage.ru_utime + usage.ru_stime) + 1
    _lower(resource.RLIMIT_CPU, used + int(cpu_s), used + int(2 * cpu_s + 30))


def prctl(option: int, value: int) -> bool:
    """Linux's ``prctl(option, value)``: False where the C library has none (not Linux); OSError if
    the kernel refuses."""
    import ctypes
    try:
        call = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return False
    if call(option, value, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option}, {value}) failed")
    return True


def not_dumpable() -> None:
    """No other process of the sandbox uid may trace this one or read its memory, environment or
    descriptors (``/proc/<pid>/mem``): a process that student code starts despite the audit hook
    (``_posixsubprocess`` raises no audit event) runs as the same uid. Linux only; elsewhere a no-op."""
    prctl(PR_SET_DUMPABLE, 0)
