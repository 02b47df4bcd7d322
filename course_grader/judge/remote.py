"""The student thread, and the handles through which the judge thread uses student objects.

Only one of the two threads runs at a time: the judge hands a request over (C-level locks, not
Python code a student could replace) and waits for the reply. Values cross from the student
thread as *data* (numbers, strings, copies of plain tensors, containers of those, objects torch
or the judge made) or as a :class:`Remote` handle; every operation on a handle (attribute,
call, iteration, ``repr`` …) is one more request. Student objects live in the student thread's
registry and die there, so their destructors never run in the judge thread either.

Objects the judge made (a model from the private library, a torchvision network) may be handed
to student code (``freeze_features(model)``); after every hand-over each of them is checked to
hold only torch's own layers and no hooks, so that the judge may go on using it directly.
"""
from __future__ import annotations

import _thread
import builtins
import collections
import threading
import time
import types

import torch
import torch.nn as nn

PLAIN = frozenset({type(None), bool, int, float, complex, str, bytes, range, slice, type(Ellipsis)})
TORCH_VALUES = frozenset({torch.Size, torch.dtype, torch.device, torch.layout, torch.memory_format})
EXCEPTIONS = {c.__name__: c for c in vars(builtins).values() if isinstance(c, type) and issubclass(c, BaseException)}
MODULE_STATE = frozenset({"training", "_parameters", "_buffers", "_modules", "_non_persistent_buffers_set",
                          "_state_dict_hooks", "_state_dict_pre_hooks", "_load_state_dict_pre_hooks",
                          "_load_state_dict_post_hooks", "_forward_hooks", "_forward_hooks_with_kwargs",
                          "_forward_hooks_always_called", "_forward_pre_hooks", "_forward_pre_hooks_with_kwargs",
                          "_backward_hooks", "_backward_pre_hooks", "_is_full_backward_hook", "_compiled_call_impl"})


class StudentError(Exception):
    """An exception of student code whose class is not a builtin one, carried across as text."""


class Interrupted(BaseException):
    """Raised in the student thread to stop a cell that ran past its time limit."""


class HandOverTimeout(BaseException):
    """The student thread did not answer within the cell's time limit. A ``BaseException``, so
    that a check's ``except Exception`` does not take it for the student's error."""


class OutOfStep(BaseException):
    """A reply that does not answer the request just made: the student thread cannot be trusted
    to run the rest of the notebook."""


class ForeignModule(AssertionError):
    """A model the judge made now holds something only student code could have put there."""


class Trust:
    """What may cross from the student thread as itself (see the module docstring)."""

    def __init__(self, modules, classes):
        self.module_ids = {id(m) for m in modules if isinstance(m, types.ModuleType)}
        self.class_ids = {id(c) for c in classes}
        self._keep = (list(modules), list(classes))
        self.judge_objects: dict[int, object] = {}

    def is_trusted(self, value) -> bool:
        i = id(value)
        return i in self.module_ids or i in self.class_ids or i in self.judge_objects

    def adopt(self, value) -> None:
        """``value`` (made by the judge) is about to be handed to student code."""
        if type(value) in PLAIN or type(value) in TORCH_VALUES or type(value) is Remote:
            return
        self.judge_objects[id(value)] = value

    def check_judge_modules(self) -> None:
        for value in list(self.judge_objects.values()):
            if isinstance(value, nn.Module) and id(type(value)) in self.class_ids:
                self.check_module(value, type(value).__name__)

    def check_module(self, module: nn.Module, path: str) -> None:
        """Raise :class:`ForeignModule` unless ``module`` holds only torch's (or the judge's) layers."""
        kind = type(module)
        if id(kind) not in self.class_ids:
            raise ForeignModule(f"{path} is a {kind.__name__}, a class of your own: the judge can only "
                                "use torch.nn layers here (e.g. nn.Linear)")
        state = object.__getattribute__(module, "__dict__")
        for key, value in state.items():
            if key.endswith("_hooks") or key.endswith("_hooks_with_kwargs") or key.endswith("_always_called"):
                if type(value) in (dict, collections.OrderedDict) and len(value):
                    raise ForeignModule(f"{path} has a hook registered on it ({key}); remove it")
            elif key == "_modules":
                for name, child in value.items():
                    if child is not None:
                        self.check_module(child, f"{path}.{name}")
            elif key == "_parameters":
                for name, p in value.items():
                    if p is not None and (type(p) is not nn.Parameter or p._backward_hooks):
                        raise ForeignModule(f"{path}.{name} is not a plain nn.Parameter")
            elif key not in MODULE_STATE and callable(value) and type(value) is not type:
                raise ForeignModule(f"{path}.{key} was set to a function of your own")


