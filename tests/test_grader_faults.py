"""A fault of the grader is never a student's grade.

`course grade` checks its inputs before grading anyone (the data, free disk, a writable
gradebook) and refuses with one line; a fault while grading (a worker killed, the disk full)
leaves the student "not graded", makes the command exit non-zero, and the next `course grade`
grades them; students whose grading never finished are shown as not graded, not as 0.
"""
from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import roundtrip as rt
from course_grader import cli, gradebook, report
from course_grader.course import Course

AID = rt.BLOBS
SLOW_MODEL = rt.without_markers(rt.BLOBS_MAKE_MODEL).replace(
    "def make_model():", "import time\ntime.sleep(15)\n\n\ndef make_model():")
FAULTY_PLUGIN = '''
import errno
from nbgrader.preprocessors.base import NbGraderPreprocessor


class DiskFull(NbGraderPreprocessor):
    """Stands in for a disk that fills up while a notebook is graded."""

    def preprocess(self, nb, resources):
        raise OSError(errno.ENOSPC, "No space left on device")
'''


def blobs_course(tmp: Path, students: dict[str, str]) -> Path:
    """A toy course with one submission per student (``{student: make_model source}``)."""
    course, solutions = rt.toy_course(tmp, {AID: rt.blobs_source()})
    for student, model in students.items():
        nb = rt.make_submission(AID, {"make_model": model}, release=course / "assignments", solutions=solutions)
        folder = rt.write_unexecuted(nb, tmp / "work" / student, AID)
        rt.blobs_weights(folder / rt.BLOBS_WEIGHTS)
        rt.submit(course, AID, student, folder)
    return course


def course_cli(course: Path, *args: str, env: dict | None = None) -> subprocess.Popen:
    flags = ["--unsafe-no-sandbox"] if rt.NO_SANDBOX and args[:1] == ("grade",) else []
    return subprocess.Popen([sys.executable, "-m", "course_grader.cli", "--root", str(course), *args, *flags],
                            env={**os.environ, **(env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def states(course: Path) -> dict[str, dict]:
    folder = course / "reports" / AID / "grading"
    return {p.stem: json.loads(p.read_text()) for p in folder.glob("*.json")} if folder.is_dir() else {}


def test_a_killed_worker_leaves_the_student_not_graded_and_the_next_run_grades_them(tmp_path):
    course = blobs_course(tmp_path, {"slow": SLOW_MODEL})
    proc = course_cli(course, "grade", AID, "--workers", "1")
    deadline, worker = time.monotonic() + 300, None
    while worker is None and time.monotonic() < deadline:
        time.sleep(0.5)
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                text = cmdline.read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if "course_grader.worker" in text and str(course) in text:
                worker = int(cmdline.parent.name)
    assert worker, "no grading worker started"
    time.sleep(8)                         # it is grading the slow student now
    os.kill(worker, signal.SIGKILL)       # as the out-of-memory killer would
    out, err = proc.communicate(timeout=600)
    assert proc.returncode != 0
    assert "slow: 0/0 NOT graded" in out or "NOT graded" in out, out
    assert "not graded: the grading worker exited" in out
    assert "slow" not in states(course)                       # nothing recorded as the student's result
    assert not (course / "feedback" / "slow").exists()        # and nothing told the student it was theirs
    again = course_cli(course, "grade", AID, "--workers", "1")
    out, err = again.communicate(timeout=900)
    assert again.returncode == 0, out + err
    assert gradebook.scores(Course(course).db_url, AID)["slow"] == rt.BLOBS_POINTS


def test_a_full_disk_while_grading_is_a_grader_fault_not_a_grade(tmp_path):
    course = blobs_course(tmp_path, {"ref": rt.without_markers(rt.BLOBS_MAKE_MODEL)})
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "faulty_plugins.py").write_text(FAULTY_PLUGIN)
    config = course / "nbgrader_config.py"
    config.write_text(config.read_text() + "\nc.Autograde.autograde_preprocessors = "
                      "['faulty_plugins.DiskFull'] + list(c.Autograde.autograde_preprocessors)\n")
    proc = course_cli(course, "grade", AID, "--workers", "1", env={"PYTHONPATH": str(tmp_path / "plugins")})
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 1, out + err
    assert "not graded: the disk is full" in out
    assert states(course) == {} and not (course / "feedback" / "ref").exists()


def test_grading_refuses_an_empty_data_directory_with_one_line_and_grades_nobody(tmp_path):
    course = rt.new_course(tmp_path / "course", ["a1_vgg"])
    nb = rt.make_submission("a1_vgg", blank=True, release=course / "assignments")
    rt.submit(course, "a1_vgg", "s1", rt.write_unexecuted(nb, tmp_path / "w" / "s1", "a1_vgg"))
    empty = tmp_path / "empty_data"
    empty.mkdir()
    proc = course_cli(course, "grade", "a1_vgg", env={"COURSE_DATA_DIR": str(empty)})
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 2
    assert len(err.strip().splitlines()) == 1 and "does not hold CIFAR-10" in err, err
    assert not (course / "autograded").exists() and not (course / "reports" / "a1_vgg" / "grading").exists()


_access = os.access


# Only writing is refused: a refused X_OK would also hide bubblewrap from the sandbox probe,
# and its answer is kept for the rest of the process (the next tests would grade nothing).
@pytest.mark.parametrize("fault, patch, said", [
    ("gradebook", ("access", lambda path, mode, **kw: False if mode & os.W_OK else _access(path, mode, **kw)),
     "cannot be written"),
    ("disk", ("disk_usage", lambda path: type("U", (), {"free": 10 * 1024 ** 2})()), "MB free on the disk"),
])
def test_grading_checks_its_inputs_first_and_refuses_with_one_line(tmp_path, monkeypatch, capsys, fault, patch, said):
    course = blobs_course(tmp_path, {"ref": rt.without_markers(rt.BLOBS_MAKE_MODEL)})
    name, fake = patch
    from course_grader import run
    monkeypatch.setattr(run.os if name == "access" else run.shutil, name, fake)
    with pytest.raises(SystemExit) as exited:
        cli.main(["--root", str(course), "grade", AID, *(["--unsafe-no-sandbox"] if rt.NO_SANDBOX else [])])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and said in err, err
    assert states(course) == {}


def test_students_whose_grading_never_finished_are_not_shown_as_zero(tmp_path):
    course = blobs_course(tmp_path, {"done": rt.without_markers(rt.BLOBS_MAKE_MODEL)})
    cli.grade(Course(course), AID, quiet=True, workers=1, unsafe_no_sandbox=rt.NO_SANDBOX)
    # a second student whose row exists (a server gradebook writes it first) but whose run was killed
    gradebook.record_zero(Course(course).db_url, AID, "inflight", course / "submitted" / "done" / AID, {})
    paths = report.build(AID, course, Course(course).db_url, html_report=True)
    rows = {r["student_id"]: r for r in csv.DictReader(open(paths["grades"]))}
    assert rows["inflight"]["status"] == "not_finished" and rows["inflight"]["total"] == ""
    assert rows["done"]["status"] == "graded" and float(rows["done"]["total"]) == sum(rt.BLOBS_POINTS.values())
    assert "grading did not finish" in paths["report"].read_text()
