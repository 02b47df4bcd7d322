"""What the student thread must not change, and what it may not do at all.

* :class:`Snapshot` remembers, before any student code runs, every entry of a set of
  namespaces (module dicts, class dicts, the private builtins) by identity, and the global hook
  tables and mode stacks of torch. :meth:`Snapshot.changes` lists what differs now. The judge
  compares a *fast* set (what the judge thread itself uses) after every hand-over from the
  student thread, and a *full* set (every torch and torchvision module and class) at the end of
  every cell.
* :func:`audit_hook` (``sys.addaudithook``) refuses, in any thread but the judge's, what would let
  student code read or change the judge's memory, and writes a flag line to the channel at once.
"""
from __future__ import annotations

import operator
import os
import signal
import sys
import types

import torch

from ..sandbox import processes

# torch's global tables that make code run inside *every* module's forward or every step.
GLOBAL_HOOK_TABLES = (
    ("torch.nn.modules.module", ("_global_forward_hooks", "_global_forward_pre_hooks", "_global_backward_hooks",
                                 "_global_backward_pre_hooks", "_global_forward_hooks_always_called",
                                 "_global_forward_hooks_with_kwargs", "_global_module_registration_hooks",
                                 "_global_parameter_registration_hooks", "_global_buffer_registration_hooks")),
    ("torch.optim.optimizer", ("_global_optimizer_pre_hooks", "_global_optimizer_post_hooks")),
)
# Checked after every hand-over, because the judge thread uses them right after: their module
# namespaces (classes defined there are not included) and these classes' own namespaces.
FAST_MODULES = ("builtins", "torch", "torch.nn.functional", "json", "hmac", "os", "threading", "warnings")
FAST_CLASSES = ("torch.Tensor", "torch._C.TensorBase", "torch.nn.Module", "torch.nn.Parameter",
                "torch.nn.Sequential", "torch.nn.Conv2d", "torch.nn.modules.conv._ConvNd", "torch.nn.Linear",
                "torch.nn.BatchNorm2d", "torch.nn.modules.batchnorm._BatchNorm",
                "torch.nn.modules.batchnorm._NormBase", "torch.nn.ReLU", "torch.nn.MaxPool2d",
                "torch.nn.modules.pooling._MaxPoolNd", "torch.nn.AdaptiveAvgPool2d", "torch.nn.Dropout",
                "torch.nn.Identity", "torch.nn.Flatten", "torch.optim.SGD", "torch.optim.Optimizer",
                "torch.autograd.grad_mode.no_grad", "torch.Generator", "torchvision.models.ResNet",
                "torchvision.models.resnet.BasicBlock", "pathlib.Path", "pathlib.PurePath")
FULL_PREFIXES = ("torch", "torchvision", "numpy", "json", "copy", "warnings", "pathlib", "posixpath", "os",
                 "threading", "hmac", "collections", "functools", "contextlib", "typing")


def _namespaces_of(module: types.ModuleType, with_classes: bool = True):
    yield f"module {module.__name__}", module.__dict__, None
    if not with_classes:
        return
    for name, value in list(module.__dict__.items()):
        if isinstance(value, type) and getattr(value, "__module__", None) == module.__name__:
            yield f"{module.__name__}.{value.__qualname__}", value.__dict__, value


# Entries that change while nothing is wrong (the judge's own warning capture sets them).
MUTABLE = {"module warnings": frozenset({"filters", "_showwarnmsg_impl", "showwarning", "_filters_version",
                                         "defaultaction", "onceregistry", "_onceregistry", "_defaultaction"}),
           # IPython's shell keeps these in builtins while it runs a cell (`_` is the last result).
           "module builtins": frozenset({"_", "__", "___", "__IPYTHON__", "display", "get_ipython", "exit",
                                         "quit", "__builtins__"})}


