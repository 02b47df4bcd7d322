"""A whole cohort of the toy assignment a0_blobs, good and bad submissions mixed, graded end to end.

One module-scoped run does what an instructor does and records each stage, so that the tests
below only read results: an LMS zip export (Canvas-style file names, folders, a re-submission,
strays) is collected with a roster; ``course grade --workers 2`` is killed with SIGKILL once the
first submission is graded, then run again to the end; a third run must change nothing; a
second export re-submits one student; ``course report`` writes the grades table and page.
"""
from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

import roundtrip as rt
from course_grader import cli, gradebook
from course_grader.course import Course

AID = rt.BLOBS
CHECKS = set(rt.BLOBS_POINTS)
CELL_TIMEOUT = 10
MEMORY_GB = 2

FRESH_MODEL = rt.without_markers(rt.BLOBS_MAKE_MODEL)
WIDE_MODEL = FRESH_MODEL.replace("16", "32")
THREE_CLASS_MODEL = FRESH_MODEL.replace("Linear(16, 2)", "Linear(16, 3)")
MONKEYPATCH = '''import torch
import course_utils.checks as graded_checks
# Make every check pass and every model look small: the hidden tests must not be fooled.
torch.nn.Module.parameters = lambda self, recurse=True: iter(())
graded_checks.check_param_count = lambda *args, **kwargs: None
graded_checks.check_accuracy = lambda *args, **kwargs: None
graded_checks.load_trained_weights = lambda model, path: model
''' + WIDE_MODEL

# student: (answers that differ from the reference, weights to submit, checks lost, feedback phrases)
# weights: "trained" (the student's make_model, trained), "untrained" (zero output layer), None.
STUDENTS = {
    "ref": ({}, "trained", set(), []),
    "blank": (None, None, CHECKS, ["NotImplementedError"]),
    "noweights": ({}, None, {"test_accuracy"}, ["expected the file a0_blobs_model.pt next to your notebook"]),
    "syntax": ({"make_model": "def make_model(:\n    return None\n"}, "trained", CHECKS, ["SyntaxError"]),
    "importerr": ({"make_model": "import torchvison\n" + FRESH_MODEL}, "trained", CHECKS,
                  ["ModuleNotFoundError", "torchvison"]),
    "nameerr": ({"make_model": "def make_model():\n    return build_layers()\n"}, "trained", CHECKS,
                ["NameError", "build_layers"]),
    "loop": ({"make_model": "while True:\n    pass\n" + FRESH_MODEL}, "trained", CHECKS,
             [f"timed out after {CELL_TIMEOUT} s", "NameError"]),
    "memory": ({"make_model": "hoard = torch.ones(3 * 2**30 // 4)\n" + FRESH_MODEL}, "trained", CHECKS,
               [f"memory limit of {MEMORY_GB:g} GB", "NameError"]),
    "dies": ({"make_model": "import os\nos._exit(1)\n" + FRESH_MODEL}, "trained", CHECKS,
             ["the grading process was killed while it ran cell", "ended Python (os._exit)"]),
    # deletes two test cells and the training cell, and guts the first test: all come back.
    "tampered": ({"make_model": THREE_CLASS_MODEL}, "trained", {"test_shape", "test_params"},
                 ["was missing from the submission"]),
    # The guard sees torch.nn.Module.parameters replaced: every check from there on is flagged.
    "patched": ({"make_model": MONKEYPATCH}, "untrained", CHECKS,
                ["tampering suspected", "Module.parameters was replaced"]),
    # submitted twice in one export: an older blank notebook, then the reference under another name
    "resub": ({}, "trained", set(), []),
    "badjson": ("invalid", None, CHECKS, ["not valid notebook JSON"]),
    "notnb": ("not-a-notebook", None, CHECKS, ["JSON but not a Jupyter notebook"]),
    "empty": ("empty", None, CHECKS, ["notebook file is empty"]),
    "wrongaid": ("square", None, CHECKS, ["does not contain the cells of a0_blobs",
                                          "looks like the notebook of a0_toy"]),
}
ROSTER = [*STUDENTS, "absent"]  # "absent" submits nothing
STUBS = {"badjson": "invalid_json", "notnb": "not_notebook", "empty": "empty",
         "wrongaid": "wrong_assignment"}
STAMP = dt.datetime(2025, 3, 1, 12, 0, 0)


def lms_id(student: str) -> str:
    return str(1001 + ROSTER.index(student))


def canvas_name(student: str, filename: str, attempt: int = 0) -> str:
    """Canvas: <lastfirst>_<user id>_<submission id>_<the student's file name>."""
    i = ROSTER.index(student)
    return f"person{chr(97 + i)}_{lms_id(student)}_{9001 + 50 * attempt + i}_{filename}"


