"""The grading sandbox: the judge runs as its own unprivileged uid, offline, in a private view of the files.

While a notebook is graded, arbitrary student code runs on the instructor's machine. The judge
(:mod:`course_grader.judge`) that runs it is started inside a bubblewrap (``bwrap``) sandbox,
as root sets it up, then drops to an unprivileged uid:

    bwrap --unshare-net --unshare-pid --unshare-ipc --unshare-uts --die-with-parent --clearenv
          <the file view below> --
      setpriv --reuid UID --regid UID --clear-groups --no-new-privs --
        python -I -B -m course_grader.judge [--zygote]

What the judge sees (everything else does not exist for it):

=============================================  ===========================================
read-only                                      the system (/usr, /etc, /bin, /lib*, /sys), the
                                               Python interpreter and the virtual environment,
                                               the ``course_utils`` and ``course_grader``
                                               packages (not the repository around them),
                                               ``$COURSE_DATA_DIR``, the tensor cache
                                               (``$COURSE_CACHE_DIR``), ``$TORCH_HOME``, and a
                                               private copy of the submission's files (weights;
                                               never a notebook) at ``/submission``
fresh, size-limited tmpfs                      ``/tmp`` and ``/dev/shm``: the judge copies the
                                               files there and works in that copy; they are
                                               emptied after each student (a warm judge's
                                               sandbox serves one worker's students in turn,
                                               :mod:`course_grader.judge.zygote`)
absent                                         the course root: ``solutions/``, ``gradebook.db``,
                                               ``submitted/``, ``autograded/``, other students'
                                               folders, ``feedback/``, ``reports/``; the
                                               instructor's home; the host's /tmp and /run
=============================================  ===========================================

The task (the notebook's cells, hidden tests included) arrives on standard input and the
verdicts leave on standard output (:mod:`course_grader.judge.protocol`); nothing is written to
the host's disk from inside. Network: a namespace of its own with only a loopback. Processes: a
PID namespace; when the judge exits, or the grader dies (``--die-with-parent``), every process
it forked is killed (a warm judge kills them itself after each student). Each worker slot has a
uid of its own (``BASE_UID + slot``), so the per-user process limit of one student's run cannot
be exhausted by another's. Environment:
cleared, then an allow-list (:func:`judge_environment`). Limits (:mod:`.limits`): CPU time,
memory, file size, processes; /tmp is a size-limited tmpfs.

Wiring: nbgrader_config.py calls :func:`configure`, which replaces nbgrader's ``Execute``
preprocessor by :class:`course_grader.plugins.judge_execute.JudgeExecute`; it starts the judge
here unless ``COURSE_SANDBOX=off`` (what ``course grade --unsafe-no-sandbox`` sets). ``course
grade`` calls :func:`grading_mode` first: where the sandbox cannot run (not root, no bubblewrap,
namespaces refused) it refuses to grade unless the instructor passes ``--unsafe-no-sandbox``, and
the report then says so. ``python -m course_grader.sandbox.bwrap check`` tells whether the
sandbox works on this machine and why not.
"""
from __future__ import annotations

import functools
import glob
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

MODE_ENV = "COURSE_SANDBOX"            # "off": grade without the sandbox (set by --unsafe-no-sandbox)
SLOT_ENV = "COURSE_WORKER_SLOT"        # set by `course grade` for each worker process (internal)
BASE_UID = 61000                       # slot k runs as uid/gid BASE_UID + k (no passwd entry needed)
SYSTEM_DIRS = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
FILES_AT = "/submission"               # where the judge finds the submission's files (read-only)
# Isolated (-I): no PYTHON* variables, no user site, and neither the working folder (/tmp, which
# student code writes) nor a script's folder on sys.path; -B: no bytecode written.
JUDGE_ARGS = ("-I", "-B", "-m", "course_grader.judge")
# The environment of the judge: these names, and nothing else, pass through.
PASS_NAMES = frozenset({
    "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_NUMERIC", "TZ",
    "OMP_NUM_THREADS", "OMP_WAIT_POLICY", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "CUDA_VISIBLE_DEVICES",
    "CUDA_DEVICE_ORDER",
    "COURSE_PROFILE", "COURSE_OFFLINE", "COURSE_BACKBONE",
})


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot be set up here; the message says why and what to do."""


@dataclass(frozen=True)
class Limits:
    """What one student's judge may use (the grading figures of the profile)."""

    cpu_s: float
    mem_gb: float
    tmp_mb: int = 1024
    fsize_gb: float = 1.0
    nproc: int = 512

    def describe(self) -> str:
        return (f"CPU time {self.cpu_s:g} s, memory {self.mem_gb:g} GB, /tmp {self.tmp_mb} MB, "
                f"files up to {self.fsize_gb:g} GB, {self.nproc} processes and threads")