class Snapshot:
    """Identities of every entry of some namespaces, to compare with later (see the module docstring).

    The comparison is two lists of ``id`` values per namespace, compared in C; only a namespace
    that differs is examined entry by entry. Nothing here calls a method of a value (no ``==``
    on student objects).
    """

    def __init__(self, namespaces: list[tuple[str, object, object]]):
        self._names = [name for name, _, _ in namespaces]
        self._spaces = [space for _, space, _ in namespaces]
        self._owners = [owner for _, _, owner in namespaces]    # the class of a class namespace, else None
        self._values = [dict(space) for space in self._spaces]
        self._lists = [(list(space.keys()), list(space.values())) for space in self._spaces]
        self._hooks = hook_counts()
        self._hook_keys = hook_keys()
        self._modes = mode_depths()

    @classmethod
    def of_modules(cls, modules, private_modules=(), private_builtins=(), classes=(), with_classes=True):
        spaces: list[tuple[str, object, object]] = []
        for module in modules:
            spaces += list(_namespaces_of(module, with_classes))
        for module in private_modules:
            spaces += [(f"grading copy of {name}", ns, owner) for name, ns, owner in _namespaces_of(module)]
        for i, space in enumerate(private_builtins):
            spaces.append((f"grading copy of builtins ({i})", space, None))
        for c in classes:
            spaces.append((f"{c.__module__}.{c.__qualname__}", c.__dict__, c))
        return cls(spaces)

    def changes(self, _is=operator.is_, _all=all, _map=map, _len=len) -> list[str]:
        found = []
        for i, space in enumerate(self._spaces):
            keys, values = self._lists[i]
            if _len(space) == _len(keys) and _all(_map(_is, space.values(), values)) and \
                    _all(_map(_is, space.keys(), keys)):
                continue
            found += self._examine(i)
        if hook_counts() != self._hooks:
            found.append("a global torch hook (forward/backward/optimizer) was registered")
            clear_new_hooks(self._hook_keys)
        if mode_depths() != self._modes:
            found.append("a torch function or dispatch mode was left active")
        return found

    def _examine(self, i: int) -> list[str]:
        """What changed in namespace ``i``; every change is undone at once, so that what runs next
        (the judge thread's own code included) sees the namespace as it was."""
        name, space, before = self._names[i], self._spaces[i], self._values[i]
        allowed = MUTABLE.get(name, frozenset()) | {"__warningregistry__"}
        missing = object()
        found, put_back, take_out = [], {}, []
        for key, old in before.items():
            if key in allowed:
                continue
            new = space.get(key, missing)
            if new is missing:
                found.append(f"{name}.{key} was deleted")
                put_back[key] = old
            elif new is not old:
                found.append(f"{name}.{key} was replaced")
                put_back[key] = old
        added = [k for k in space.keys() - before.keys() if k not in allowed]
        if added and not (name.startswith("module ") and not name.startswith("grading copy")):
            found += [f"{name}.{k} was added" for k in sorted(map(str, added))]
            take_out = added
        if put_back or take_out:
            self._undo(i, put_back, take_out)
        if not found:   # only what may change changed, or a module gained a submodule: the new normal
            self._values[i] = dict(space)
            self._lists[i] = (list(space.keys()), list(space.values()))
        return found

    def _undo(self, i: int, put_back: dict, take_out: list) -> None:
        owner = self._owners[i]
        for key, value in put_back.items():
            if isinstance(owner, type):
                type.__setattr__(owner, key, value)
            else:
                self._spaces[i][key] = value
        for key in take_out:
            if isinstance(owner, type):
                type.__delattr__(owner, key)
            else:
                del self._spaces[i][key]


def hook_counts() -> tuple:
    counts = []
    for module_name, names in GLOBAL_HOOK_TABLES:
        module = sys.modules.get(module_name)
        for name in names:
            table = getattr(module, name, None)
            counts.append(len(table) if isinstance(table, dict) else -1)
    return tuple(counts)


def _hook_tables():
    for module_name, names in GLOBAL_HOOK_TABLES:
        module = sys.modules.get(module_name)
        for name in names:
            table = getattr(module, name, None)
            if isinstance(table, dict):
                yield f"{module_name}.{name}", table


def hook_keys() -> dict[str, set]:
    return {name: set(table) for name, table in _hook_tables()}


def clear_new_hooks(before: dict[str, set]) -> None:
    """Remove the hooks registered since ``before`` was taken."""
    for name, table in _hook_tables():
        for key in set(table) - before.get(name, set()):
            del table[key]