class StudentThread:
    """Runs requests one at a time in a thread of its own (see the module docstring)."""

    def __init__(self, trust: Trust, verify):
        self.trust = trust
        self.verify = verify              # the guard, run in the judge thread after every hand-over
        self._request, self._reply = _thread.allocate_lock(), _thread.allocate_lock()
        self._request.acquire()
        self._reply.acquire()
        self._box: list = [None]
        self.objects: dict[int, object] = {}
        self._released: list[int] = []
        self._next = 1
        self.deadline = None              # time.monotonic() by which the current cell must end
        self._seq = 0
        self.thread = threading.Thread(target=self._serve, name="student", daemon=True)
        self.thread.start()
        self.ident = self.thread.ident

    # --- the student thread ----------------------------------------------------------------------
    def _serve(self) -> None:
        while True:
            self._request.acquire()
            seq, kind, payload = self._box[0]
            try:
                reply = (seq, "ok", self._run(kind, payload))
            except BaseException as exc:  # noqa: BLE001 - every failure becomes data
                reply = (seq, "raised", self._describe_exception(exc))
            self._box[0] = reply
            self._reply.release()

    def _run(self, kind: str, payload):
        released, self._released = self._released, []
        for handle in released:
            self.objects.pop(handle, None)
        if kind == "getattr":
            obj, name = payload
            return self.export(getattr(obj, name))
        if kind == "setattr":
            obj, name, value = payload
            setattr(obj, name, value)
            return None
        if kind == "op":
            fn, args = payload
            return self.export(fn(*args))
        if kind == "run":              # judge code that returns data only
            fn, args = payload
            return fn(*args)
        raise ValueError(kind)

    @staticmethod
    def _describe_exception(exc: BaseException) -> tuple[str, str, str]:
        base = next((c.__name__ for c in type(exc).__mro__ if EXCEPTIONS.get(c.__name__) is c), "Exception")
        try:
            text = str(exc)
        except BaseException:  # noqa: BLE001
            text = "(the exception's message could not be read)"
        return type(exc).__name__, text[:2000], base

    def export(self, value):
        """``value`` as the judge may hold it: data, or a handle to an object kept here."""
        kind = type(value)
        if kind in PLAIN or kind in TORCH_VALUES:
            return value
        if kind is torch.Tensor or kind is nn.Parameter:
            if kind is nn.Parameter and not value.__dict__ and not value._backward_hooks:
                return value              # a model's own weights: the judge may need them as they are
            return value.detach().clone()
        if kind is list or kind is tuple:
            return kind(self.export(v) for v in value)
        if kind is dict and all(type(k) in PLAIN for k in value):
            return {k: self.export(v) for k, v in value.items()}
        if self.trust.is_trusted(value):
            return value
        handle = self._next
        self._next += 1
        self.objects[handle] = value
        return Remote._make(handle, self)

    # --- the judge thread ------------------------------------------------------------------------
    def request(self, kind: str, payload):
        """Hand ``(kind, payload)`` to the student thread and wait for its reply."""
        if _thread.get_ident() == self.ident:
            # A handle the student's code found by walking frames: handing over to the student
            # thread from itself would wait for ever (until the cell's time limit).
            raise PermissionError("not allowed while grading: student code used one of the judge's handles")
        self._seq += 1
        self._box[0] = (self._seq, kind, payload)
        self._request.release()
        limit = -1 if self.deadline is None else max(0.0, self.deadline - time.monotonic())
        if not self._reply.acquire(timeout=limit):
            raise HandOverTimeout()
        reply = self._box[0]
        if type(reply) is not tuple or len(reply) != 3 or reply[0] != self._seq:
            raise OutOfStep()
        _, status, value = reply
        self.verify()
        self.trust.check_judge_modules()
        if status == "raised":
            raise self._rebuild(*value)
        return value

    @staticmethod
    def _rebuild(name: str, text: str, base: str) -> BaseException:
        builtin = EXCEPTIONS.get(base, Exception)
        message = text if name == base else (f"{name}: {text}" if text else name)
        if builtin is StopIteration:
            return StopIteration()
        if not issubclass(builtin, Exception):      # SystemExit, KeyboardInterrupt, …
            return StudentError(f"your code raised {message}")
        try:
            return builtin(message)
        except Exception:  # noqa: BLE001 - exception classes that need other arguments
            return StudentError(message)

    def interrupt(self) -> None:
        """Raise :class:`Interrupted` in the student thread, between two of its bytecodes."""
        import ctypes
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self.ident), ctypes.py_object(Interrupted))

    def wait(self, seconds: float) -> bool:
        """After a timeout: did the student thread finish within ``seconds`` more?"""
        if not self._reply.acquire(timeout=seconds):
            return False
        self.verify()
        return True

    def call(self, fn, *args):
        """Run judge function ``fn(*args)`` in the student thread; it must return data."""
        return self.request("run", (fn, args))

    def release(self, handle: int) -> None:
        self._released.append(handle)

    def unwrap(self, value):
        """An argument for student code: handles become their objects, tensors are copied."""
        kind = type(value)
        if kind is Remote:
            return self.objects[object.__getattribute__(value, "_handle")]
        if kind is list or kind is tuple:
            return kind(self.unwrap(v) for v in value)
        if kind is dict:
            return {k: self.unwrap(v) for k, v in value.items()}
        if kind is torch.Tensor:
            return value.clone()
        self.trust.adopt(value)
        return value


