"""The kernel that runs a student's notebook while it is graded: resource limits, then IPython.

``course grade`` does not use the stock ``python3`` kernel. It writes a kernelspec named
``course-grader`` (see :func:`write_kernelspec`) whose command is ``python -m
course_grader.sandbox.kernel --memory-gb N -f {connection_file}`` and tells nbgrader's ``Execute`` to
use it. This module is the one place where a grading kernel is started, so a sandbox (a
private filesystem view, no network, another uid) plugs in by changing :func:`kernel_argv`:
nothing else in the grading pipeline knows how the kernel is launched.

The memory limit is ``RLIMIT_DATA`` (private writable memory: heap, anonymous mmaps, thread
stacks). Unlike ``RLIMIT_AS`` it does not count shared libraries or address space that is
reserved but never written (torch maps ~3 GB of it on import, CUDA far more), so the number is
close to what the kernel can actually dirty. An allocation past it fails inside the student's
cell with a ``MemoryError`` that names the limit; the kernel, and the grader, carry on.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
from pathlib import Path

KERNEL_NAME = "course-grader"
# Memory (GiB) a grading kernel may use, per profile; COURSE_KERNEL_MEMORY_GB overrides.
# Grading is inference on the fixed evaluation subset, far below these.
MEMORY_GB = {"smoke": 4.0, "cpu": 6.0, "full": 16.0}
MEMORY_ENV = "COURSE_KERNEL_MEMORY_GB"
GiB = 1024 ** 3


def memory_limit_gb(profile: str | None = None) -> float:
    """The grading kernel's memory limit: ``$COURSE_KERNEL_MEMORY_GB``, else per profile."""
    if os.environ.get(MEMORY_ENV):
        return float(os.environ[MEMORY_ENV])
    profile = profile or os.environ.get("COURSE_PROFILE") or "cpu"
    return MEMORY_GB.get(profile, MEMORY_GB["cpu"])


def kernel_argv(memory_gb: float) -> list[str]:
    """The command jupyter_client runs to start one grading kernel (the sandbox hook)."""
    return [sys.executable, "-m", "course_grader.sandbox.kernel", "--memory-gb", f"{memory_gb:g}",
            "-f", "{connection_file}"]


def write_kernelspec(jupyter_dir: Path, memory_gb: float, argv: list[str] | None = None) -> Path:
    """Write ``<jupyter_dir>/kernels/course-grader/kernel.json``; put ``jupyter_dir`` on JUPYTER_PATH."""
    spec_dir = Path(jupyter_dir) / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {"argv": argv or kernel_argv(memory_gb), "language": "python",
            "display_name": f"Python 3 (grading, {memory_gb:g} GB)",
            "metadata": {"debugger": False}}
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1) + "\n")
    return Path(jupyter_dir)


def apply_memory_limit(memory_gb: float) -> None:
    limit = int(memory_gb * GiB)
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))


def is_out_of_memory(exc: BaseException) -> bool:
    """A failed allocation: ``MemoryError``, or torch's allocator error (a ``RuntimeError``)."""
    if isinstance(exc, MemoryError):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and ("can't allocate memory" in text or "Cannot allocate memory" in text)


def limit_message(memory_gb: float, exc: BaseException) -> str:
    detail = str(exc).strip().splitlines()[-1][:200] if str(exc).strip() else ""
    return (f"this cell tried to use more than the grading kernel's memory limit of {memory_gb:g} GB"
            + (f" ({detail})" if detail else "")
            + ". Hint: grading runs inference only; do not keep large tensors or the whole data set in memory.")


def install_memory_messages(shell, memory_gb: float) -> None:
    """Make allocation failures in student code say which limit they hit."""

    def handler(self, etype, value, tb, tb_offset=None):
        if is_out_of_memory(value):
            etype, value = MemoryError, MemoryError(limit_message(memory_gb, value))
        self.showtraceback((etype, value, tb), tb_offset=tb_offset)

    shell.set_custom_exc((MemoryError, RuntimeError), handler)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="IPython kernel with the grading limits applied")
    parser.add_argument("--memory-gb", type=float, default=None)
    args, kernel_args = parser.parse_known_args(argv)
    memory_gb = args.memory_gb if args.memory_gb is not None else memory_limit_gb()
    apply_memory_limit(memory_gb)
    # Started in this process (not exec'd), so ipykernel's parent poller watches nbgrader:
    # if the grader dies, the kernel exits instead of running on as an orphan.
    from ipykernel.kernelapp import IPKernelApp
    app = IPKernelApp.instance()
    app.initialize(kernel_args)
    install_memory_messages(app.shell, memory_gb)
    app.start()


if __name__ == "__main__":
    main()