def submission_files(student: str, release: Path, solutions: Path, work: Path) -> dict[str, bytes]:
    """{file name in the student's own folder: content} for one student."""
    cells, weights, _, _ = STUDENTS[student]
    make = lambda **kw: rt.make_submission(AID, release=release, solutions=solutions, **kw)
    if cells == "invalid":
        return {f"{AID}.ipynb": b'{"cells": [{"cell_type": "code", "source": "x = 1"'}
    if cells == "not-a-notebook":
        return {f"{AID}.ipynb": b'{"answer": 42, "note": "my results"}'}
    if cells == "empty":
        return {f"{AID}.ipynb": b""}
    if cells == "square":
        nb = rt.make_submission(rt.SQUARE, release=release, solutions=solutions)
        return {f"{AID}.ipynb": nbformat.writes(nb).encode()}
    nb = make(blank=True) if cells is None else make(cells=cells)
    if student == "tampered":
        drop = {"test_params", "run_training", "test_accuracy"}
        nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") not in drop]
        next(c for c in nb.cells if c.metadata["nbgrader"]["grade_id"] == "test_shape").source = "pass"
    files = {f"{AID}.ipynb": nbformat.writes(nb).encode()}
    if weights:
        model = (cells or {}).get("make_model", FRESH_MODEL)
        if student == "patched":
            model = WIDE_MODEL
        elif student in ("syntax", "importerr", "nameerr", "loop", "memory", "dies"):
            model = FRESH_MODEL  # they trained before breaking the cell
        path = rt.blobs_weights(work / student / rt.BLOBS_WEIGHTS, model, trained=weights == "trained")
        files[rt.BLOBS_WEIGHTS] = path.read_bytes()
    return files


