"""The nbgrader round trip, as tests drive it: release → students work → submit → autograde → feedback.

A temporary course directory holds a copy of the assignment's source and our nbgrader config,
so tests never touch the repository's gradebook and can run side by side.
"""
from __future__ import annotations

import json
import os
import runpy
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient

import student_runs

from course_grader import cli, gradebook
from course_grader.course import Course
from course_grader.sandbox import bwrap as sandbox

# Tests grade in the grading sandbox wherever it can run (CI runs as root with bubblewrap);
# elsewhere they pass --unsafe-no-sandbox explicitly, as an instructor would have to.
NO_SANDBOX = not sandbox.available()[0]
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
    """Run the notebook top to bottom in ``workdir`` as a student would (errors do not stop it);
    in a process forked from a warm one (tests/student_runs.py), not a kernel started for it."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "NBGRADER_EXECUTION"}
    env.update(COURSE_PROFILE=profile, MPLBACKEND="Agg")
    student_runs.run_as_student(nb, workdir, f"{aid}.ipynb", env, timeout)
    return workdir


def execute_in_kernel(nb: nbformat.NotebookNode, workdir: Path, aid: str, profile: str = "smoke",
                      timeout: int = 900) -> Path:
    """``execute_as_student`` in a fresh Jupyter kernel, as a student's run really starts."""
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
        mutants[path.stem] = {"CELLS": ns["CELLS"], "LOSES": set(ns["LOSES"]), "doc": ns.get("__doc__") or "",
                              "FEEDBACK": ns.get("FEEDBACK")}
    return mutants


def grade_ids(aid: str, solutions: Path = ROOT / "solutions", **flags) -> set[str]:
    """grade_ids of the source notebook's nbgrader cells whose metadata has every ``flag=value``."""
    return {_nbgrader_meta(c)["grade_id"] for c in source_notebook(aid, solutions).cells
            if _nbgrader_meta(c) and all(_nbgrader_meta(c).get(k) == v for k, v in flags.items())}


def assert_mutants_are_well_formed(aid: str) -> dict[str, dict]:
    """Each mutant replaces solution cells of the source, names autograded checks it loses and says
    what bug it is; returns the mutants."""
    mutants = load_mutants(aid)
    solution_ids, autograded = grade_ids(aid, solution=True), grade_ids(aid, grade=True, solution=False)
    for name, mutant in mutants.items():
        assert set(mutant["CELLS"]) <= solution_ids, name
        assert mutant["LOSES"] and mutant["LOSES"] <= autograded, name
        assert mutant["doc"].strip(), name
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
        cli.release(Course(course), list(aids), quiet=quiet)
    finally:
        os.environ.clear()
        os.environ.update(env)
    return course


def set_limits(course: Path, **limits) -> None:
    """Grading limits for this course (cell_timeout=…, memory_gb=…, cpu_seconds=…, tmp_mb=…), as
    an instructor sets them: in its nbgrader_config.py."""
    config = course / "nbgrader_config.py"
    config.write_text(config.read_text() + "".join(f"\nc.JudgeExecute.{k} = {v!r}" for k, v in limits.items()) + "\n")


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


def grade_cohort(aid: str, submissions: dict[str, Path], course: Path, quiet: bool = True,
                 workers: int | None = None) -> Cohort:
    """Submit each folder, autograde and generate feedback; return the scores."""
    for student, workdir in submissions.items():
        submit(course, aid, student, workdir)
    cli.grade(Course(course), aid, quiet=quiet, workers=workers, unsafe_no_sandbox=NO_SANDBOX)
    return Cohort(aid, course, gradebook.scores(Course(course).db_url, aid), gradebook.max_scores(Course(course).db_url, aid))


def load_tampers(aid: str) -> dict[str, dict]:
    """``{name: {"ON", "CHEAT", "FLAGGED", "doc"}}`` from tests/tampers/<aid>/*.py."""
    tampers = {}
    for path in sorted((ROOT / "tests" / "tampers" / aid).glob("*.py")):
        ns = runpy.run_path(str(path))
        tampers[path.stem] = {"ON": ns["ON"], "CHEAT": ns["CHEAT"], "FLAGGED": ns["FLAGGED"],
                              "doc": ns.get("__doc__") or ""}
    return tampers


def load_honest(aid: str) -> dict[str, dict]:
    """``{name: {"CELLS", "NOTE"}}`` from tests/honest/<aid>/*.py."""
    found = {}
    for path in sorted((ROOT / "tests" / "honest" / aid).glob("*.py")):
        ns = runpy.run_path(str(path))
        found[path.stem] = {"CELLS": ns["CELLS"], "NOTE": ns["NOTE"]}
    return found