def mode_depths() -> tuple:
    depths = []
    for name in ("_len_torch_function_stack", "_len_torch_dispatch_stack"):
        fn = getattr(torch._C, name, None)
        depths.append(fn() if fn else -1)
    return tuple(depths)


def modules_named(names) -> list[types.ModuleType]:
    return [sys.modules[n] for n in names if isinstance(sys.modules.get(n), types.ModuleType)]


def classes_named(paths) -> list[type]:
    """Classes by dotted path (``torch.nn.Conv2d``); paths that do not resolve are skipped."""
    found = []
    for path in paths:
        module_name, _, name = path.rpartition(".")
        obj = sys.modules.get(module_name)
        while obj is None and "." in module_name:   # a class reached through a package attribute
            module_name, _, head = module_name.rpartition(".")
            obj = getattr(sys.modules.get(module_name), head, None)
        value = getattr(obj, name, None)
        if isinstance(value, type):
            found.append(value)
    return found


def modules_with_prefixes(prefixes) -> list[types.ModuleType]:
    return [m for n, m in sorted(sys.modules.items())
            if isinstance(m, types.ModuleType) and (n in prefixes or n.split(".")[0] in prefixes)]


def stop_started_processes() -> list[str]:
    """Kill every process of this uid in the sandbox but this one and its parent (the warm judge),
    and say what each was: student code started it, past the audit hook (``_posixsubprocess``
    raises no audit event). Only meaningful in the sandbox's own PID namespace."""
    found = processes.of_uid(os.getuid(), {os.getpid(), os.getppid()})
    for pid in found:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return [f"student code started a process ({cmd[:80] or pid})" for pid, cmd in sorted(found.items())][:3]


# --- the audit hook --------------------------------------------------------------------------------

REFUSED = {
    "gc.get_objects": "walked the garbage collector's objects",
    "gc.get_referrers": "walked the garbage collector's referrers",
    "gc.get_referents": "walked the garbage collector's referents",
    "sys._current_frames": "read other threads' frames",
    "sys.addaudithook": "added an audit hook",
    "os.fork": "started a process", "os.forkpty": "started a process", "os.exec": "started a program",
    "os.posix_spawn": "started a process", "os.spawn": "started a process", "os.system": "ran a shell command",
    "subprocess.Popen": "started a process", "os.kill": "sent a signal", "os.killpg": "sent a signal",
    "signal.pthread_kill": "sent a signal",
}
CODE_ATTRIBUTES = frozenset({"__code__", "__defaults__", "__kwdefaults__", "__globals__", "__closure__"})


def make_audit_hook(judge_ident: int, channel_fd: int, student_globals: dict):
    """The hook: refuse and flag in non-judge threads (see :data:`REFUSED`); never uses globals."""

    def audit_hook(event, args, _get_ident=__import__("_thread").get_ident, _write=__import__("os").write,
                   _dumps=__import__("json").dumps, _refused=REFUSED, _code=CODE_ATTRIBUTES,
                   _judge=judge_ident, _fd=channel_fd, _user=student_globals, _type=type, _str=str,
                   _FunctionType=types.FunctionType, _Perm=PermissionError, _isinstance=isinstance):
        if _get_ident() == _judge:
            return
        why = _refused.get(event)
        if why is None:
            if event.startswith("ctypes."):
                why = f"used ctypes ({event})"
            elif event == "open" and args and _isinstance(args[0], (str, bytes)):
                path = args[0] if _isinstance(args[0], str) else args[0].decode(errors="replace")
                if path.startswith("/proc/") and (path.endswith("/mem") or "/fd/" in path or "/task/" in path):
                    why = f"opened {path}"
            elif event == "object.__setattr__" and len(args) >= 2:
                target, name = args[0], args[1]
                if name in _code and _type(target) is _FunctionType and target.__globals__ is not _user:
                    why = f"rewrote {name} of {getattr(target, '__qualname__', '?')}"
                elif name == "__class__" and _type(target).__module__ != "__main__":
                    why = f"changed the class of a {_type(target).__name__} object"
        if why is None:
            return
        try:
            _write(_fd, (_dumps({"flag": f"student code {why}"}) + "\n").encode())
        except OSError:
            pass
        raise _Perm(f"not allowed while grading: {why}")

    return audit_hook
