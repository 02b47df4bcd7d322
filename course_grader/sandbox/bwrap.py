"""The grading sandbox: each student's kernel runs as ``nobody``, offline, in a private view of the files.

While nbgrader autogrades, every student notebook runs arbitrary Python on the instructor's
machine. Here each grading kernel is started inside a bubblewrap (``bwrap``) sandbox, as root
sets it up, then drops to an unprivileged uid:

    bwrap --unshare-net --unshare-pid --unshare-ipc --unshare-uts --die-with-parent --clearenv
          <the file view below> --
      setpriv --reuid 65534 --regid 65534 --clear-groups --no-new-privs --
        python course_grader/sandbox/inside.py --cpu-s N --mem-gb M ... -- <the kernel's own argv>

What the kernel sees (everything else does not exist for it):

=============================================  ===========================================
read-only                                      the system (/usr, /etc, /bin, /lib*, /sys), the
                                               Python interpreter and the virtual environment,
                                               the ``course_utils`` package (not the repository
                                               around it), ``$COURSE_DATA_DIR``, the tensor cache
                                               (``$COURSE_CACHE_DIR``), ``$TORCH_HOME``, and the
                                               paths in ``$COURSE_SANDBOX_RO_PATHS``
read-write                                     its working copy ``autograded/<student>/<aid>/``
                                               (handed to the sandbox uid for the run) and a
                                               private directory with its connection file and
                                               sockets
fresh, size-limited tmpfs                      ``/tmp`` and ``/dev/shm`` (``$COURSE_SANDBOX_TMP_MB``)
absent                                         the course root: ``solutions/``, ``gradebook.db``,
                                               ``submitted/``, other students' folders,
                                               ``feedback/``, ``reports/``; the instructor's home;
                                               the host's /tmp and /run (database sockets)
=============================================  ===========================================

The notebook being graded holds the hidden tests again while it runs (nbgrader restores them);
the kernel reads a short note in its place. bwrap itself runs as root without a user
namespace (so it can bind paths under /root, such as a pyenv interpreter, and needs no
unprivileged user namespaces); setpriv then drops to the sandbox uid with no capabilities (an
empty bounding set) and ``no_new_privs``.

Network: a network namespace of its own, with only its own loopback, so no socket reaches
another host or the grader's ports (PostgreSQL on 127.0.0.1 included). The kernel therefore
talks to nbgrader over ZeroMQ's ``ipc`` transport (Unix sockets in the private directory,
which both sides can reach) instead of TCP: :class:`SandboxKernelManager` sets that up.
Processes: a PID namespace whose init is bubblewrap's; when the kernel exits, or nbgrader
dies (``--die-with-parent``), every process it forked is killed. Environment: cleared, then
only harmless variables (locale, thread counts, ``COURSE_*`` knobs without secrets such as
``COURSE_DB_URL``, ``NBGRADER_EXECUTION``) are passed. Limits (see
:mod:`course_grader.sandbox.inside`): CPU time (``$COURSE_SANDBOX_CPU_S``, per profile by
default; a breach stops the running cell with "exceeded the grading CPU-time limit of N s"),
memory (``course_grader.sandbox.kernel.memory_limit_gb``: "memory limit of N GB"), file size, process
count; /tmp is a size-limited tmpfs.

Wiring: nbgrader_config.py calls :func:`configure`, which swaps nbgrader's ``Execute``
preprocessor for :class:`SandboxedExecute` (its kernel manager does the above) unless
``COURSE_SANDBOX=off``. ``course grade`` calls :func:`grading_mode` first: where the sandbox
cannot run (not root, no bubblewrap, namespaces refused) it refuses to grade unless the
instructor passes ``--unsafe-no-sandbox``, and the report then says so. ``python -m
course_grader.sandbox.bwrap check`` tells whether the sandbox works on this machine and why not.
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

from jupyter_client.manager import AsyncKernelManager
from nbgrader.preprocessors import Execute

MODE_ENV = "COURSE_SANDBOX"            # "off": grade without the sandbox (--unsafe-no-sandbox)
CPU_ENV = "COURSE_SANDBOX_CPU_S"       # CPU seconds per kernel (default: per profile)
TMP_ENV = "COURSE_SANDBOX_TMP_MB"      # size of the private /tmp and /dev/shm
FSIZE_ENV = "COURSE_SANDBOX_FSIZE_GB"  # largest file the kernel may write
NPROC_ENV = "COURSE_SANDBOX_NPROC"     # processes + threads of the sandbox uid
UID_ENV, GID_ENV = "COURSE_SANDBOX_UID", "COURSE_SANDBOX_GID"
RO_PATHS_ENV = "COURSE_SANDBOX_RO_PATHS"  # more read-only paths, os.pathsep-separated
PASS_ENV = "COURSE_SANDBOX_ENV"        # more variable names to pass, comma-separated
BWRAP_ENV = "COURSE_SANDBOX_BWRAP"     # the bwrap binary (default: bwrap on PATH)

NOBODY = 65534  # nobody / nogroup on Debian
# CPU seconds a grading kernel may use. Grading is inference; the per-cell wall-clock timeout
# (nbgrader_config.py) catches a single runaway cell first, this bounds the whole notebook.
CPU_SECONDS = {"smoke": 600, "cpu": 1800, "full": 3600}
TMP_MB, FSIZE_GB, NPROC = 1024, 2.0, 1024

MASK_NAME = "notebook-hidden.txt"
MASK_TEXT = "This notebook cannot be read while it is graded (grading sandbox).\n"
SYSTEM_DIRS = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
PASS_NAMES = frozenset({
    "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_NUMERIC", "TZ", "TERM",
    "NBGRADER_EXECUTION", "NBGRADER_VALIDATING", "MPLBACKEND", "PYTHONHASHSEED", "PYTHONUNBUFFERED",
    "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "CUDA_VISIBLE_DEVICES",
    "CUDA_DEVICE_ORDER", "PYDEVD_DISABLE_FILE_VALIDATION",
})
SECRET_WORDS = ("DB", "URL", "PASS", "SECRET", "TOKEN", "KEY", "CRED", "AUTH")


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot be set up here; the message says why and what to do."""