def _home_cache(environ: Mapping[str, str], *parts: str) -> Path:
    return Path(environ.get("HOME") or Path.home()) / ".cache" / Path(*parts)


def data_paths(environ: Mapping[str, str] = os.environ) -> dict[str, Path]:
    """``{env var: path}`` of the data the judge reads: CIFAR-10, the tensor cache, torch's hub.

    Mirrors course_utils.data.data_root/cache_dir (without importing torch into nbgrader; a
    test checks they agree) and torch.hub's default ``$TORCH_HOME``.
    """
    xdg = environ.get("XDG_CACHE_HOME")
    found = {
        "COURSE_DATA_DIR": Path(environ.get("COURSE_DATA_DIR") or _home_cache(environ, "cnn-course", "data")),
        "COURSE_CACHE_DIR": Path(environ.get("COURSE_CACHE_DIR") or _home_cache(environ, "cnn-course", "tensors")),
        "TORCH_HOME": Path(environ.get("TORCH_HOME") or (Path(xdg) / "torch" if xdg else _home_cache(environ, "torch"))),
    }
    return {k: Path(os.path.realpath(os.path.expanduser(v))) for k, v in found.items() if Path(v).expanduser().exists()}


def read_only_paths(environ: Mapping[str, str] = os.environ) -> list[Path]:
    """Everything the judge may read besides the system directories (deduplicated)."""
    import course_utils
    grader = Path(__file__).resolve().parent.parent
    paths = [Path(sys.base_prefix), Path(sys.prefix), Path(os.path.realpath(sys.executable)).parent,
             Path(course_utils.__file__).parent, grader, *data_paths(environ).values()]
    real = sorted({Path(os.path.realpath(p)) for p in paths if Path(p).exists()}, key=lambda p: len(p.parts))
    kept: list[Path] = []
    for p in real:
        if not any(p == q or q in p.parents for q in kept):
            kept.append(p)
    return kept


def judge_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The judge's whole environment: an allow-list, never a database URL, password or token."""
    env = {name: value for name, value in environ.items() if name in PASS_NAMES}
    env.update({k: str(v) for k, v in data_paths(environ).items()})
    env.update(HOME="/tmp", TMPDIR="/tmp", IPYTHONDIR="/tmp/.ipython", MPLCONFIGDIR="/tmp/.matplotlib",
               XDG_CACHE_HOME="/tmp/.cache",
               PATH=f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin")
    return env


def slot_uid(environ: Mapping[str, str] = os.environ) -> int:
    return BASE_UID + int(environ.get(SLOT_ENV) or 0)


@dataclass(frozen=True)
class SandboxConfig:
    uid: int
    gid: int
    read_only: tuple[Path, ...]
    bwrap: str | None
    setpriv: str | None
    tmp_mb: int = 1024

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ, tmp_mb: int = 1024) -> "SandboxConfig":
        uid = slot_uid(environ)
        return cls(uid=uid, gid=uid, read_only=tuple(read_only_paths(environ)), bwrap=shutil.which("bwrap"),
                   setpriv=shutil.which("setpriv"), tmp_mb=tmp_mb)


# --- the command line that starts the judge ---------------------------------------------------------

def _mount_points(binds: list[tuple[str, Path]], mounted: list[Path]) -> list[str]:
    """bwrap options for ``binds`` (option, path), parents first, with world-readable parents.

    bwrap creates missing parent directories with the mode of nothing in particular (0700 for
    some): ``--perms 0755 --dir`` makes each one explicitly, so the unprivileged uid can reach
    the mounts below it.
    """
    args: list[str] = []
    made: set[Path] = {Path("/"), Path("/tmp"), Path("/dev"), Path("/proc")}
    mounted = list(mounted)
    for option, path in sorted(binds, key=lambda b: len(b[1].parts)):
        for parent in reversed(path.parents):
            inside_mount = any(parent == m or m in parent.parents for m in mounted)
            if parent not in made and not inside_mount:
                args += ["--perms", "0755", "--dir", str(parent)]
                made.add(parent)
        args += [option, str(path), str(path)]
        mounted.append(path)
        made.add(path)
    return args