def write_export(path: Path, entries: dict[str, tuple[bytes, dt.datetime]]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, (data, when) in entries.items():
            z.writestr(zipfile.ZipInfo(name, when.timetuple()[:6]), data)
    return path


def course_cli(course: Path, *args: str, **popen) -> subprocess.Popen:
    env = dict(os.environ)
    env.pop("COURSE_DB_URL", None)
    return subprocess.Popen([sys.executable, "-m", "course_grader.cli", "--root", str(course), *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen)


def grading_processes(course: Path) -> list[int]:
    """Workers and kernels of a grading run in ``course`` that are still alive."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        worker = "course_grader.worker" in cmd and str(course) in cmd
        judge = "course_grader.judge" in cmd
        if worker or judge:
            pids.append(int(proc.name))
    return pids


def snapshot(course: Path) -> dict:
    url = Course(course).db_url
    return {"dump": rt.gradebook_dump(url, AID), "counts": rt.submission_counts(url, AID),
            "scores": gradebook.scores(Course(course).db_url, AID),
            "feedback": {s: feedback_text(course, s) for s in STUDENTS},
            "files": {s: sorted(p.name for p in (course / "submitted" / s / AID).iterdir()) for s in STUDENTS},
            "csv": (course / "reports" / AID / "grades.csv").read_bytes(),
            "db_sha": __import__("hashlib").sha256((course / "gradebook.db").read_bytes()).hexdigest()}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Collect, grade (killed, then resumed), grade again, re-submit one student, report."""
    env = pytest.MonkeyPatch()
    env.delenv("COURSE_DB_URL", raising=False)
    try:
        yield grade_everything(tmp_path_factory.mktemp("cohort"))
    finally:
        env.undo()


def grade_everything(tmp: Path) -> dict:
    course, solutions = rt.toy_course(tmp, {AID: rt.blobs_source(), rt.SQUARE: rt.square_source()})
    rt.set_limits(course, cell_timeout=CELL_TIMEOUT, memory_gb=MEMORY_GB)
    release = course / "assignments"
    # Weights left in the source folder (say, by running the reference) must never replace a
    # student's: these would fail the accuracy check.
    rt.blobs_weights(course / "solutions" / AID / rt.BLOBS_WEIGHTS, trained=False)
    with open(course / "roster.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["student_id", "first_name", "last_name", "email", "lms_id"])
        for s in ROSTER:
            w.writerow([s, s.title(), "Student", f"{s}@uni.example", lms_id(s)])

    entries = {}
    for student in STUDENTS:
        for name, data in submission_files(student, release, solutions, tmp / "work").items():
            if student in ("ref", "noweights"):  # some LMSs export a folder per student
                entries[f"{student}/{name}"] = (data, STAMP)
            elif student == "resub" and name.endswith(".ipynb"):
                first = nbformat.writes(rt.make_submission(AID, release=release, blank=True)).encode()
                entries[canvas_name(student, name)] = (first, STAMP)
                entries[canvas_name(student, "Copy of a0_blobs (2).ipynb", 1)] = (data, STAMP + dt.timedelta(hours=2))
            else:
                entries[canvas_name(student, name)] = (data, STAMP)
    entries["README.txt"] = (b"exported by the LMS", STAMP)
    entries["personz_4242_9999_a0_blobs.ipynb"] = (entries["ref/a0_blobs.ipynb"][0], STAMP)  # not on the roster
    export = write_export(tmp / "lms_export.zip", entries)
    summary = cli.collect(Course(course), AID, export, quiet=True)

    # First run: SIGKILL once the first notebook is autograded, while the other worker is busy.
    proc = course_cli(course, "grade", AID, "--workers", "2", *(["--unsafe-no-sandbox"] if rt.NO_SANDBOX else []))
    killed_after = []
    for line in proc.stdout:
        killed_after.append(line.rstrip())
        if line.startswith("[") and " graded (" in line:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait()
    states_at_kill = sorted(p.stem for p in (course / "reports" / AID / "grading").glob("*.json"))
    deadline, left = time.monotonic() + 60, grading_processes(course)
    while left and time.monotonic() < deadline:
        time.sleep(1)
        left = grading_processes(course)

    # The CLI once (above); the later runs in this process, which has paid its imports already.
    resumed = cli.grade(Course(course), AID, quiet=True, workers=2, unsafe_no_sandbox=rt.NO_SANDBOX)
    graded = snapshot(course)
    rerun = cli.grade(Course(course), AID, quiet=True, workers=2, unsafe_no_sandbox=rt.NO_SANDBOX)
    again = snapshot(course)

    # A second export: "blank" re-submits the reference solution.
    files = submission_files("ref", release, solutions, tmp / "work2")
    later = STAMP + dt.timedelta(days=1)
    export2 = write_export(tmp / "lms_export_2.zip", {canvas_name("blank", n, 2): (d, later) for n, d in files.items()})
    cli.collect(Course(course), AID, export2, quiet=True)
    resubmitted_out = cli.grade(Course(course), AID, quiet=True, workers=2, unsafe_no_sandbox=rt.NO_SANDBOX)
    resubmitted = snapshot(course)
    report_out = cli.write_report(Course(course), AID, quiet=True)
    return {"course": course, "summary": summary, "killed_after": killed_after, "kill_rc": proc.returncode,
            "states_at_kill": states_at_kill, "left_after_kill": left, "resumed": resumed, "graded": graded,
            "rerun": rerun, "again": again, "resubmitted_out": resubmitted_out, "resubmitted": resubmitted,
            "report_out": report_out}


def feedback_text(course: Path, student: str) -> str:
    pages = sorted((course / "feedback" / student / AID).glob("*.html"))
    return "\n".join(rt.visible_text(p.read_text(errors="replace")) for p in pages)


# --- collect --------------------------------------------------------------------------------

def test_collect_maps_lms_file_names_to_roster_students(run):
    summary, course = run["summary"], run["course"]
    assert set(summary.files) == set(STUDENTS)
    assert summary.absent == ["absent"]
    assert {Path(p).name for p in summary.skipped} == {"README.txt", "personz_4242_9999_a0_blobs.ipynb"}
    for student in STUDENTS:
        folder = course / "submitted" / student / AID
        assert (folder / f"{AID}.ipynb").is_file(), student
        assert (rt.BLOBS_WEIGHTS in run["graded"]["files"][student]) == (STUDENTS[student][1] is not None), student


def test_collect_keeps_the_newest_of_two_submissions_in_one_export(run):
    nb = nbformat.read(run["course"] / "submitted" / "resub" / AID / f"{AID}.ipynb", as_version=4)
    assert "nn.Linear(8, 16)" in "".join(c.source for c in nb.cells)  # the later, filled-in one
    assert run["graded"]["scores"]["resub"] == rt.BLOBS_POINTS


# --- grades and feedback ---------------------------------------------------------------------

@pytest.mark.parametrize("student", list(STUDENTS))
def test_each_submission_gets_its_exact_score(run, student):
    lost = STUDENTS[student][2]
    expected = {c: (0.0 if c in lost else float(p)) for c, p in rt.BLOBS_POINTS.items()}
    assert run["graded"]["scores"][student] == expected


def test_every_submission_has_exactly_one_gradebook_row(run):
    assert run["graded"]["counts"] == {s: 1 for s in STUDENTS}
    assert gradebook.integrity_check(Course(run["course"]).db_url) == "ok"


@pytest.mark.parametrize("student", list(STUDENTS))
def test_feedback_says_what_happened(run, student):
    text = run["graded"]["feedback"][student]
    assert text, f"no feedback for {student}"
    for phrase in STUDENTS[student][3]:
        assert phrase in text, (student, phrase)
    expected_total = sum(p for c, p in rt.BLOBS_POINTS.items() if c not in STUDENTS[student][2])
    score = re.search(r"Score: ([\d.]+) / ([\d.]+)", text)
    assert score and float(score.group(1)) == expected_total, (student, score and score.group(0))


def test_feedback_never_shows_hidden_tests(run):
    pages = sorted((run["course"] / "feedback").glob(f"*/{AID}/*.html"))
    assert len(pages) == len(STUDENTS)
    for page in pages:
        text = page.read_text(errors="replace")
        seen = rt.visible_text(text)
        for line in rt.BLOBS_HIDDEN_LINES:
            assert line not in text and line not in seen, (page, line)
        assert "BEGIN HIDDEN TESTS" not in seen, page


def test_unreadable_submissions_are_recorded_with_their_reason(run):
    course = run["course"]
    states = {s: json.loads((course / "reports" / AID / "grading" / f"{s}.json").read_text()) for s in STUDENTS}
    assert {s: st["status"] for s, st in states.items() if st["status"] != "graded"} == STUBS
    assert all(st["profile"] == "smoke" and st["cell_timeout"] == CELL_TIMEOUT for st in states.values())


# --- nothing is lost ---------------------------------------------------------------------------

def test_killed_run_was_killed_mid_cohort(run):
    assert run["kill_rc"] == -signal.SIGKILL
    assert 0 < len(run["states_at_kill"]) < len(STUDENTS), run["killed_after"]
    assert run["left_after_kill"] == [], "workers or kernels outlived the killed grading run"


def test_rerun_after_kill_grades_the_rest_exactly_once(run):
    skipped = sorted(o.student for o in run["resumed"] if o.skipped)
    assert skipped == run["states_at_kill"]
    assert sorted(o.student for o in run["resumed"]) == sorted(STUDENTS)
    assert run["graded"]["counts"] == {s: 1 for s in STUDENTS}


def test_second_run_changes_nothing(run):
    assert all(o.skipped for o in run["rerun"]) and len(run["rerun"]) == len(STUDENTS)
    for key in ("dump", "csv", "db_sha", "feedback"):
        assert run["again"][key] == run["graded"][key], key


def test_resubmission_replaces_the_earlier_grade(run):
    before, after = run["again"], run["resubmitted"]
    assert [o.student for o in run["resubmitted_out"] if not o.skipped] == ["blank"]
    assert before["scores"]["blank"] == {c: 0.0 for c in CHECKS}
    assert after["scores"]["blank"] == rt.BLOBS_POINTS
    assert after["counts"] == {s: 1 for s in STUDENTS}
    assert {s: d for s, d in after["dump"].items() if s != "blank"} == \
           {s: d for s, d in before["dump"].items() if s != "blank"}
    assert gradebook.integrity_check(Course(run["course"]).db_url) == "ok"


# --- report ------------------------------------------------------------------------------------

def test_grades_csv_has_one_row_per_roster_student(run):
    rows = list(csv.DictReader(open(run["course"] / "reports" / AID / "grades.csv")))
    assert [r["student_id"] for r in rows] == ROSTER
    by = {r["student_id"]: r for r in rows}
    assert by["absent"]["status"] == "missing" and by["absent"]["test_shape"] == ""
    assert {"test_shape", "test_params", "test_accuracy", "written_why", "total"} <= set(rows[0])
    assert by["ref"]["total"] == "4" and by["patched"]["test_shape"] == "0" and by["patched"]["total"] == "0"
    assert "tampering suspected" in by["patched"]["status"] + by["patched"].get("tampering", ""), by["patched"]
    assert by["ref"]["written_why"] == "" and by["ref"]["needs_manual_grading"] == "yes"
    assert by["badjson"]["status"] == "invalid_json" and "JSON" in by["badjson"]["note"]


def test_report_page_records_settings_rates_and_failures(run):
    directory = run["course"] / "reports" / AID
    page = rt.visible_text((directory / "report.html").read_text())
    assert (directory / "score_histogram.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "profile" in page and "smoke" in page and str(CELL_TIMEOUT) in page and f"{MEMORY_GB}" in page
    passed = sum("test_shape" not in lost for s, (_, _, lost, _) in STUDENTS.items() if s != "blank") + 1
    assert "test_shape" in page and f"{passed}/{len(STUDENTS)}" in page  # + blank, who re-submitted
    assert "NameError: name 'make_model' is not defined" in page
    assert "missing" in page or "no submission" in page
    for line in rt.BLOBS_HIDDEN_LINES:
        assert line not in page
