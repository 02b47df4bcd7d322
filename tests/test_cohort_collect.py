"""Fast checks of the pieces around nbgrader: who a file belongs to, unpacking, triage, staging."""
from __future__ import annotations

import datetime as dt
import os
import zipfile

import nbformat
import pytest

import roundtrip as rt
from course_grader import submissions
from course_grader.plugins.zip_collect import TimestampExtractor
from course_grader.roster import Student, load_roster, student_for

ROSTER = [Student("jdoe", "Jane", "Doe", "jane.doe@uni.example", "48213"), Student("ann"), Student("anna", lms_id="7")]


@pytest.mark.parametrize("path, student", [
    ("jdoe/a1_vgg.ipynb", "jdoe"),                                          # a folder per student
    ("doejane_48213_771_a1_vgg.ipynb", "jdoe"),                             # Canvas
    ("Jane Doe_48213_assignsubmission_file_/a1_vgg.ipynb", "jdoe"),         # Moodle
    ("jane.doe@uni.example/Copy of a1_vgg.ipynb", "jdoe"),                  # by e-mail
    ("anna_final.ipynb", "anna"),                                           # "ann" is not a whole token here
    ("ann/anna.ipynb", "ann"),                                              # the earliest match wins
    ("someone_99_a1_vgg.ipynb", None),                                      # nobody
    ("x_48213_7_a1.ipynb", "jdoe"),
])
def test_roster_decides_whose_file_it_is(path, student):
    assert student_for(path, ROSTER)[0] == student


def test_pattern_and_no_roster_rules():
    assert student_for("sub-48213-a1.ipynb", ROSTER, r"sub-(?P<student_id>\d+)-")[0] == "jdoe"  # lms_id -> id
    assert student_for("sub-1-a1.ipynb", ROSTER, r"sub-(?P<student_id>\d+)-")[0] is None        # not on roster
    assert student_for("kim/whatever.ipynb", [])[0] == "kim"
    assert student_for("kim_a1_vgg.ipynb", [])[0] == "kim"