def bwrap_arguments(settings: SandboxConfig, files: Path, env: Mapping[str, str]) -> list[str]:
    """Namespaces, the file view and the environment (everything between ``bwrap`` and ``--``)."""
    files = Path(os.path.realpath(files))
    args = ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session", "--hostname", "grading-sandbox"]
    for d in SYSTEM_DIRS:
        if os.path.islink(d):
            args += ["--symlink", os.readlink(d), d]
        elif os.path.isdir(d):
            args += ["--ro-bind", d, d]
    system = [Path(d) for d in SYSTEM_DIRS if os.path.isdir(d) and not os.path.islink(d)]
    args += ["--ro-bind-try", "/sys", "/sys", "--proc", "/proc", "--dev", "/dev"]
    for dev in sorted(glob.glob("/dev/nvidia*")):  # CUDA, when the grader has a GPU
        args += ["--dev-bind", dev, dev]
    size = str(settings.tmp_mb * 1024 * 1024)
    args += ["--perms", "1777", "--size", size, "--tmpfs", "/tmp",
             "--perms", "1777", "--size", size, "--tmpfs", "/dev/shm"]
    read_only = [p for p in settings.read_only if not any(p == s or s in p.parents for s in system)]
    args += _mount_points([("--ro-bind", p) for p in read_only], mounted=system)
    # At a fixed path of its own: binding it where it lies would show the course's folder names.
    args += ["--ro-bind", str(files), FILES_AT]
    args += ["--chdir", "/tmp", "--clearenv"]
    for name, value in sorted(env.items()):
        args += ["--setenv", name, value]
    # bwrap runs as root without a user namespace (it needs no unprivileged user namespaces and
    # can bind paths under /root); setpriv needs these capabilities to drop to the sandbox uid.
    args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP"]
    return args


def drop_privileges(settings: SandboxConfig) -> list[str]:
    return [settings.setpriv or "setpriv", "--reuid", str(settings.uid), "--regid", str(settings.gid),
            "--clear-groups", "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--"]


def judge_command(settings: SandboxConfig, files: Path, env: Mapping[str, str], warm: bool = False) -> list[str]:
    """The full command that starts the judge (``warm``: the warm judge, :mod:`course_grader.judge.zygote`)
    inside the sandbox."""
    return [settings.bwrap or "bwrap", *bwrap_arguments(settings, files, env), "--",
            *drop_privileges(settings), sys.executable, *JUDGE_ARGS, *(["--zygote"] if warm else [])]


# --- can it run here? --------------------------------------------------------------------------

def missing(settings: SandboxConfig) -> str | None:
    """Why the sandbox cannot run, from cheap checks only (no probe), or None."""
    if not sys.platform.startswith("linux"):
        return f"the grading sandbox needs Linux namespaces (this is {sys.platform})"
    if os.geteuid() != 0:
        return ("the grading sandbox runs each student's code as an unprivileged user of its own, which "
                "needs root: run `course grade` as root (e.g. with sudo)")
    if not settings.bwrap:
        return "bubblewrap (bwrap) was not found: install it (Debian/Ubuntu: apt-get install -y bubblewrap)"
    if not settings.setpriv:
        return "setpriv was not found: install util-linux"
    return None