def _call(obj, args, kwargs):
    return obj(*args, **kwargs)


def _class_of(obj):
    cls = type(obj)
    return cls if type(cls) is type else None   # a class with a metaclass of its own stays there


class Remote:
    """A student object seen from the judge thread: every use is a request to the student thread."""

    __slots__ = ("_handle", "_student")

    @classmethod
    def _make(cls, handle: int, student: StudentThread) -> "Remote":
        self = object.__new__(cls)
        object.__setattr__(self, "_handle", handle)
        object.__setattr__(self, "_student", student)
        return self

    def _op(self, fn, *args):
        student = object.__getattribute__(self, "_student")
        return student.request("op", (fn, tuple(student.unwrap(a) for a in (self, *args))))

    def __del__(self):
        try:
            object.__getattribute__(self, "_student").release(object.__getattribute__(self, "_handle"))
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    @property
    def __class__(self):
        student = object.__getattribute__(self, "_student")
        return student.request("run", (_class_of, (student.unwrap(self),)))

    def __getattr__(self, name):
        student = object.__getattribute__(self, "_student")
        return student.request("getattr", (student.unwrap(self), name))

    def __setattr__(self, name, value):
        student = object.__getattribute__(self, "_student")
        student.request("setattr", (student.unwrap(self), name, student.unwrap(value)))

    def __call__(self, *args, **kwargs):
        student = object.__getattribute__(self, "_student")
        return student.request("op", (_call, (student.unwrap(self), student.unwrap(args), student.unwrap(kwargs))))

    def __iter__(self):
        return object.__getattribute__(self, "_op")(iter)

    def __next__(self):
        return object.__getattribute__(self, "_op")(next)

    def __len__(self):
        return object.__getattribute__(self, "_op")(lambda o: int(len(o)))

    def __bool__(self):
        return object.__getattribute__(self, "_op")(lambda o: bool(o))

    def __getitem__(self, key):
        return object.__getattribute__(self, "_op")(lambda o, k: o[k], key)

    def __contains__(self, item):
        return object.__getattribute__(self, "_op")(lambda o, i: bool(i in o), item)

    def __repr__(self):
        return object.__getattribute__(self, "_op")(lambda o: str(repr(o))[:2000])

    def __str__(self):
        return object.__getattribute__(self, "_op")(lambda o: str(o)[:2000])

    def __format__(self, spec):
        return object.__getattribute__(self, "_op")(lambda o, s: str(format(o, s))[:2000], spec)

    def __eq__(self, other):
        return object.__getattribute__(self, "_op")(lambda o, x: bool(o == x), other)

    def __hash__(self):
        return object.__getattribute__(self, "_op")(lambda o: int(hash(o)))

    def __enter__(self):
        return object.__getattribute__(self, "_op")(lambda o: o.__enter__())

    def __exit__(self, *exc):
        return object.__getattribute__(self, "_op")(lambda o: bool(o.__exit__(None, None, None)))

    def __deepcopy__(self, memo):
        import copy
        return object.__getattribute__(self, "_op")(copy.deepcopy)

    def _isinstance_of(self, obj) -> bool:
        """``isinstance(obj, <this student class>)``, decided in the student thread."""
        return object.__getattribute__(self, "_op")(lambda cls, o: bool(isinstance(o, cls)), obj)


def remote_isinstance(obj, classinfo, _isinstance=isinstance, _type=type) -> bool:
    """``isinstance`` that also accepts student classes (handles) in ``classinfo``."""
    infos = classinfo if _type(classinfo) is tuple else (classinfo,)
    local = tuple(c for c in infos if _type(c) is not Remote)
    if local and _isinstance(obj, local):
        return True
    return any(Remote._isinstance_of(c, obj) for c in infos if _type(c) is Remote)


def remote_type(obj):
    """``type(obj)`` for the judge's messages: a student object's own class when it can be read."""
    if type(obj) is Remote:
        return obj.__class__ or Remote
    return type(obj)