def tamper_submission(aid: str, tamper: dict, mutants: dict, release: Path, work: Path) -> Path:
    """The mutant (or blank release) underneath, its cheat added; the mutant's own trained weights."""
    from nbformat.v4 import new_code_cell
    blank = tamper["ON"] == "blank"
    cells = {} if blank else dict(mutants[tamper["ON"]]["CELLS"])
    reference = reference_cells(aid)
    for gid, cheat in tamper["CHEAT"].items():
        if gid != "added":
            cells[gid] = (cells.get(gid) or reference[gid]) + "\n\n" + cheat
    nb = make_submission(aid, cells, blank=blank, release=release)
    if "added" in tamper["CHEAT"]:
        nb.cells.insert(1, new_code_cell(tamper["CHEAT"]["added"]))
    folder = write_unexecuted(nb, work, aid)
    weights = work.parent / f"mutant_{tamper['ON']}" / f"{aid}_model.pt"
    if weights.exists():
        shutil.copy(weights, folder / weights.name)
    return folder


def run_standard_cohort(aid: str, tmp: Path, extra: dict[str, Path] | None = None) -> tuple[Cohort, dict]:
    """Reference (executed), blank release, every mutant (executed) and every tampering
    submission (tests/tampers/<aid>/, on top of its mutant), graded together.

    Returns the cohort and the mutants table; students are ``reference``, ``blank``,
    ``mutant_<name>`` and ``tamper_<name>``.
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
    for name, tamper in load_tampers(aid).items():
        subs[f"tamper_{name}"] = tamper_submission(aid, tamper, mutants, release, work / f"tamper_{name}")
    for name, variant in load_honest(aid).items():   # correct, written differently: the reference's weights
        folder = write_unexecuted(make_submission(aid, variant["CELLS"], release=release), work / f"honest_{name}", aid)
        for weights in (work / "reference").glob("*.pt"):
            shutil.copy(weights, folder / weights.name)
        subs[f"honest_{name}"] = folder
    subs.update(extra or {})
    return grade_cohort(aid, subs, course), mutants


def assert_tamper_gains_nothing(cohort: Cohort, aid: str, name: str) -> None:
    """A tampering submission keeps every loss of the bug underneath, and is flagged where the
    guard is the defence (feedback, state file, grades.csv)."""
    tamper = load_tampers(aid)[name]
    student = f"tamper_{name}"
    honest = "blank" if tamper["ON"] == "blank" else f"mutant_{tamper['ON']}"
    assert cohort.total(student) <= cohort.total(honest), (cohort.scores[student], cohort.scores[honest])
    assert cohort.lost(student) >= cohort.lost(honest), (cohort.scores[student], cohort.scores[honest])
    text = visible_text(cohort.feedback(student))
    state = json.loads((cohort.course / "reports" / aid / "grading" / f"{student}.json").read_text())
    if tamper["FLAGGED"]:
        assert "tampering suspected" in text and tamper["FLAGGED"] in text, text[-2000:]
        assert any(tamper["FLAGGED"] in f for f in state["flags"]), state["flags"]
        grades = (cohort.course / "reports" / aid / "grades.csv").read_text()
        row = next(line for line in grades.splitlines() if line.startswith(student + ","))
        assert "tampering suspected" in row, row


# --- Toy assignments: tiny, fast, built in a temporary folder ---------------------------------
# They exercise the whole pipeline without waiting for (or depending on) the real assignments.

def nb_cell(kind: str, source: str, grade_id: str, **meta) -> nbformat.NotebookNode:
    """A code or markdown cell with nbgrader metadata (read-only and ungraded unless told)."""
    from nbformat.v4 import new_code_cell, new_markdown_cell
    cell = new_code_cell(source) if kind == "code" else new_markdown_cell(source)
    cell.metadata["nbgrader"] = {"grade_id": grade_id, "schema_version": 3, "task": False,
                                 "grade": False, "solution": False, "locked": False, **meta}
    return cell


def _notebook(cells) -> nbformat.NotebookNode:
    from nbformat.v4 import new_notebook
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


FRESH_IMPORT = "from course_utils import checks\n"

SQUARE = "a0_toy"
SQUARE_HIDDEN_LINE = "assert square(3) == 9, 'square(3): expected 9. Hint: multiply, do not add.'"


def square_source() -> nbformat.NotebookNode:
    """One function, one test cell with a hidden assert, one written answer (no torch)."""
    return _notebook([
        nb_cell("code", "import os\nprint('ready')", "setup", locked=True),
        nb_cell("code", "def square(x):\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION", "square",
                solution=True),
        nb_cell("code", "assert square(2) == 4\n### BEGIN HIDDEN TESTS\n" + SQUARE_HIDDEN_LINE + "\n### END HIDDEN TESTS",
                "test_square", grade=True, locked=True, points=2),
        nb_cell("markdown", "Why?\n\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION", "written_why",
                solution=True, grade=True, points=1),
    ])


# a0_blobs: the shape of a real assignment in miniature. A model is built (make_model), trained
# outside grading (train_model, run by a read-only cell that saves a0_blobs_model.pt and is
# skipped under NBGRADER_EXECUTION), and the hidden tests check the output shape, the exact
# parameter count and the accuracy of the *submitted weights* on held-out data.
BLOBS = "a0_blobs"
BLOBS_WEIGHTS = f"{BLOBS}_model.pt"
BLOBS_SETUP = '''import os
import torch
import torch.nn as nn
from course_utils import checks


def make_blobs(n, seed):
    """Two Gaussian blobs in 8 dimensions, labels 0 and 1: a stand-in for a data set."""
    gen = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 2, (n,), generator=gen)
    points = torch.randn(n, 8, generator=gen) + (2.0 * labels - 1.0)[:, None]
    return points, labels
'''
BLOBS_MAKE_MODEL = '''def make_model():
    ### BEGIN SOLUTION
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
    ### END SOLUTION
'''
BLOBS_TRAIN = '''def train_model(steps=200):
    ### BEGIN SOLUTION
    torch.manual_seed(0)
    model = make_model()
    points, labels = make_blobs(512, seed=1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(steps):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(points), labels).backward()
        optimizer.step()
    return model
    ### END SOLUTION
'''
# Lines of the hidden tests: a feedback page must never show them.
BLOBS_HIDDEN_LINES = (
    "_ = checks.check_output_shape(make_model(), (5, 8), (5, 2))",
    "checks.check_param_count(make_model(), 8 * 16 + 16 + 16 * 2 + 2",
    "points, labels = make_blobs(400, seed=123)",
    "checks.check_accuracy(accuracy, 0.9, 'accuracy on held-out blobs')",
)
BLOBS_POINTS = {"test_shape": 1, "test_params": 1, "test_accuracy": 2}


def blobs_source() -> nbformat.NotebookNode:
    hidden = lambda *lines: "### BEGIN HIDDEN TESTS\n" + FRESH_IMPORT + "\n".join(lines) + "\n### END HIDDEN TESTS"
    return _notebook([
        nb_cell("code", BLOBS_SETUP, "setup", locked=True),
        nb_cell("code", BLOBS_MAKE_MODEL, "make_model", solution=True),
        nb_cell("code", "assert make_model()(torch.zeros(3, 8)).shape == (3, 2), 'make_model() must map (N, 8) to (N, 2)'\n"
                + hidden(BLOBS_HIDDEN_LINES[0]), "test_shape", grade=True, locked=True, points=1),
        nb_cell("code", "print('parameters:', checks.count_params(make_model()))\n"
                + hidden(BLOBS_HIDDEN_LINES[1] + ", hint='one hidden layer of 16 units.')"),
                "test_params", grade=True, locked=True, points=1),
        nb_cell("code", BLOBS_TRAIN, "train_model", solution=True),
        nb_cell("code", 'if os.environ.get("NBGRADER_EXECUTION"):\n'
                '    print("Grading run: training skipped; the saved weights are evaluated instead.")\n'
                'else:\n'
                f'    torch.save(train_model().state_dict(), "{BLOBS_WEIGHTS}")\n', "run_training", locked=True),
        nb_cell("code", f"print('The hidden test loads {BLOBS_WEIGHTS} into make_model() and measures its accuracy.')\n"
                + hidden(f'model = checks.load_trained_weights(make_model(), "{BLOBS_WEIGHTS}")',
                         BLOBS_HIDDEN_LINES[2],
                         "with torch.no_grad():",
                         "    accuracy = (model(points).argmax(1) == labels).float().mean().item()",
                         BLOBS_HIDDEN_LINES[3]),
                "test_accuracy", grade=True, locked=True, points=2),
        nb_cell("markdown", "Why does the accuracy test load weights instead of training?\n\n"
                "### BEGIN SOLUTION\nGrading costs inference, not training.\n### END SOLUTION",
                "written_why", solution=True, grade=True, points=1),
    ])


def blobs_weights(path: Path, make_model: str | None = None, trained: bool = True) -> Path:
    """Save the weights a student would submit: ``make_model`` (source) trained by the reference
    ``train_model``, or untrained with a zero output layer (it predicts one class: 50 %)."""
    import torch
    ns: dict = {}
    exec(BLOBS_SETUP, ns)
    exec(without_markers(make_model or BLOBS_MAKE_MODEL), ns)
    exec(without_markers(BLOBS_TRAIN), ns)
    if trained:
        model = ns["train_model"]()
    else:
        model = ns["make_model"]()
        with torch.no_grad():
            for p in model[-1].parameters():
                p.zero_()
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
    return path


def toy_course(tmp: Path, sources: dict[str, nbformat.NotebookNode]) -> tuple[Path, Path]:
    """A course in ``tmp/course`` with the given source notebooks released; returns (course, solutions)."""
    solutions = tmp / "src"
    for aid, nb in sources.items():
        (solutions / aid).mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, solutions / aid / f"{aid}.ipynb")
    return new_course(tmp / "course", list(sources), solutions=solutions), solutions


def gradebook_dump(db_url: str, assignment: str) -> dict:
    """Everything the autograder writes for ``assignment``, in a comparable form."""
    from nbgrader.api import Gradebook
    out = {}
    with Gradebook(db_url) as gb:
        for sub in gb.assignment_submissions(assignment):
            grades = {(nb.name, g.name): (g.auto_score, g.manual_score, g.needs_manual_grade)
                      for nb in sub.notebooks for g in nb.grades}
            comments = {(nb.name, c.name): c.auto_comment for nb in sub.notebooks for c in nb.comments}
            out[sub.student_id] = {"timestamp": str(sub.timestamp), "grades": grades, "comments": comments}
    return out


def submission_counts(db_url: str, assignment: str) -> dict[str, int]:
    """Rows in nbgrader's submission table per student (exactly one each, or something is wrong)."""
    from collections import Counter
    from nbgrader.api import Gradebook, SubmittedAssignment
    with Gradebook(db_url) as gb:
        rows = gb.db.query(SubmittedAssignment).filter(SubmittedAssignment.assignment.has(name=assignment)).all()
        return dict(Counter(r.student.id for r in rows))