@functools.lru_cache(maxsize=None)
def available() -> tuple[bool, str]:
    """``(True, what runs)`` or ``(False, why not and what to do)``; probes bwrap once per process."""
    settings = SandboxConfig.from_env()
    why = missing(settings)
    if why:
        return False, why
    with tempfile.TemporaryDirectory(prefix="course-sandbox-probe-") as tmp:
        probe = [settings.bwrap, *bwrap_arguments(settings, Path(tmp), {"PATH": "/usr/bin:/bin"}), "--",
                 *drop_privileges(settings), "/bin/sh", "-c", "test \"$(id -u)\" != 0"]
        try:
            proc = subprocess.run(probe, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return False, f"bubblewrap could not be started: {exc}"
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        return False, ("bubblewrap could not create the sandbox (namespaces refused? in a container, "
                       f"it needs CAP_SYS_ADMIN): {detail[-1] if detail else f'exit code {proc.returncode}'}")
    return True, f"bubblewrap at {settings.bwrap}; each worker slot runs as its own uid, without network"


@dataclass(frozen=True)
class GradingMode:
    """How a cohort is graded: in the sandbox or not, and the line the report prints about it."""

    sandboxed: bool
    note: str

    @property
    def state(self) -> str:
        """``"on"`` or ``"off"``: what the grading state of each student records."""
        return "on" if self.sandboxed else "off"

    @property
    def env(self) -> dict[str, str]:
        """Environment for the nbgrader processes (read by :func:`enabled`)."""
        return {MODE_ENV: self.state}


def grading_mode(unsafe_no_sandbox: bool = False) -> GradingMode:
    """The sandbox when it works; without it only if the instructor said so, else refuse."""
    ok, reason = available()
    if unsafe_no_sandbox:
        why = "" if ok else f" (the sandbox is unavailable here: {reason})"
        return GradingMode(False, "GRADED WITHOUT A SANDBOX (--unsafe-no-sandbox): student code ran with the "
                                  "grader's rights and could read solutions/, the gradebook and other "
                                  f"students' submissions{why}.")
    if not ok:
        raise SandboxUnavailable(f"refusing to grade: the grading sandbox cannot run here: {reason}. Fix that, or "
                                 "pass --unsafe-no-sandbox to grade without it (the report will say so).")
    return GradingMode(True, f"Graded in the grading sandbox ({reason}).")


def enabled(environ: Mapping[str, str] = os.environ) -> bool:
    return (environ.get(MODE_ENV) or "on").strip().lower() not in {"off", "0", "no", "false"}


# --- the host side -----------------------------------------------------------------------------------

SHARED_CACHES = (("COURSE_CACHE_DIR", "*.pt"), ("TORCH_HOME", "hub/checkpoints/*"))


@functools.lru_cache(maxsize=None)
def share_caches() -> list[str]:
    """Make the grader's caches of public data readable by the sandbox uids; returns what changed.

    course_utils.data writes its tensor cache and torch.hub its downloaded weights through
    private temporary files (mode 0600), which an unprivileged judge could not read. They hold
    CIFAR-10 and public ImageNet weights, so granting read access to others is harmless.
    """
    changed = []
    paths = data_paths()
    for var, pattern in SHARED_CACHES:
        if var not in paths:
            continue
        for name in glob.glob(str(paths[var] / pattern)):
            st = os.lstat(name)
            if stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid() and not st.st_mode & stat.S_IROTH:
                os.chmod(name, st.st_mode | stat.S_IRGRP | stat.S_IROTH)
                changed.append(name)
    if changed:
        print(f"grading sandbox: made {len(changed)} cache file(s) readable by the sandbox users: "
              + ", ".join(changed), file=sys.stderr)
    return changed


JUDGE_EXECUTE = "course_grader.plugins.judge_execute.JudgeExecute"
EXECUTE_NAMES = {"nbgrader.preprocessors.Execute", "nbgrader.preprocessors.execute.Execute"}


def configure(c) -> None:
    """Call from nbgrader_config.py: notebooks are run by the judge (in the sandbox unless off)."""
    from nbgrader.converters.autograde import Autograde
    from nbgrader.preprocessors import Execute
    current = c.Autograde.get("autograde_preprocessors")
    if not isinstance(current, list):
        current = list(Autograde.class_traits()["autograde_preprocessors"].default())
    swapped = [JUDGE_EXECUTE if p is Execute or p in EXECUTE_NAMES else p for p in current]
    if JUDGE_EXECUTE not in swapped:
        raise ValueError(f"no nbgrader Execute preprocessor to replace in Autograde.autograde_preprocessors: {current}")
    c.Autograde.autograde_preprocessors = swapped


def main(argv: list[str] | None = None) -> None:
    import argparse
    parser = argparse.ArgumentParser(prog="python -m course_grader.sandbox.bwrap", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["check"], help="check: can the grading sandbox run here?")
    parser.parse_args(argv)
    ok, reason = available()
    print(("grading sandbox: available - " if ok else "grading sandbox: UNAVAILABLE - ") + reason)
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