def test_roster_reads_nbgrader_spelling_and_refuses_duplicates(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text("id,first_name,last_name,email\njdoe,Jane,Doe,j@x\n")
    assert load_roster(path) == [Student("jdoe", "Jane", "Doe", "j@x", "")]
    path.write_text("student_id\njdoe\njdoe\n")
    with pytest.raises(ValueError, match="twice"):
        load_roster(path)
    assert load_roster(tmp_path / "missing.csv") == []


def test_extractor_keeps_times_unpacks_nested_zips_and_stays_inside(tmp_path):
    inner = tmp_path / "inner.zip"
    with zipfile.ZipFile(inner, "w") as z:
        z.writestr(zipfile.ZipInfo("a1_vgg.ipynb", (2025, 1, 2, 3, 4, 6)), "{}")
    archive = tmp_path / "archive"
    archive.mkdir()
    with zipfile.ZipFile(archive / "export.zip", "w") as z:
        z.writestr(zipfile.ZipInfo("jdoe/a1_vgg.ipynb", (2025, 1, 2, 3, 4, 6)), "{}")
        z.writestr(zipfile.ZipInfo("../../escape.ipynb", (2025, 1, 2, 3, 4, 6)), "{}")
        z.write(inner, "ann/inner.zip")
    out = tmp_path / "extracted"
    TimestampExtractor().extract(str(archive), str(out))
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == ["ann/inner/a1_vgg.ipynb", "jdoe/a1_vgg.ipynb"]
    assert not (tmp_path / "escape.ipynb").exists()
    when = dt.datetime.fromtimestamp(os.path.getmtime(out / "jdoe" / "a1_vgg.ipynb"))
    assert when == dt.datetime(2025, 1, 2, 3, 4, 6)


@pytest.fixture(scope="module")
def releases(tmp_path_factory):
    root = tmp_path_factory.mktemp("releases")
    for aid, nb in {rt.BLOBS: rt.blobs_source(), rt.SQUARE: rt.square_source()}.items():
        (root / "assignments" / aid).mkdir(parents=True)
        nbformat.write(nb, root / "assignments" / aid / f"{aid}.ipynb")
    return root, submissions.released_ids(root)


@pytest.mark.parametrize("content, status", [
    (b"", "empty"),
    (b"   \n", "empty"),
    (b'{"cells": [', "invalid_json"),
    (b"\xff\xfe not utf-8", "invalid_json"),
    (b'{"answer": 42}', "not_notebook"),
    (b"[1, 2]", "not_notebook"),
])
def test_triage_names_what_nbgrader_could_not_read(tmp_path, releases, content, status):
    (tmp_path / f"{rt.BLOBS}.ipynb").write_bytes(content)
    got, message = submissions.inspect_submission(tmp_path, rt.BLOBS, rt.BLOBS, releases[1])
    assert got == status and "Hint" in message


def test_triage_tells_a_wrong_assignment_from_a_damaged_one(tmp_path, releases):
    root, ids = releases
    square = nbformat.read(root / "assignments" / rt.SQUARE / f"{rt.SQUARE}.ipynb", as_version=4)
    nbformat.write(square, tmp_path / f"{rt.BLOBS}.ipynb")  # shares setup and written_why with a0_blobs
    status, message = submissions.inspect_submission(tmp_path, rt.BLOBS, rt.BLOBS, ids)
    assert status == "wrong_assignment" and "looks like the notebook of a0_toy" in message
    blobs = nbformat.read(root / "assignments" / rt.BLOBS / f"{rt.BLOBS}.ipynb", as_version=4)
    blobs.cells = blobs.cells[:2]  # most cells deleted: still a0_blobs, graded (the tests are put back)
    nbformat.write(blobs, tmp_path / f"{rt.BLOBS}.ipynb")
    assert submissions.inspect_submission(tmp_path, rt.BLOBS, rt.BLOBS, ids) == ("ok", "")
    nbformat.write(nbformat.v4.new_notebook(), tmp_path / f"{rt.BLOBS}.ipynb")
    assert submissions.inspect_submission(tmp_path, rt.BLOBS, rt.BLOBS, ids)[0] == "wrong_assignment"


def test_staging_renames_a_lone_notebook_and_leaves_the_submission_alone(tmp_path):
    folder, staged = tmp_path / "submitted", tmp_path / "staged"
    folder.mkdir()
    (folder / "my_work.ipynb").write_text("{}")
    notes = submissions.stage(folder, staged, "a0_blobs")
    assert "graded as 'a0_blobs.ipynb'" in notes[0]
    assert (staged / "a0_blobs.ipynb").is_file() and (folder / "my_work.ipynb").is_file()
    (folder / "a0_blobs.ipynb").write_text("{}")
    assert submissions.stage(folder, staged, "a0_blobs") == []


def test_staging_copies_regular_files_only_and_names_what_it_left_out(tmp_path):
    folder, staged, secret = tmp_path / "submitted", tmp_path / "staged", tmp_path / "gradebook.db"
    folder.mkdir()
    secret.write_text("instructor only")
    (folder / "a0_blobs.ipynb").write_text("{}")
    (folder / "grades.ipynb").symlink_to(secret)
    (folder / "nowhere.pt").symlink_to(tmp_path / "missing")
    os.mkfifo(folder / "pipe.pt")
    notes = submissions.stage(folder, staged, "a0_blobs")
    assert sorted(p.name for p in staged.iterdir()) == ["a0_blobs.ipynb"]
    assert any("grades.ipynb is a symbolic link" in n for n in notes)
    assert any("nowhere.pt is a symbolic link" in n for n in notes)
    assert any("pipe.pt is not a regular file" in n for n in notes)
    assert secret.read_text() == "instructor only"


def test_a_new_gradebook_is_the_one_nbgrader_would_make_without_starting_alembic(tmp_path, monkeypatch):
    import sqlite3
    import sys

    from nbgrader.api import Gradebook

    from course_grader import gradebook
    ours, theirs = tmp_path / "new" / "gradebook.db", tmp_path / "nbgrader.db"
    gradebook.create(f"sqlite:///{ours}")
    gradebook.create(f"sqlite:///{ours}")   # a second call leaves it alone
    monkeypatch.setenv("PATH", f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}")
    Gradebook(f"sqlite:///{theirs}").close()   # nbgrader's own: it runs `alembic heads`
    schema = lambda db: sorted(sqlite3.connect(db).execute("SELECT name, sql FROM sqlite_master").fetchall())
    version = lambda db: sqlite3.connect(db).execute("SELECT version_num FROM alembic_version").fetchall()
    assert schema(ours) == schema(theirs)
    assert version(ours) == version(theirs) and len(version(ours)) == 1
    with Gradebook(f"sqlite:///{ours}") as gb:   # nbgrader takes it as its own
        gb.add_assignment("a1_vgg")
        assert [a.name for a in gb.assignments] == ["a1_vgg"]