# --- settings --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Limits:
    cpu_s: float
    mem_gb: float
    tmp_mb: int
    fsize_gb: float
    nproc: int

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> "Limits":
        from . import kernel  # the memory figure has one home: course_grader.sandbox.kernel
        profile = environ.get("COURSE_PROFILE") or "cpu"
        return cls(cpu_s=float(environ.get(CPU_ENV) or CPU_SECONDS.get(profile, CPU_SECONDS["cpu"])),
                   mem_gb=kernel.memory_limit_gb(profile),
                   tmp_mb=int(environ.get(TMP_ENV) or TMP_MB),
                   fsize_gb=float(environ.get(FSIZE_ENV) or FSIZE_GB),
                   nproc=int(environ.get(NPROC_ENV) or NPROC))

    def describe(self) -> str:
        return (f"CPU time {self.cpu_s:g} s, memory {self.mem_gb:g} GB, /tmp {self.tmp_mb} MB, "
                f"files up to {self.fsize_gb:g} GB, {self.nproc} processes")


def _home_cache(environ: Mapping[str, str], *parts: str) -> Path:
    return Path(environ.get("HOME") or Path.home()) / ".cache" / Path(*parts)


def data_paths(environ: Mapping[str, str] = os.environ) -> dict[str, Path]:
    """``{env var: path}`` of the data the kernel reads: CIFAR-10, the tensor cache, torch's hub.

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
    """Everything the kernel may read besides the system directories (deduplicated)."""
    import course_utils
    grader = Path(__file__).resolve().parent.parent  # this package: the in-sandbox launcher lives here
    paths = [Path(sys.base_prefix), Path(sys.prefix), Path(os.path.realpath(sys.executable)).parent,
             Path(course_utils.__file__).parent, grader, *data_paths(environ).values()]
    paths += [Path(p) for p in (environ.get(RO_PATHS_ENV) or "").split(os.pathsep) if p]
    real = sorted({Path(os.path.realpath(p)) for p in paths if Path(p).exists()}, key=lambda p: len(p.parts))
    kept: list[Path] = []
    for p in real:
        if not any(p == q or q in p.parents for q in kept):
            kept.append(p)
    return kept


def kernel_environment(environ: Mapping[str, str], extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The kernel's whole environment: a short allow-list, never a database URL or a password."""
    names = set(PASS_NAMES) | {n.strip() for n in (environ.get(PASS_ENV) or "").split(",") if n.strip()}
    env = {}
    for name, value in environ.items():
        course_knob = (name.startswith("COURSE_") and not name.startswith("COURSE_SANDBOX")
                       and not any(word in name for word in SECRET_WORDS))
        if name in names or course_knob:
            env[name] = value
    env.update(extra or {})  # the kernelspec's own variables (written by the instructor)
    env.update({k: str(v) for k, v in data_paths(environ).items()})
    # JPY_PARENT_PID=1: the kernel's parent is the PID namespace's init (pid 1), so ipykernel's
    # parent poller must stay off (--die-with-parent does its job); it also silences a Ctrl-C note.
    env.update(JPY_PARENT_PID="1", HOME="/tmp", TMPDIR="/tmp", IPYTHONDIR="/tmp/.ipython", MPLCONFIGDIR="/tmp/.matplotlib",
               XDG_CACHE_HOME="/tmp/.cache", PATH=f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin")
    return env


@dataclass(frozen=True)
class SandboxConfig:
    uid: int
    gid: int
    limits: Limits
    read_only: tuple[Path, ...]
    bwrap: str | None
    setpriv: str | None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> "SandboxConfig":
        return cls(uid=int(environ.get(UID_ENV) or NOBODY), gid=int(environ.get(GID_ENV) or NOBODY),
                   limits=Limits.from_env(environ), read_only=tuple(read_only_paths(environ)),
                   bwrap=shutil.which(environ.get(BWRAP_ENV) or "bwrap"), setpriv=shutil.which("setpriv"))


# --- the command line that starts a kernel ------------------------------------------------------

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


def bwrap_arguments(settings: SandboxConfig, workdir: Path, private: Path, env: Mapping[str, str]) -> list[str]:
    """Namespaces, the file view and the environment (everything between ``bwrap`` and ``--``)."""
    workdir = Path(os.path.realpath(workdir))
    for path in settings.read_only:
        if path == workdir or path in workdir.parents:
            raise SandboxUnavailable(f"the read-only path {path} contains the working copy {workdir}, so the "
                                     "kernel would see the whole course (solutions, gradebook): remove it from "
                                     f"{RO_PATHS_ENV} or move the data elsewhere")
    args = ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--hostname", "grading-sandbox"]
    for d in SYSTEM_DIRS:
        if os.path.islink(d):
            args += ["--symlink", os.readlink(d), d]
        elif os.path.isdir(d):
            args += ["--ro-bind", d, d]
    system = [Path(d) for d in SYSTEM_DIRS if os.path.isdir(d) and not os.path.islink(d)]
    args += ["--ro-bind-try", "/sys", "/sys", "--proc", "/proc", "--dev", "/dev"]
    for dev in sorted(glob.glob("/dev/nvidia*")):  # CUDA, when the grader has a GPU
        args += ["--dev-bind", dev, dev]
    size = str(settings.limits.tmp_mb * 1024 * 1024)
    args += ["--perms", "1777", "--size", size, "--tmpfs", "/tmp",
             "--perms", "1777", "--size", size, "--tmpfs", "/dev/shm"]
    read_only = [p for p in settings.read_only if not any(p == s or s in p.parents for s in system)]
    args += _mount_points([("--ro-bind", p) for p in read_only]
                          + [("--bind", workdir), ("--bind", Path(private))], mounted=system)
    # The notebook being graded holds the hidden tests (nbgrader restores them before running it):
    # the kernel does not need the file, so it reads a note instead.
    mask = Path(private) / MASK_NAME
    if mask.exists():
        for notebook in sorted(workdir.glob("*.ipynb")):
            if notebook.is_file() and not notebook.is_symlink():
                args += ["--ro-bind", str(mask), str(notebook)]
    args += ["--chdir", str(workdir), "--clearenv"]
    for name, value in sorted(env.items()):
        args += ["--setenv", name, value]
    # bwrap runs as root without a user namespace (it needs no unprivileged user namespaces and
    # can bind paths under /root); setpriv needs these two capabilities to drop to the sandbox uid.
    args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP"]
    return args


def drop_privileges(settings: SandboxConfig) -> list[str]:
    return [settings.setpriv or "setpriv", "--reuid", str(settings.uid), "--regid", str(settings.gid),
            "--clear-groups", "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--"]


def kernel_command(settings: SandboxConfig, kernel_argv: list[str], workdir: Path, private: Path,
                   env: Mapping[str, str]) -> list[str]:
    """The full command that starts ``kernel_argv`` inside the sandbox."""
    lim = settings.limits
    return [settings.bwrap or "bwrap", *bwrap_arguments(settings, workdir, private, env), "--",
            *drop_privileges(settings),
            sys.executable, str(Path(__file__).with_name("inside.py")), "--cpu-s", f"{lim.cpu_s:g}",
            "--mem-gb", f"{lim.mem_gb:g}", "--fsize-gb", f"{lim.fsize_gb:g}", "--nproc", str(lim.nproc),
            "--", *kernel_argv]


# --- can it run here? --------------------------------------------------------------------------

def missing(settings: SandboxConfig) -> str | None:
    """Why the sandbox cannot run, from cheap checks only (no probe), or None."""
    if not sys.platform.startswith("linux"):
        return f"the grading sandbox needs Linux namespaces (this is {sys.platform})"
    if os.geteuid() != 0:
        return ("the grading sandbox runs each kernel as the unprivileged user nobody, which needs "
                "root: run `course grade` as root (e.g. with sudo)")
    if not settings.bwrap:
        return (f"bubblewrap ({os.environ.get(BWRAP_ENV) or 'bwrap'}) was not found: install it "
                "(Debian/Ubuntu: apt-get install -y bubblewrap)")
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
        work, private = Path(tmp) / "work", Path(tmp) / "private"
        work.mkdir()
        private.mkdir()
        probe = [settings.bwrap, *bwrap_arguments(settings, work, private, {"PATH": "/usr/bin:/bin"}), "--",
                 *drop_privileges(settings), "/bin/sh", "-c", "test \"$(id -u)\" != 0"]
        try:
            proc = subprocess.run(probe, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return False, f"bubblewrap could not be started: {exc}"
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        return False, ("bubblewrap could not create the sandbox (namespaces refused? in a container, "
                       f"it needs CAP_SYS_ADMIN): {detail[-1] if detail else f'exit code {proc.returncode}'}")
    return True, (f"bubblewrap at {settings.bwrap}; kernels run as uid {settings.uid} without network; "
                  f"{settings.limits.describe()}")


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
        """Environment for the nbgrader processes (read by :func:`configure`)."""
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


# --- nbgrader and jupyter_client -----------------------------------------------------------------

def _chown_tree(top: Path, uid: int, gid: int) -> None:
    """chown ``top`` and everything in it, never following a symlink (fd-based walk: no races)."""
    os.chown(top, uid, gid, follow_symlinks=False)
    for _, dirs, files, fd in os.fwalk(top, follow_symlinks=False):
        for name in dirs + files:
            try:
                os.chown(name, uid, gid, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                pass


SHARED_CACHES = (("COURSE_CACHE_DIR", "*.pt"), ("TORCH_HOME", "hub/checkpoints/*"))


@functools.lru_cache(maxsize=None)
def share_caches() -> list[str]:
    """Make the grader's caches of public data readable by the sandbox uid; returns what changed.

    course_utils.data writes its tensor cache and torch.hub its downloaded weights through
    private temporary files (mode 0600), which the unprivileged kernel could not read. They hold
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
        print(f"grading sandbox: made {len(changed)} cache file(s) readable by the sandbox user: "
              + ", ".join(changed), file=sys.stderr)
    return changed


def _sweep_stale(base: Path) -> None:
    """Remove private directories left by grading processes that were killed."""
    for path in base.glob("course-sandbox-*-*"):
        try:
            pid = int(path.name.split("-")[2])
            os.kill(pid, 0)
        except (ValueError, IndexError):
            continue
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except PermissionError:
            continue


class KernelSandbox:
    """One kernel's private directory and working copy, prepared before and restored after."""

    def __init__(self, settings: SandboxConfig, workdir: Path):
        self.settings = settings
        self.workdir = Path(os.path.realpath(workdir))
        base = Path(tempfile.gettempdir())
        _sweep_stale(base)
        share_caches()
        self.private = Path(tempfile.mkdtemp(prefix=f"course-sandbox-{os.getpid()}-", dir=base))
        os.chown(self.private, settings.uid, settings.gid)
        os.chmod(self.private, 0o700)
        (self.private / MASK_NAME).write_text(MASK_TEXT)
        st = self.workdir.stat()
        self.owner = (st.st_uid, st.st_gid)
        _chown_tree(self.workdir, settings.uid, settings.gid)

    def release(self) -> None:
        """Give the working copy back to its owner; remove the private directory."""
        try:
            _chown_tree(self.workdir, *self.owner)
        finally:
            shutil.rmtree(self.private, ignore_errors=True)


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager that starts its kernel in the sandbox and talks to it over ``ipc``."""

    _sandbox: KernelSandbox | None = None

    async def _async_pre_start_kernel(self, **kw):
        if self._sandbox is None:  # a restart keeps the sandbox of the first start
            # Cheap checks only: `course grade` probed bwrap already, and a bwrap that fails
            # anyway ends the kernel at once, which nbgrader reports for that submission.
            settings = SandboxConfig.from_env()
            why = missing(settings)
            if why:
                raise SandboxUnavailable(f"the grading sandbox cannot run here: {why}")
            self._sandbox = KernelSandbox(settings, Path(kw.get("cwd") or os.getcwd()))
            # The kernel has no network: ZeroMQ over Unix sockets in the private directory.
            self.transport = "ipc"
            self.connection_file = str(self._sandbox.private / "kernel.json")
            self.ip = str(self._sandbox.private / "kernel")
            # SIGINT to the process group would end bwrap itself; ask the kernel to interrupt itself.
            self.kernel_spec.interrupt_mode = "message"
        return await super()._async_pre_start_kernel(**kw)

    def write_connection_file(self, **kwargs) -> None:
        super().write_connection_file(**kwargs)
        if self._sandbox is not None:
            os.chown(self.connection_file, self._sandbox.settings.uid, self._sandbox.settings.gid)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        cmd = super().format_kernel_cmd(extra_arguments)
        if self._sandbox is None:
            return cmd
        env = kernel_environment(os.environ, self.kernel_spec.env)
        return kernel_command(self._sandbox.settings, cmd, self._sandbox.workdir, self._sandbox.private, env)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if self._sandbox is not None and not restart:
            sandbox, self._sandbox = self._sandbox, None
            sandbox.release()


class SandboxedExecute(Execute):
    """nbgrader's ``Execute``, with every kernel started by :class:`SandboxKernelManager`."""

    def __init__(self, *args, **kwargs):
        # Execute.__init__ pins kernel_manager_class by keyword, which beats config: subclass instead.
        kwargs.setdefault("kernel_manager_class", SandboxKernelManager)
        super().__init__(*args, **kwargs)


EXECUTE_NAMES = {"nbgrader.preprocessors.Execute", "nbgrader.preprocessors.execute.Execute"}
SANDBOXED_EXECUTE = f"{__name__}.SandboxedExecute"


def configure(c) -> None:
    """Call from nbgrader_config.py: autograde in the sandbox unless ``COURSE_SANDBOX=off``."""
    if not enabled():
        return
    from nbgrader.converters.autograde import Autograde
    current = c.Autograde.get("autograde_preprocessors")
    if not isinstance(current, list):
        current = list(Autograde.class_traits()["autograde_preprocessors"].default())
    swapped = [SANDBOXED_EXECUTE if p is Execute or p in EXECUTE_NAMES else p for p in current]
    if SANDBOXED_EXECUTE not in swapped and SandboxedExecute not in swapped:
        raise ValueError(f"no nbgrader Execute preprocessor to sandbox in Autograde.autograde_preprocessors: {current}")
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
