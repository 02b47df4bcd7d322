"""``python -m course_grader.judge``: set the process up, then hand over to the private runner.

Standard input: one JSON object ``{"key": hex, "task": {...}}`` (see
:func:`course_grader.plugins.judge_execute.task_for`). Standard output becomes the channel;
what student code prints is dropped (its outputs in the feedback are those of the student's own
run, as submitted). Everything here runs before any student code.

``python -m course_grader.judge --zygote``: the warm judge (:mod:`.zygote`); it imports once and
forks a judge per task, which then reads the same request from the socket the zygote serves.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import traceback


class Discard:
    """Where ``print`` goes while a notebook is graded."""

    def write(self, text) -> int:
        return len(text)

    def flush(self) -> None:
        return None

    def isatty(self) -> bool:
        return False


def working_copy(files: str | None) -> str:
    """A private, writable copy of the submission's files (the original stays read-only)."""
    work = tempfile.mkdtemp(prefix="work-")
    if files:
        for name in sorted(os.listdir(files)):
            src = os.path.join(files, name)
            if os.path.isfile(src) and not os.path.islink(src) and not name.endswith(".ipynb"):
                shutil.copyfile(src, os.path.join(work, name))
    return work


def main() -> None:
    if sys.argv[1:] == ["--zygote"]:
        from course_grader.judge import zygote
        if os.getppid() != 1:      # kill(-1) is only safe as the child of a PID namespace's init
            raise SystemExit("the warm judge runs only inside the grading sandbox")
        # torch.cuda.is_available() asks the driver, which makes CUDA unusable in forked processes
        # ("poison fork"); asked through NVML it does not. So while the warm judge imports, any such
        # question goes to NVML; the judges ask the driver again (NVML is read through ctypes,
        # which the guard refuses to student code). On a GPU grader the judges use CUDA.
        os.environ["PYTORCH_NVML_BASED_CUDA_CHECK"] = "1"
        prepare()
        del os.environ["PYTORCH_NVML_BASED_CUDA_CHECK"]
        import torch
        if torch.cuda.is_initialized():
            raise SystemExit("CUDA was initialised before the judges were forked: they could not use it")
        zygote.serve(judge)
        os._exit(0)
    request = sys.stdin.buffer.read()
    os.close(0)
    channel_fd = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    prepare()
    judge(request, channel_fd)


def prepare() -> None:
    """Import everything the judge and the checks use, before student code can touch it."""
    from course_grader.sandbox.limits import not_dumpable
    not_dumpable()
    os.environ.update(NBGRADER_EXECUTION="autograde", MPLBACKEND="Agg")
    import copy  # noqa: F401
    import hmac  # noqa: F401

    import IPython.core.interactiveshell  # noqa: F401
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401
    import torch
    import torchvision  # noqa: F401
    import torchvision.models  # noqa: F401

    settle_optimizer_steps(torch)

    import course_utils
    for name in ("profiles", "config", "data", "summary", "metrics", "specs", "checks", "pretrained", "train", "plots"):
        __import__(f"course_utils.{name}")
    del course_utils

    from course_grader.judge import private, runner  # noqa: F401 - compiled now, loaded privately per judge
    from course_grader.sandbox import limits  # noqa: F401


def judge(request: bytes, channel_fd: int) -> None:
    """Grade one notebook in this process (student code runs here); never returns."""
    sys.stdout = sys.stderr = Discard()
    try:
        parsed = json.loads(request)
        task, key = parsed["task"], bytes.fromhex(parsed["key"])
        limits = task.get("limits")
        if limits:
            from course_grader.sandbox.limits import apply_limits
            apply_limits(**limits)
        os.environ["COURSE_PROFILE"] = task["profile"]
        os.chdir(working_copy(task.get("files")))

        from course_grader.judge.private import PrivateLoader
        loader = PrivateLoader()
        runner = loader.load("course_grader.judge.runner")
        runner.main(task, loader, channel_fd, key)
    except BaseException:  # noqa: BLE001 - a fault of the grader, not of the student
        line = json.dumps({"fatal": traceback.format_exc()[-4000:]}) + "\n"
        os.write(channel_fd, line.encode())
    os._exit(0)   # no atexit handlers, no finalizers of student objects


def settle_optimizer_steps(torch) -> None:
    """Make one optimizer of every ``torch.optim`` class now, before the guard's snapshot.

    torch wraps an optimizer class's ``step`` (a profiling hook) the first time one of that class
    is made; made later by the student, that would look like tampering.
    """
    weight = [torch.nn.Parameter(torch.zeros(1))]
    for value in vars(torch.optim).values():
        if isinstance(value, type) and issubclass(value, torch.optim.Optimizer) and value is not torch.optim.Optimizer:
            try:
                value(weight)
            except Exception:  # noqa: BLE001 - a class that needs other arguments keeps torch's default
                pass


if __name__ == "__main__":
    main()
