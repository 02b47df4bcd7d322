"""The nbgrader round trip, as tests drive it: release → students work → submit → autograde → feedback.

A temporary course directory holds a copy of the assignment's source and our nbgrader config,
so tests never touch the repository's gradebook and can run side by side.
"""
from __future__ import annotations

import os
import runpy
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from course_utils import grading

ROOT = Path(__file__).resolve().parent.parent
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def _nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def source_notebook(aid: str, solutions: Path = ROOT / "solutions") -> nbformat.NotebookNode:
    return nbformat.read(solutions / aid / f"{aid}.ipynb", as_version=4)


def without_markers(source: str) -> str:
    return "\n".join(l for l in source.split("\n") if l.strip() not in MARKERS)


def reference_cells(aid: str, solutions: Path = ROOT / "solutions") -> dict[str, str]:
    """``{grade_id: source}`` of every solution cell as the reference answers it."""
    return {_nbgrader_meta(c)["grade_id"]: without_markers(c.source)
            for c in source_notebook(aid, solutions).cells if _nbgrader_meta(c).get("solution")}


def make_submission(aid: str, cells: dict[str, str] | None = None, blank: bool = False,
                    release: Path = ROOT / "assignments", solutions: Path = ROOT / "solutions") -> nbformat.NotebookNode:
    """The release notebook, filled in with the reference's answers, then ``cells`` on top.

    ``blank=True`` is the release untouched (a student who submitted without working).
    """
    nb = nbformat.read(release / aid / f"{aid}.ipynb", as_version=4)
    if blank:
        return nb
    answers = {**reference_cells(aid, solutions), **(cells or {})}
    unknown = set(cells or {}) - set(answers) | (set(cells or {}) - {_nbgrader_meta(c).get("grade_id") for c in nb.cells})
    if unknown:
        raise KeyError(f"no solution cells named {sorted(unknown)} in {aid}")
    for cell in nb.cells:
        gid = _nbgrader_meta(cell).get("grade_id")
        if _nbgrader_meta(cell).get("solution") and gid in answers:
            cell.source = answers[gid]
    return nb


def execute_as_student(nb: nbformat.NotebookNode, workdir: Path, aid: str, profile: str = "smoke",
                       timeout: int = 900) -> Path:
    """Run the notebook top to bottom in ``workdir`` as a student would (errors do not stop it)."""
    workdir.mkdir(parents=True, exist_ok=True)
    env_before = dict(os.environ)
    os.environ["COURSE_PROFILE"] = profile
    os.environ.pop("NBGRADER_EXECUTION", None)
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(workdir)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(env_before)
    nbformat.write(nb, workdir / f"{aid}.ipynb")
    return workdir


def write_unexecuted(nb: nbformat.NotebookNode, workdir: Path, aid: str) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, workdir / f"{aid}.ipynb")
    return workdir


def load_mutants(aid: str) -> dict[str, dict]:
    """``{name: {"CELLS", "LOSES", "doc"}}`` from tests/mutants/<aid>/*.py."""
    mutants = {}
    for path in sorted((ROOT / "tests" / "mutants" / aid).glob("*.py")):
        if path.name.startswith("_"):
            continue
        ns = runpy.run_path(str(path))
        mutants[path.stem] = {"CELLS": ns["CELLS"], "LOSES": set(ns["LOSES"]), "doc": ns.get("__doc__") or ""}
    return mutants


def new_course(course: Path, aids, solutions: Path = ROOT / "solutions", quiet: bool = True) -> Path:
    """A throwaway course directory with our config, the assignments' sources and their release."""
    course.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    for aid in aids:
        shutil.copytree(solutions / aid, course / "solutions" / aid, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("*.pt", ".ipynb_checkpoints"))
    env = dict(os.environ)
    os.environ.pop("COURSE_DB_URL", None)
    try:
        grading.release(list(aids), root=course, quiet=quiet)
    finally:
        os.environ.clear()
        os.environ.update(env)
    return course


def submit(course: Path, aid: str, student: str, workdir: Path) -> None:
    """Copy a student's folder (notebook + weights) into submitted/<student>/<aid>/."""
    dest = course / "submitted" / student / aid
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(workdir, dest, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))


@dataclass
class Cohort:
    aid: str
    course: Path
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    max_scores: dict[str, float] = field(default_factory=dict)

    def feedback(self, student: str) -> str:
        """The HTML feedback of one student (all notebooks of the assignment)."""
        files = sorted((self.course / "feedback" / student / self.aid).glob("*.html"))
        return "\n".join(f.read_text(errors="replace") for f in files)

    def total(self, student: str) -> float:
        return sum(self.scores[student].values())

    def lost(self, student: str) -> set[str]:
        """The autograded cells on which ``student`` did not get full marks."""
        return {g for g, s in self.scores[student].items() if s < self.max_scores[g]}


def grade_cohort(aid: str, submissions: dict[str, Path], course: Path, quiet: bool = True) -> Cohort:
    """Submit each folder, autograde and generate feedback; return the scores."""
    for student, workdir in submissions.items():
        submit(course, aid, student, workdir)
    grading.grade(aid, root=course, quiet=quiet)
    return Cohort(aid, course, grading.scores(aid, course), grading.max_scores(aid, course))


def run_standard_cohort(aid: str, tmp: Path, extra: dict[str, Path] | None = None) -> tuple[Cohort, dict]:
    """Reference (executed), blank release and every mutant (executed), graded together.

    Returns the cohort and the mutants table; students are ``reference``, ``blank`` and
    ``mutant_<name>``.
    """
    course = new_course(tmp / "course", [aid])
    release = course / "assignments"
    work = tmp / "work"
    subs = {"reference": execute_as_student(make_submission(aid, release=release), work / "reference", aid),
            "blank": write_unexecuted(make_submission(aid, blank=True, release=release), work / "blank", aid)}
    mutants = load_mutants(aid)
    for name, m in mutants.items():
        nb = make_submission(aid, m["CELLS"], release=release)
        subs[f"mutant_{name}"] = execute_as_student(nb, work / f"mutant_{name}", aid)
    subs.update(extra or {})
    return grade_cohort(aid, subs, course), mutants