def visible_text(html_page: str) -> str:
    """What a reader of an HTML page sees: tags (highlighting spans too) removed, entities decoded."""
    import html as _html
    import re
    body = re.sub(r"<(style|script)\b.*?</\1>", "", html_page, flags=re.S)
    return _html.unescape(re.sub(r"<[^>]+>", "", body))


# --- hidden tests in feedback, however they are encoded --------------------------------------------

def hidden_lines(aid: str, solutions: Path = ROOT / "solutions") -> list[str]:
    """The lines only ``aid``'s hidden tests have (whitespace removed, 12 characters or more; a
    line that also stands outside every hidden block, like an import, is public)."""
    from course_grader.plugins.hide_hidden_tests import HIDDEN_BLOCK
    squeeze = lambda line: "".join(line.split())
    hidden, public = [], set()
    for cell in source_notebook(aid, solutions).cells:
        public |= {squeeze(l) for l in HIDDEN_BLOCK.sub("", cell.source).splitlines()}
        for block in HIDDEN_BLOCK.findall(cell.source):
            hidden += [squeeze(l) for l in block.splitlines()[1:-1]]
    # a hidden line inside a public one (`out = check(...)` shown, `check(...)` hidden) is public
    public_text = "\n".join(public)
    return [key for key in dict.fromkeys(hidden)
            if len(key) >= 12 and not key.startswith("#") and key not in public_text]


