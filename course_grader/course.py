"""A course on disk: its root, its folders, its gradebook and the nbgrader commands run in it.

The root is what the instructor names (``course --root DIR``) or the current directory when it
holds an ``nbgrader_config.py``; nothing here derives it from where this package is installed.
"""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from . import settings


class CourseError(RuntimeError):
    """A problem with the course's inputs; the message is one line that says what to do."""


@dataclass(frozen=True)
class Course:
    root: Path

    @classmethod
    def at(cls, root: str | Path | None = None) -> "Course":
        """The course in ``root``, else in the current directory (it must hold nbgrader_config.py)."""
        path = Path(root) if root is not None else Path.cwd()
        path = path.resolve()
        if not (path / "nbgrader_config.py").is_file():
            where = f"--root {root}" if root is not None else f"the current directory ({path})"
            raise CourseError(f"{where} is not a course: it has no nbgrader_config.py "
                              "(run the command in the course folder, or pass --root)")
        return cls(path)

    # --- folders -------------------------------------------------------------------------------
    @property
    def db_url(self) -> str:
        return os.environ.get(settings.DB_URL_ENV) or f"sqlite:///{self.root / 'gradebook.db'}"

    def release_dir(self, assignment: str) -> Path:
        return self.root / "assignments" / assignment

    def submission_dir(self, student: str, assignment: str) -> Path:
        return self.root / "submitted" / student / assignment

    def feedback_dir(self, student: str, assignment: str) -> Path:
        return self.root / "feedback" / student / assignment

    def autograded_dir(self, student: str, assignment: str) -> Path:
        return self.root / "autograded" / student / assignment

    def reports_dir(self, assignment: str) -> Path:
        return self.root / "reports" / assignment

    def assignment_names(self) -> list[str]:
        """Every assignment with a source notebook under solutions/."""
        source = self.root / "solutions"
        if not source.is_dir():
            return []
        return sorted(p.name for p in source.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))

    def released_notebook(self, assignment: str) -> str:
        """The stem of the one released notebook of ``assignment``."""
        release = self.release_dir(assignment)
        notebooks = sorted(p.stem for p in release.glob("*.ipynb"))
        if len(notebooks) != 1:
            raise CourseError(f"{release}: expected exactly one released notebook, found "
                              f"{notebooks or 'none'} (run `course release {assignment}` first)")
        return notebooks[0]

    def load_config(self):
        """The traitlets config nbgrader reads from ``<root>/nbgrader_config.py``."""
        from traitlets.config.loader import PyFileConfigLoader
        return PyFileConfigLoader("nbgrader_config.py", path=str(self.root)).load_config()

    # --- nbgrader -------------------------------------------------------------------------------
    def nbgrader(self, *args: str, check: bool = True, env: dict | None = None,
                 quiet: bool = False) -> subprocess.CompletedProcess:
        """Run one nbgrader subcommand in the course root (where its nbgrader_config.py is)."""
        bindir = Path(sys.executable).parent
        out = subprocess.PIPE if quiet else None
        # nbgrader runs `alembic` from PATH to migrate the gradebook: put our venv's first.
        path = f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"
        proc = subprocess.run([str(bindir / "nbgrader"), *args], cwd=self.root, check=False,
                              env={**os.environ, "PATH": path, **(env or {})},
                              stdout=out, stderr=subprocess.STDOUT if quiet else None, text=True)
        if check and proc.returncode:
            tail = "\n".join((proc.stdout or "").splitlines()[-30:])
            raise CourseError(f"nbgrader {' '.join(args)} failed (exit {proc.returncode})"
                              + (f":\n{tail}" if tail else ""))
        return proc
