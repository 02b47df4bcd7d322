"""The ``course`` command: nbgrader's own CLI, configured and wrapped for a whole cohort."""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def assignment_names(root: Path = ROOT) -> list[str]:
    """Every assignment with a source notebook under solutions/."""
    return sorted(p.name for p in (root / "solutions").iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def nbgrader(*args: str, root: Path = ROOT, check: bool = True, env: dict | None = None,
             quiet: bool = False) -> subprocess.CompletedProcess:
    """Run one nbgrader subcommand in the course root (where its nbgrader_config.py is)."""
    bindir = Path(sys.executable).parent
    out = subprocess.PIPE if quiet else None
    # nbgrader runs `alembic` from PATH to migrate the gradebook: put our venv's first.
    path = f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"
    return subprocess.run([str(bindir / "nbgrader"), *args], cwd=root, check=check,
                          env={**os.environ, "PATH": path, **(env or {})},
                          stdout=out, stderr=subprocess.STDOUT if quiet else None, text=True)


def db_url(root: Path = ROOT) -> str:
    return os.environ.get("COURSE_DB_URL", f"sqlite:///{Path(root) / 'gradebook.db'}")


def release(names: list[str] | None = None, root: Path = ROOT, quiet: bool = False) -> None:
    """``nbgrader generate_assignment`` for each assignment, overwriting assignments/."""
    for name in names or assignment_names(root):
        nbgrader("generate_assignment", name, "--force", "--create", root=root, quiet=quiet)


def grade(assignment: str, root: Path = ROOT, quiet: bool = False) -> None:
    """Autograde every submission of ``assignment``, then generate (sanitised) feedback."""
    nbgrader("autograde", assignment, "--force", root=root, quiet=quiet)
    nbgrader("generate_feedback", assignment, "--force", root=root, quiet=quiet)


def scores(assignment: str, root: Path = ROOT) -> dict[str, dict[str, float]]:
    """``{student: {grade_id: score}}`` for the autograded cells, read from the gradebook."""
    from nbgrader.api import Gradebook
    result: dict[str, dict[str, float]] = {}
    with Gradebook(db_url(root)) as gb:
        for sub in gb.assignment_submissions(assignment):
            cells = {}
            for nb in sub.notebooks:
                for g in nb.grades:
                    if g.cell_type == "code":  # autograded cells; written answers are graded by hand
                        cells[g.name] = g.score
            result[sub.student_id] = cells
    return result


def max_scores(assignment: str, root: Path = ROOT) -> dict[str, float]:
    """``{grade_id: points}`` of the autograded (code) cells of ``assignment``."""
    from nbgrader.api import Gradebook
    with Gradebook(db_url(root)) as gb:
        a = gb.find_assignment(assignment)
        return {c.name: c.max_score for nb in a.notebooks for c in nb.grade_cells if c.cell_type == "code"}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="course", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("release", help="nbgrader generate_assignment for all (or the named) assignments")
    p.add_argument("assignments", nargs="*")
    p = sub.add_parser("grade", help="autograde every submission and generate feedback")
    p.add_argument("assignment")
    args = parser.parse_args(argv)
    if args.command == "release":
        release(args.assignments or None)
    elif args.command == "grade":
        grade(args.assignment)


if __name__ == "__main__":
    main()