def assert_no_hidden_lines(folder: Path, aid: str, solutions: Path = ROOT / "solutions") -> int:
    """No hidden-test line of ``aid`` in any file under ``folder``: plain (whitespace-insensitive),
    rot13, reversed, or as the base64 of a line or of the whole block. Returns files scanned."""
    import base64
    import codecs
    lines = hidden_lines(aid, solutions)
    assert lines, f"{aid} has no hidden tests to look for"
    needles = {line: {"plain": line, "rot13": codecs.encode(line, "rot13"), "reversed": line[::-1]}
               for line in lines}
    files = sorted(p for p in Path(folder).rglob("*") if p.is_file())
    for path in files:
        text = path.read_text(errors="replace")
        flat = "".join(visible_text(text).split()) + "".join(text.split())
        for line, forms in needles.items():
            for kind, needle in forms.items():
                assert needle not in flat, f"{path}: a hidden-test line ({kind}): {line}"
        for chunk in set(__import__("re").findall(r"[A-Za-z0-9+/=]{24,}", text)):
            try:
                decoded = base64.b64decode(chunk + "=" * (-len(chunk) % 4), validate=False)
            except ValueError:
                continue
            for blob in (decoded, _inflate(decoded)):
                flat_blob = "".join(blob.decode(errors="ignore").split())
                for line in lines:
                    assert line not in flat_blob, f"{path}: a hidden-test line (base64): {line}"
    return len(files)


def _inflate(data: bytes) -> bytes:
    import zlib
    try:
        return zlib.decompress(data)
    except zlib.error:
        return b""
