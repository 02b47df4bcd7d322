"""The ``course`` command: nbgrader's own machinery, configured and wrapped for a whole cohort.

```
course release [AID ...]                   # nbgrader generate_assignment (all assignments by default)
course collect AID EXPORT [--roster CSV] [--pattern REGEX]
                                           # an LMS zip export or a folder -> submitted/<student>/AID/
course grade AID [--workers N] [--force] [--student SID ...]
                                           # autograde every submission, feedback, grades.csv
course report AID                          # grades.csv + report.html (histogram, pass rates, failures)
```
Every command works on the course in ``--root`` (default: the current directory when it holds
an nbgrader_config.py, else this repository). ``COURSE_PROFILE`` selects the grading profile,
``COURSE_DB_URL`` the gradebook (default ``sqlite:///<root>/gradebook.db``), ``roster.csv`` in
the root (or ``--roster``) the students. Details: :mod:`course_utils.collect`,
:mod:`course_utils.cohort`, :mod:`course_utils.report`.
"""
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
    proc = subprocess.run([str(bindir / "nbgrader"), *args], cwd=root, check=False,
                          env={**os.environ, "PATH": path, **(env or {})},
                          stdout=out, stderr=subprocess.STDOUT if quiet else None, text=True)
    if check and proc.returncode:
        tail = "\n".join((proc.stdout or "").splitlines()[-30:])
        raise RuntimeError(f"nbgrader {' '.join(args)} failed (exit {proc.returncode})" + (f":\n{tail}" if tail else ""))
    return proc


def db_url(root: Path = ROOT) -> str:
    return os.environ.get("COURSE_DB_URL", f"sqlite:///{Path(root) / 'gradebook.db'}")


def default_workers() -> int:
    """``$COURSE_WORKERS``, else one kernel per two cores (kernels use two threads each)."""
    return int(os.environ.get("COURSE_WORKERS") or max(1, (os.cpu_count() or 2) // 2))


def release(names: list[str] | None = None, root: Path = ROOT, quiet: bool = False) -> None:
    """``nbgrader generate_assignment`` for each assignment, overwriting assignments/."""
    for name in names or assignment_names(root):
        nbgrader("generate_assignment", name, "--force", "--create", root=root, quiet=quiet)


def collect(assignment: str, export: str | Path, root: Path = ROOT, roster=None, pattern: str = "",
            quiet: bool = False):
    """An LMS export (zip or folder) into submitted/; see :mod:`course_utils.collect`."""
    from .collect import collect as collect_export
    return collect_export(assignment, export, Path(root), roster, pattern, quiet)


def grade(assignment: str, root: Path = ROOT, quiet: bool = False, workers: int | None = None,
          force: bool = False, students: list[str] | None = None, roster=None,
          unsafe_no_sandbox: bool = False):
    """Autograde every submission of ``assignment``, write feedback, export the grades.

    Returns one :class:`course_utils.cohort.Outcome` per submission. Submissions already
    graded (same files, same profile) are skipped unless ``force``. Kernels run in the grading
    sandbox (:mod:`course_utils.sandbox`); where it cannot run this raises
    :class:`~course_utils.sandbox.SandboxUnavailable` unless ``unsafe_no_sandbox``.
    """
    from . import report, sandbox
    from .cohort import grade_cohort
    mode = sandbox.grading_mode(unsafe_no_sandbox)
    outcomes = grade_cohort(assignment, Path(root), db_url(root), workers or default_workers(), roster,
                            students, force, quiet, mode)
    paths = report.build(assignment, Path(root), db_url(root), roster, html_report=False)
    if not quiet:
        print(f"grades: {paths['grades']}\nnbgrader export: {paths['nbgrader_export']}\n"
              f"feedback: {Path(root) / 'feedback'}/<student>/{assignment}/", flush=True)
    return outcomes


def write_report(assignment: str, root: Path = ROOT, roster=None, quiet: bool = False) -> dict:
    from . import report
    paths = report.build(assignment, Path(root), db_url(root), roster)
    if not quiet:
        print("\n".join(f"{k}: {v}" for k, v in paths.items()))
    return paths


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


def default_root() -> Path:
    cwd = Path.cwd()
    return cwd if (cwd / "nbgrader_config.py").is_file() else ROOT


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="course", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=None, help="course directory (default: see above)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("release", help="nbgrader generate_assignment for all (or the named) assignments")
    p.add_argument("assignments", nargs="*")
    p = sub.add_parser("collect", help="copy an LMS export (zip or folder) into submitted/")
    p.add_argument("assignment")
    p.add_argument("export", help="a zip file or a folder (<student_id>/<anything>.ipynb)")
    p.add_argument("--roster", help="CSV: student_id[,first_name,last_name,email,lms_id] (default: roster.csv)")
    p.add_argument("--pattern", default="", help="regex with (?P<student_id>...) applied to each file's path")
    p = sub.add_parser("grade", help="autograde every submission, generate feedback, export grades")
    p.add_argument("assignment")
    p.add_argument("--workers", type=int, default=None, help="submissions graded at once (default: cores / 2)")
    p.add_argument("--force", action="store_true", help="regrade submissions that are already graded")
    p.add_argument("--student", action="append", help="grade only this student (repeatable)")
    p.add_argument("--roster", help="roster CSV (default: roster.csv)")
    p.add_argument("--unsafe-no-sandbox", action="store_true",
                   help="grade without the grading sandbox where it cannot run (student code then runs with "
                        "your rights; the report says so)")
    p = sub.add_parser("report", help="grades.csv and report.html for an assignment")
    p.add_argument("assignment")
    p.add_argument("--roster", help="roster CSV (default: roster.csv)")
    args = parser.parse_args(argv)
    root = (args.root or default_root()).resolve()
    if args.command == "release":
        release(args.assignments or None, root=root)
    elif args.command == "collect":
        collect(args.assignment, args.export, root, args.roster, args.pattern)
    elif args.command == "grade":
        from .sandbox import SandboxUnavailable
        try:
            outcomes = grade(args.assignment, root, workers=args.workers, force=args.force, students=args.student,
                             roster=args.roster, unsafe_no_sandbox=args.unsafe_no_sandbox)
        except SandboxUnavailable as exc:
            print(f"course grade: {exc}", file=sys.stderr)
            sys.exit(2)
        if any(o.status == "error" for o in outcomes):
            sys.exit(1)
    elif args.command == "report":
        write_report(args.assignment, root, args.roster)


if __name__ == "__main__":
    main()
