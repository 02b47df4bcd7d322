"""The ``course`` command: nbgrader's own machinery, configured and wrapped for a whole cohort.

```
course release [AID ...]                   # nbgrader generate_assignment (all assignments by default)
course collect AID EXPORT [--roster CSV] [--pattern REGEX]
                                           # an LMS zip export or a folder -> submitted/<student>/AID/
course grade AID [--workers N] [--force] [--student SID ...]
                                           # autograde every submission, feedback, grades.csv
course report AID                          # grades.csv + report.html (histogram, pass rates, failures)
```
Every command works on the course in ``--root`` (default: the current directory, which must
hold an nbgrader_config.py). ``COURSE_PROFILE`` selects the grading profile, ``COURSE_DB_URL``
the gradebook (default ``sqlite:///<root>/gradebook.db``), ``roster.csv`` in the root (or
``--roster``) the students. Details: :mod:`course_grader.collect`, :mod:`course_grader.run`,
:mod:`course_grader.report`.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .course import Course, CourseError


def default_workers() -> int:
    """One kernel per two cores (kernels use two threads each)."""
    return max(1, (os.cpu_count() or 2) // 2)


def release(course: Course, names: list[str] | None = None, quiet: bool = False) -> None:
    """nbgrader's ``generate_assignment`` for each assignment, overwriting assignments/.

    Through nbgrader's Python API in this process: one nbgrader start for all assignments.
    """
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    from . import gradebook
    config = course.load_config()
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    gradebook.create(api.coursedir.db_url)
    for name in names or course.assignment_names():
        result = api.generate_assignment(name, force=True, create=True)
        log = "\n".join(filter(None, (result.get("log"), result.get("error"))))
        if not result.get("success"):
            tail = "\n".join(log.splitlines()[-30:])
            raise CourseError(f"nbgrader generate_assignment {name} failed" + (f":\n{tail}" if tail else ""))
        if not quiet and log:
            print(log)


def collect(course: Course, assignment: str, export: str | Path, roster=None, pattern: str = "",
            quiet: bool = False):
    """An LMS export (zip or folder) into submitted/; see :mod:`course_grader.collect`."""
    from .collect import collect as collect_export
    return collect_export(course, assignment, export, roster, pattern, quiet)


def grade(course: Course, assignment: str, quiet: bool = False, workers: int | None = None,
          force: bool = False, students: list[str] | None = None, roster=None,
          unsafe_no_sandbox: bool = False, clear_flags: bool = False):
    """Autograde every submission of ``assignment``, write feedback, export the grades.

    Returns one :class:`course_grader.run.Outcome` per submission. Submissions already
    graded (same files, same profile) are skipped unless ``force``. Student code runs in the
    grading sandbox (:mod:`course_grader.sandbox`); where it cannot run this raises
    :class:`~course_grader.sandbox.bwrap.SandboxUnavailable` unless ``unsafe_no_sandbox``.
    """
    from . import report
    from .run import grade_cohort
    from .sandbox.bwrap import grading_mode
    mode = grading_mode(unsafe_no_sandbox)
    if clear_flags and not students:
        raise CourseError("--clear-flag needs --student: clear the flags of students you have reviewed, one by one")
    outcomes = grade_cohort(course, assignment, workers or default_workers(), roster, students,
                            force or clear_flags, quiet, mode, clear_flags)
    paths = report.build(assignment, course.root, course.db_url, roster, html_report=False)
    if not quiet:
        print(f"grades: {paths['grades']}\nnbgrader export: {paths['nbgrader_export']}\n"
              f"feedback: {course.root / 'feedback'}/<student>/{assignment}/", flush=True)
    return outcomes


def write_report(course: Course, assignment: str, roster=None, quiet: bool = False) -> dict:
    from . import report
    paths = report.build(assignment, course.root, course.db_url, roster)
    if not quiet:
        print("\n".join(f"{k}: {v}" for k, v in paths.items()))
    return paths


def parser() -> argparse.ArgumentParser:
    p0 = argparse.ArgumentParser(prog="course", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    p0.add_argument("--root", type=Path, default=None, help="course directory (default: the current directory)")
    sub = p0.add_subparsers(dest="command", required=True)
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
    p.add_argument("--clear-flag", action="store_true",
                   help="after reviewing a student's flagged submission: regrade it and score the flagged checks "
                        "on their verdicts (with --student)")
    p.add_argument("--unsafe-no-sandbox", action="store_true",
                   help="grade without the grading sandbox where it cannot run (student code then runs with "
                        "your rights; the report says so)")
    p = sub.add_parser("report", help="grades.csv and report.html for an assignment")
    p.add_argument("assignment")
    p.add_argument("--roster", help="roster CSV (default: roster.csv)")
    return p0


def main(argv=None) -> None:
    args = parser().parse_args(argv)
    from .sandbox.bwrap import SandboxUnavailable
    try:
        course = Course.at(args.root)
        if args.command == "release":
            release(course, args.assignments or None)
        elif args.command == "collect":
            if collect(course, args.assignment, args.export, args.roster, args.pattern).failed:
                sys.exit(1)   # a student's files could not be written: their earlier submission stays
        elif args.command == "grade":
            outcomes = grade(course, args.assignment, workers=args.workers, force=args.force,
                             students=args.student, roster=args.roster,
                             unsafe_no_sandbox=args.unsafe_no_sandbox, clear_flags=args.clear_flag)
            if any(o.status == "error" for o in outcomes):
                sys.exit(1)
        elif args.command == "report":
            write_report(course, args.assignment, args.roster)
    except (CourseError, SandboxUnavailable) as exc:
        print(f"course {args.command}: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
