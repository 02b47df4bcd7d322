"""Grading against a PostgreSQL gradebook (nbgrader's ``db_url``) with two workers writing at once.

Starts Debian's ``postgresql`` on 127.0.0.1 in a temporary data directory; skipped, with the
reason, where it is not installed (``make test`` installs it through the Makefile's ``sysdeps``;
tests never install system packages).
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import nbformat
import pytest

import roundtrip as rt
from course_grader import cli, report
from course_grader.course import Course

pytestmark = pytest.mark.postgres
AID = rt.BLOBS
EXPECTED = {"ref": 4.0, "noweights": 2.0, "badjson": 0.0}


def pg_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def postgresql_missing() -> str:
    """Why the server cannot be started here ('' when Debian's package is installed)."""
    return "" if pg_bindir() else "PostgreSQL is not installed (`make sysdeps` installs it as root on Debian)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres():
    """A throwaway server on 127.0.0.1 with trust authentication; yields a db_url."""
    why = postgresql_missing()
    if why:
        print(f"SKIP postgres: {why}")
        pytest.skip(why)
    pytest.importorskip("psycopg2", reason="psycopg2 (the test extra psycopg2-binary) is not installed")
    bindir = pg_bindir()
    # Not under pytest's tmp: that is private to this user, and the server runs as postgres.
    data = Path(tempfile.mkdtemp(prefix="course-pg-"))
    as_user = []
    if os.geteuid() == 0:  # the server refuses to run as root
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(data, "postgres", "postgres")
    port = free_port()

    def run(*cmd):
        proc = subprocess.run([*as_user, *map(str, cmd)], capture_output=True, text=True)
        assert proc.returncode == 0, f"{cmd[0]} failed: {proc.stdout}{proc.stderr}"
    run(bindir / "initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync")
    run(bindir / "pg_ctl", "-D", data, "-l", data / "server.log", "-w", "-t", "120", "start",
        "-o", f"-h 127.0.0.1 -p {port} -k {data} -F")
    try:
        run(bindir / "createdb", "-h", "127.0.0.1", "-p", port, "-U", "postgres", "gradebook")
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/gradebook"  # SQLAlchemy 2.1's default is psycopg 3
    finally:
        subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="module")
def graded(postgres, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pgcourse")
    course, solutions = rt.toy_course(tmp, {AID: rt.blobs_source()})
    saved = dict(os.environ)
    os.environ.update(COURSE_DB_URL=postgres)
    rt.set_limits(course, cell_timeout=60)
    try:
        cli.release(Course(course), [AID], quiet=True)  # the assignment's cells into this gradebook
        make = lambda: rt.make_submission(AID, release=course / "assignments", solutions=solutions)
        for student in ("ref", "noweights"):
            folder = course / "submitted" / student / AID
            folder.mkdir(parents=True)
            # ref uploaded the notebook under another name: it is graded as a0_blobs.ipynb
            name = "My a0_blobs (final).ipynb" if student == "ref" else f"{AID}.ipynb"
            nbformat.write(make(), folder / name)
            if student == "ref":
                rt.blobs_weights(folder / rt.BLOBS_WEIGHTS)
        bad = course / "submitted" / "badjson" / AID
        bad.mkdir(parents=True)
        (bad / f"{AID}.ipynb").write_text('{"cells": [')
        outcomes = cli.grade(Course(course), AID, quiet=True, workers=2, unsafe_no_sandbox=rt.NO_SANDBOX)
        counts = rt.submission_counts(postgres, AID)
        table = report.cohort_table(AID, course, postgres, [])
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return {"course": course, "url": postgres, "outcomes": outcomes, "counts": counts, "table": table,
            "scores": {s: sum(v.values()) for s, v in _scores(postgres).items()}}


def _scores(url: str) -> dict:
    from nbgrader.api import Gradebook
    with Gradebook(url) as gb:
        return {sub.student_id: {g.name: g.score for nb in sub.notebooks for g in nb.grades if g.cell_type == "code"}
                for sub in gb.assignment_submissions(AID)}


def test_two_workers_grade_into_postgres(graded):
    assert graded["scores"] == EXPECTED
    assert graded["counts"] == {s: 1 for s in EXPECTED}
    assert not (graded["course"] / "gradebook.db").exists() or \
        not rt.submission_counts(f"sqlite:///{graded['course'] / 'gradebook.db'}", AID)


def test_renamed_notebook_is_graded_under_the_assignment_name(graded):
    ref = next(o for o in graded["outcomes"] if o.student == "ref")
    assert "graded as 'a0_blobs.ipynb'" in ref.message
    # graded from a staged copy under the assignment's name; what the student handed in stays as it was
    assert (graded["course"] / "autograded" / "ref" / AID / f"{AID}.ipynb").exists()
    assert not (graded["course"] / "submitted" / "ref" / AID / f"{AID}.ipynb").exists()
    assert list((graded["course"] / "submitted" / "ref" / AID).glob("*.ipynb")) != []


def test_report_reads_the_postgres_gradebook(graded):
    rows = {r.student_id: r for r in graded["table"].rows}
    assert {s: r.total for s, r in rows.items()} == EXPECTED
    assert rows["badjson"].status == "invalid_json"
    assert all((graded["course"] / "feedback" / s / AID / f"{AID}.html").exists() for s in EXPECTED)
