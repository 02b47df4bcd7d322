"""The judge's own copy of the teaching library, loaded before any student code runs.

Every module of ``course_utils`` that a check may use is compiled from its file and executed
into a module object that is *not* in ``sys.modules``, with a private copy of the builtins whose
``__import__`` resolves ``course_utils.*`` to these copies and every other module to the one
that was loaded when the judge started. What the student's code does to its own
``course_utils``, to ``sys.modules``, to ``builtins`` or to the import system therefore never
reaches the checks.
"""
from __future__ import annotations

import builtins
import importlib.util
import sys
import types
from pathlib import Path

PACKAGE = "course_utils"
# What checks, specs and the hidden tests use (directly or through each other).
PRELOAD = ("profiles", "config", "summary", "metrics", "data", "specs", "checks", "pretrained", "train")


class PrivateLoader:
    """Private copies of the modules of ``packages`` (``modules[name]``), see the module docstring.

    The judge's own modules are loaded this way too, so that the builtins *they* call cannot be
    replaced by student code either.
    """

    def __init__(self, packages=(PACKAGE, "course_grader")):
        # One copy of the builtins per package: the judge may give the teaching library's checks
        # a different isinstance without changing the judge's own.
        self.builtins_of = {}
        for name in packages:
            self.builtins_of[name] = dict(vars(builtins))
            self.builtins_of[name]["__import__"] = self._import
        self.modules_at_start = dict(sys.modules)
        self._fallback_import = builtins.__import__
        self.roots = {name: Path(importlib.util.find_spec(name).origin).parent for name in packages}
        self.modules: dict[str, types.ModuleType] = {}

    def load_teaching_library(self, preload=PRELOAD) -> types.ModuleType:
        """The private ``course_utils`` with the modules checks need, its lazy names resolved."""
        for name in preload:
            self.load(f"{PACKAGE}.{name}")
        package = self.modules[PACKAGE]
        config = self.modules[f"{PACKAGE}.config"]
        for name in getattr(package, "__all__", ()):
            setattr(package, name, getattr(config, name))
        return package

    # --- loading ---------------------------------------------------------------------------------
    def _private(self, fullname: str) -> bool:
        return any(fullname == p or fullname.startswith(p + ".") for p in self.roots)

    def _file(self, fullname: str) -> tuple[Path, bool]:
        top, *parts = fullname.split(".")
        base = self.roots[top].joinpath(*parts)
        if (base / "__init__.py").is_file():
            return base / "__init__.py", True
        if base.with_suffix(".py").is_file():
            return base.with_suffix(".py"), False
        raise ModuleNotFoundError(f"no module named {fullname!r} in the grader's private copies")

    def is_module(self, fullname: str) -> bool:
        try:
            self._file(fullname)
        except ModuleNotFoundError:
            return False
        return True

    def load(self, fullname: str) -> types.ModuleType:
        if fullname in self.modules:
            return self.modules[fullname]
        if "." in fullname:
            self.load(fullname.rpartition(".")[0])
        path, is_package = self._file(fullname)
        module = types.ModuleType(fullname)
        module.__file__ = str(path)
        module.__package__ = fullname if is_package else fullname.rpartition(".")[0]
        if is_package:
            module.__path__ = [str(path.parent)]
        module.__dict__["__builtins__"] = self.builtins_of[fullname.partition(".")[0]]
        self.modules[fullname] = module          # before running it: import cycles see it
        code = compile(path.read_bytes(), str(path), "exec")
        # While it runs, dataclasses (and typing) look the module up in sys.modules by name.
        public = sys.modules.get(fullname)
        sys.modules[fullname] = module
        try:
            exec(code, module.__dict__)
        finally:
            if public is None:
                del sys.modules[fullname]
            else:
                sys.modules[fullname] = public
        if "." in fullname:
            parent, _, child = fullname.rpartition(".")
            setattr(self.modules[parent], child, module)
        return module

    # --- import ----------------------------------------------------------------------------------
    def _import(self, name, globals=None, locals=None, fromlist=(), level=0):
        if level:
            package = (globals or {}).get("__package__") or ""
            base = package.rsplit(".", level - 1)[0] if level > 1 else package
            fullname = f"{base}.{name}" if name else base
        else:
            fullname = name
        if self._private(fullname):
            module = self.load(fullname)
            for item in fromlist or ():
                if item != "*" and not hasattr(module, item) and self.is_module(f"{fullname}.{item}"):
                    self.load(f"{fullname}.{item}")
            return module if fromlist else self.modules[fullname.partition(".")[0]]
        if fullname in self.modules_at_start:
            module = self.modules_at_start[fullname]
            return module if fromlist else self.modules_at_start.get(fullname.partition(".")[0], module)
        return self._fallback_import(name, globals, locals, fromlist, level)

    def owns(self, obj) -> bool:
        """Is ``obj`` a function or class defined in the private copy?"""
        module = getattr(obj, "__module__", None)  # only for objects of trusted types
        return isinstance(module, str) and module in self.modules and \
            getattr(self.modules[module], getattr(obj, "__name__", ""), None) is obj
