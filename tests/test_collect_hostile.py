"""Hostile exports, rosters and data for ``course collect`` and the data loader (issue 14).

Each hostile case checks that nothing outside the course's output trees (``downloaded/``,
``submitted/``) changed, content and mode, and that an error is one line naming its cause.
"""
from __future__ import annotations

import datetime as dt
import errno
import hashlib
import os
import shutil
import stat
import zipfile
from pathlib import Path

import pytest
import torch
from PIL import Image

from course_grader import cli
from course_grader import collect as collect_mod
from course_grader.collect import collect
from course_grader.course import Course
from course_grader.plugins import zip_collect
from course_grader.plugins.zip_collect import Limits
from course_grader.roster import student_for
from course_utils import data

AID = "a1_vgg"
STAMP = dt.datetime(2025, 3, 1, 12, 0, 0)
SECRET = b"instructor-only: the reference solution"
OUTPUTS = ("downloaded", "submitted")
NO_DISK_RESERVE = Limits(free_bytes=0)


def notebook(version: str) -> bytes:
    return b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5, "version": "%s"}' % version.encode()


# --- a course with things worth stealing next to it -----------------------------------------

@pytest.fixture
def course(tmp_path) -> Path:
    """A course root, a file outside it, and the files the issue saw changed or read."""
    root = tmp_path / "course"
    (root / "solutions" / AID).mkdir(parents=True)
    (root / "nbgrader_config.py").write_text("c = get_config()\n")
    (root / "assignments" / AID).mkdir(parents=True)
    (root / "assignments" / AID / f"{AID}.ipynb").write_bytes(notebook("release"))
    (root / "solutions" / AID / f"{AID}.ipynb").write_bytes(SECRET)
    (root / "gradebook.db").write_bytes(SECRET)
    os.chmod(root / "gradebook.db", 0o600)
    (root / AID).mkdir()
    (root / AID / "notes.txt").write_text("instructor notes")   # `..` as a student id deleted this
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_bytes(SECRET)
    os.chmod(tmp_path / "outside" / "secret.txt", 0o400)
    (tmp_path / "outside" / AID).mkdir()
    (tmp_path / "outside" / AID / "victim.ipynb").write_bytes(SECRET)
    return root


def tree_state(top: Path, outputs: tuple[Path, ...] = ()) -> dict[str, tuple[int, str]]:
    """Mode and content (sha256, or a link's target) of everything under ``top`` but ``outputs``."""
    state = {}
    for folder, dirs, files in os.walk(top):
        for name in dirs + files:
            path = Path(folder) / name
            if any(path == o or o in path.parents for o in outputs):
                continue
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                what = "-> " + os.readlink(path)
            elif stat.S_ISREG(st.st_mode):
                what = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                what = ""
            state[path.relative_to(top).as_posix()] = (st.st_mode, what)
    return state


class Untouched:
    """``with Untouched(course):`` fails if anything outside its output trees changed."""

    def __init__(self, course: Path):
        self.top, self.outputs = course.parent, tuple(course / o for o in OUTPUTS)

    def __enter__(self):
        self.before = tree_state(self.top, self.outputs)
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            assert tree_state(self.top, self.outputs) == self.before


def assert_outputs_hold_no_links_or_secrets(course: Path) -> None:
    for out in OUTPUTS:
        for folder, dirs, files in os.walk(course / out):
            for name in dirs + files:
                path = Path(folder) / name
                mode = os.lstat(path).st_mode
                assert stat.S_ISDIR(mode) or stat.S_ISREG(mode), path
                assert not stat.S_ISREG(mode) or SECRET not in path.read_bytes(), path


def run_collect(course: Path, capsys, *args: str) -> tuple[int, list[str], list[str]]:
    """``course collect AID *args`` in this process: exit status, stdout lines, stderr lines."""
    try:
        cli.main(["--root", str(course), "collect", AID, *args])
        rc = 0
    except SystemExit as exc:
        rc = exc.code
    out, err = capsys.readouterr()
    return rc, out.splitlines(), err.splitlines()


def zip_member(name: str, data: bytes, when: dt.datetime = STAMP, mode: int | None = None,
               compress: int = zipfile.ZIP_DEFLATED) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name, when.timetuple()[:6])
    info.compress_type = compress
    if mode is not None:
        info.create_system, info.external_attr = 3, mode << 16
    return info, data


def write_zip(path: Path, members: list[tuple[zipfile.ZipInfo, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for info, payload in members:
            z.writestr(info, payload)
    return path


def submitted_files(course: Path, sid: str) -> dict[str, bytes]:
    folder = course / "submitted" / sid / AID
    return {p.name: p.read_bytes() for p in folder.iterdir()} if folder.is_dir() else {}


# --- 1. links and special files are data, never followed ------------------------------------

def test_links_and_special_files_in_a_folder_export_are_listed_not_followed(course, tmp_path, capsys):
    export, outside = tmp_path / "export", tmp_path / "outside"
    for sid in ("jdoe", "ann", "bob", "zed"):
        (export / sid).mkdir(parents=True)
    (export / "jdoe" / f"{AID}.ipynb").write_bytes(notebook("jdoe"))
    (export / "ann" / f"{AID}.ipynb").symlink_to(outside / "secret.txt")
    (export / "ann" / f"{AID}_model.pt").symlink_to(course / "solutions" / AID / f"{AID}.ipynb")
    (export / "kim").symlink_to(outside / AID, target_is_directory=True)
    (export / "bob" / f"{AID}.ipynb").symlink_to(tmp_path / "nowhere")          # dangling
    os.mkfifo(export / "zed" / f"{AID}.ipynb")                                   # reading it would block
    with Untouched(course):
        rc, out, err = run_collect(course, capsys, str(export))
    assert (rc, err) == (0, [])
    files = submitted_files(course, "jdoe")
    assert set(files) == {f"{AID}.ipynb", "timestamp.txt"} and files[f"{AID}.ipynb"] == notebook("jdoe")
    for sid in ("ann", "kim", "bob", "zed"):
        assert not (course / "submitted" / sid).exists(), sid
    skipped = "\n".join(out)
    for path in (f"ann/{AID}.ipynb", f"ann/{AID}_model.pt", "kim", f"bob/{AID}.ipynb"):
        assert f"SKIPPED {path}: symbolic link: not collected" in skipped
    assert f"SKIPPED zed/{AID}.ipynb: fifo: not collected" in skipped
    assert_outputs_hold_no_links_or_secrets(course)


def test_symlink_members_of_a_zip_are_skipped(course, tmp_path, capsys):
    link = stat.S_IFLNK | 0o777
    export = write_zip(tmp_path / "export.zip", [
        zip_member(f"jdoe/{AID}.ipynb", notebook("jdoe")),
        zip_member(f"ann/{AID}.ipynb", str(tmp_path / "outside" / "secret.txt").encode(), mode=link),
        zip_member("ann/", b"", mode=stat.S_IFDIR | 0o755),
        zip_member(f"bob/{AID}.ipynb", b"", mode=stat.S_IFIFO | 0o644),
    ])
    with Untouched(course):
        rc, out, err = run_collect(course, capsys, str(export))
    assert (rc, err) == (0, [])
    assert set(os.listdir(course / "submitted")) == {"jdoe"}
    assert f"  SKIPPED ann/{AID}.ipynb: symbolic link: not collected" in out
    assert f"  SKIPPED bob/{AID}.ipynb: fifo: not collected" in out
    assert_outputs_hold_no_links_or_secrets(course)


def test_links_already_in_submitted_are_removed_not_followed(course, tmp_path, capsys):
    outside = tmp_path / "outside"
    (course / "submitted" / "old" / AID).mkdir(parents=True)
    (course / "submitted" / "old" / AID / f"{AID}.ipynb").symlink_to(outside / "secret.txt")
    (course / "submitted" / "old" / AID / "gone.pt").symlink_to(tmp_path / "nowhere")
    (course / "submitted" / "evil").symlink_to(outside, target_is_directory=True)   # outside/a1_vgg exists
    (course / "submitted" / "jdoe").symlink_to(outside, target_is_directory=True)   # and jdoe submits now
    export = write_zip(tmp_path / "export.zip", [zip_member(f"jdoe/{AID}.ipynb", notebook("jdoe"))])
    with Untouched(course):
        rc, out, err = run_collect(course, capsys, str(export))
    assert (rc, err) == (0, [])
    assert submitted_files(course, "jdoe")[f"{AID}.ipynb"] == notebook("jdoe")
    assert not os.path.lexists(course / "submitted" / "evil")
    assert os.listdir(course / "submitted" / "old" / AID) == []
    assert f"  SKIPPED submitted/old/{AID}/{AID}.ipynb: symbolic link: not collected (removed)" in out
    assert "  SKIPPED submitted/evil: symbolic link: not collected (removed)" in out
    assert (outside / AID / "victim.ipynb").read_bytes() == SECRET
    assert_outputs_hold_no_links_or_secrets(course)


# --- 2. caps --------------------------------------------------------------------------------

def test_zip_bomb_is_skipped_before_a_byte_is_written(course, tmp_path, capsys):
    bomb = b"\0" * (20 * 1000 ** 2)   # compresses about 1000:1
    export = write_zip(tmp_path / "export.zip", [zip_member(f"jdoe/{AID}.ipynb", notebook("jdoe")),
                                                 zip_member(f"ann/{AID}.ipynb", bomb)])
    assert export.stat().st_size < 100_000
    with Untouched(course):
        rc, out, err = run_collect(course, capsys, str(export))
    assert (rc, err) == (0, [])
    line, = [x for x in out if f"ann/{AID}.ipynb" in x]
    assert "zip bomb" in line and "200:1 limit" in line
    assert set(os.listdir(course / "submitted")) == {"jdoe"}
    assert not (course / "downloaded" / AID / "extracted" / "ann").exists()


@pytest.mark.parametrize("limits, victim, cause", [
    (Limits(file_bytes=5000, free_bytes=0), f"ann/{AID}_model.pt", "limit per file"),
    (Limits(student_bytes=5000, free_bytes=0), f"ann/{AID}_model.pt", "limit per student"),
    (Limits(export_bytes=5000, free_bytes=0), f"ann/{AID}_model.pt", "more than 5,000 bytes"),
    (Limits(free_bytes=10 ** 6 - 5000), f"ann/{AID}_model.pt", "free on the disk"),   # 1 MB free, below
    (Limits(files=3, free_bytes=0), "kim/kim.zip", "more than 3 files"),
    (Limits(nesting=1, free_bytes=0), "kim/kim.zip", "zip nested more than 1 deep"),
])
def test_each_cap_skips_what_breaks_it_and_says_which(course, tmp_path, monkeypatch, limits, victim, cause):
    monkeypatch.setattr(zip_collect.shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10 ** 9, 0, 10 ** 6))
    inner = write_zip(tmp_path / "kim.zip", [zip_member(f"{AID}.ipynb", notebook("kim"))])
    export = write_zip(tmp_path / "export.zip", [
        zip_member(f"ann/{AID}.ipynb", notebook("ann")),
        zip_member(f"ann/{AID}_model.pt", os.urandom(6000), compress=zipfile.ZIP_STORED),
        zip_member(f"jdoe/{AID}.ipynb", notebook("jdoe")),
        zip_member("kim/kim.zip", inner.read_bytes()),
    ])
    with Untouched(course):
        summary = collect(Course(course), AID, export, quiet=True, limits=limits)
    assert cause in summary.skipped[victim]
    kept = [rel for files in summary.files.values() for rel in files]
    assert victim not in kept and f"jdoe/{AID}.ipynb" in kept


# --- 3. all or nothing per student, the newest notebook, corrupt members --------------------

def test_a_failed_copy_keeps_the_earlier_submission(course, tmp_path, capsys, monkeypatch):
    first = write_zip(tmp_path / "first.zip", [
        zip_member(f"jdoe/{AID}.ipynb", notebook("jdoe v1")), zip_member(f"jdoe/{AID}_model.pt", b"w1"),
        zip_member(f"ann/{AID}.ipynb", notebook("ann v1"))])
    collect(Course(course), AID, first, quiet=True)
    before = submitted_files(course, "jdoe")
    second = write_zip(tmp_path / "second.zip", [
        zip_member(f"jdoe/{AID}.ipynb", notebook("jdoe v2"), STAMP + dt.timedelta(days=1)),
        zip_member(f"jdoe/{AID}_model.pt", b"w2", STAMP + dt.timedelta(days=1)),
        zip_member(f"ann/{AID}.ipynb", notebook("ann v2"), STAMP + dt.timedelta(days=1))])
    real_copy, copied = collect_mod.copy_file, []

    def disk_fills_up(src, dest):
        copied.append(dest)
        if "jdoe" in dest.parts and len([d for d in copied if "jdoe" in d.parts]) == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))   # the second of jdoe's files
        real_copy(src, dest)
    monkeypatch.setattr(collect_mod, "copy_file", disk_fills_up)
    with Untouched(course):
        rc, out, err = run_collect(course, capsys, str(second))
    assert rc == 1 and err == []
    assert submitted_files(course, "jdoe") == before
    assert submitted_files(course, "ann")[f"{AID}.ipynb"] == notebook("ann v2")
    assert os.listdir(course / "submitted" / "jdoe") == [AID]   # no staging left behind
    line, = [x for x in out if x.startswith("  FAILED")]
    assert line == "  FAILED jdoe: No space left on device; the earlier submission (if any) is kept"


def test_a_full_disk_while_unpacking_changes_no_submission(course, tmp_path, capsys, monkeypatch):
    collect(Course(course), AID, write_zip(tmp_path / "first.zip", [zip_member(f"jdoe/{AID}.ipynb", notebook("v1"))]),
            quiet=True)
    second = write_zip(tmp_path / "second.zip", [zip_member(f"jdoe/{AID}.ipynb", notebook("v2")),
                                                 zip_member(f"ann/{AID}.ipynb", notebook("ann"))])

    def disk_full(self, src, out):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(zip_collect.Unpacker, "_copy_capped", disk_full)
    with Untouched(course):
        rc, out, err = run_collect(course, capsys, str(second))
    assert rc == 2 and len(err) == 1 and "(the disk is full); nothing was collected" in err[0]
    assert submitted_files(course, "jdoe")[f"{AID}.ipynb"] == notebook("v1")
    assert os.listdir(course / "submitted") == ["jdoe"]


def test_the_newest_notebook_wins_even_when_newer_weights_came_after_it(course, tmp_path):
    hour = dt.timedelta(hours=1)
    export = write_zip(tmp_path / "export.zip", [   # in path order; uploaded v0, old weights, v1, v2, new weights
        zip_member("jdoe/0_draft.ipynb", notebook("v0"), STAMP - 2 * hour),
        zip_member("jdoe/0_old_weights.pt", b"old weights", STAMP - hour),
        zip_member(f"jdoe/{AID}.ipynb", notebook("v1"), STAMP),
        zip_member(f"jdoe/{AID}_model.pt", b"new weights", STAMP + 2 * hour),
        zip_member("jdoe/submission_v2.ipynb", notebook("v2"), STAMP + hour),
    ])
    summary = collect(Course(course), AID, export, quiet=True)
    files = submitted_files(course, "jdoe")
    assert files[f"{AID}.ipynb"] == notebook("v2") and files[f"{AID}_model.pt"] == b"new weights"
    newest = (STAMP + 2 * hour).astimezone(dt.timezone.utc).replace(tzinfo=None)
    assert files["timestamp.txt"].decode() == newest.isoformat(" ")
    assert set(summary.superseded) == {"jdoe/0_draft.ipynb", "jdoe/0_old_weights.pt", f"jdoe/{AID}.ipynb"}


@pytest.mark.parametrize("compress", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_one_corrupt_member_is_skipped_and_the_rest_collected(course, tmp_path, capsys, compress):
    payload = os.urandom(20_000)   # incompressible: the damage below lands inside it either way
    export = write_zip(tmp_path / "export.zip", [
        zip_member(f"ann/{AID}.ipynb", notebook("ann")),
        zip_member(f"bob/{AID}.ipynb", payload, compress=compress),
        zip_member(f"jdoe/{AID}.ipynb", notebook("jdoe"))])
    raw = bytearray(export.read_bytes())
    start = raw.index(b"bob/") + 200   # inside bob's data: a bad CRC (stored) or a broken stream (deflated)
    raw[start:start + 64] = os.urandom(64)
    export.write_bytes(bytes(raw))
    with Untouched(course):
        rc, out, err = run_collect(course, capsys, str(export))
    assert (rc, err) == (0, [])
    assert set(os.listdir(course / "submitted")) == {"ann", "jdoe"}
    line, = [x for x in out if f"bob/{AID}.ipynb" in x]
    assert "corrupt or unsupported zip member" in line


@pytest.mark.parametrize("content", [b"", b"this is not a zip\n", "truncated"])
def test_a_truncated_or_non_zip_export_exits_2_with_one_line(course, tmp_path, capsys, content):
    collect(Course(course), AID, write_zip(tmp_path / "first.zip", [zip_member(f"jdoe/{AID}.ipynb", notebook("v1"))]),
            quiet=True)
    export = tmp_path / "export.zip"
    if content == "truncated":
        whole = write_zip(export, [zip_member(f"jdoe/{AID}.ipynb", os.urandom(5000))]).read_bytes()
        content = whole[: len(whole) // 2]
    export.write_bytes(content)
    with Untouched(course):
        rc, out, err = run_collect(course, capsys, str(export))
    assert rc == 2 and len(err) == 1
    assert str(export) in err[0] and "not a readable zip file" in err[0]
    assert submitted_files(course, "jdoe")[f"{AID}.ipynb"] == notebook("v1")


def test_a_fifo_or_missing_export_exits_2_with_one_line(course, tmp_path, capsys):
    os.mkfifo(tmp_path / "pipe.zip")
    for export, cause in ((tmp_path / "pipe.zip", "is a fifo, not a zip file or a folder"),
                          (tmp_path / "missing.zip", "no such export")):
        with Untouched(course):
            rc, out, err = run_collect(course, capsys, str(export))
        assert rc == 2 and len(err) == 1 and cause in err[0]


# --- 4. student ids -------------------------------------------------------------------------

@pytest.mark.parametrize("path", [
    f".._{AID}.ipynb", f"../{AID}.ipynb", f"./.._{AID}.ipynb", f".hidden_{AID}.ipynb", f"-rf_{AID}.ipynb",
    f"a b_{AID}.ipynb", f"a\0b_{AID}.ipynb", f"jo..e/{AID}.ipynb", f"ü/{AID}.ipynb", f"{'x' * 129}/{AID}.ipynb",
])
def test_unsafe_ids_from_file_names_are_rejected(path):
    sid, why = student_for(path, [])
    assert sid is None and "not a valid student id" in why


def test_a_dot_dot_id_writes_and_deletes_nothing_outside_submitted(course, tmp_path, capsys):
    export = write_zip(tmp_path / "export.zip", [
        zip_member(f".._{AID}.ipynb", notebook("evil")), zip_member(f"..\\{AID}.ipynb", notebook("evil")),
        zip_member(f".hidden_{AID}.ipynb", notebook("evil")), zip_member(f"jdoe_{AID}.ipynb", notebook("jdoe"))])
    with Untouched(course):
        rc, out, err = run_collect(course, capsys, str(export))
        rc2, out2, err2 = run_collect(course, capsys, str(export), "--pattern", r"^(?P<student_id>[^_]*)_")
    assert (rc, err, rc2, err2) == (0, [], 0, [])
    assert (course / AID / "notes.txt").read_text() == "instructor notes"
    assert os.listdir(course / "submitted") == ["jdoe"]
    assert f"  SKIPPED .._{AID}.ipynb: '..' is not a valid student id" in "\n".join(out)
    assert f"  SKIPPED ..\\{AID}.ipynb: its path leaves the export: not collected" in out


# --- 5. rosters and --pattern: one line, exit 2 ---------------------------------------------

@pytest.mark.parametrize("roster, pattern, message", [
    ("name,email\nJane,j@x\n", "", "roster.csv: no student_id (or id) column; the header has 'name', 'email'"),
    ('student_id,first_name\njdoe,"Jane\nann,Ann\nbob,Bob\n', "", "roster.csv line 2: unexpected end of data"),
    ('student_id,first_name\njdoe,"Jane\nann,Ann"\nbob,Bob\n', "", "roster.csv line 2: a quoted field runs over 2 lines"),
    ("student_id\njdoe\nann\n\njdoe\n", "", "roster.csv: student_id 'jdoe' appears twice, on lines 2 and 5"),
    ("student_id,first_name\njdoe,Jane,Doe\n", "", "roster.csv line 2: 3 fields, the header has 2"),
    ("student_id\n../x\n", "", "roster.csv line 2: '../x' is not a valid student id"),
    ("student_id,last_name\njdoe,M\xfcller\n".encode("latin-1"), "", "roster.csv line 2: not UTF-8 text (byte 0xfc)"),
    ("", "", "roster.csv is empty"),
    ("student_id\njdoe\n", "(", "--pattern: invalid regular expression '(': missing ), unterminated subpattern"),
    ("student_id\njdoe\n", r"sub-(\d+)", r"--pattern 'sub-(\\d+)' has no (?P<student_id>...) group"),
])
def test_a_bad_roster_or_pattern_is_one_line_and_exit_2(course, tmp_path, capsys, roster, pattern, message):
    (course / "roster.csv").write_bytes(roster if isinstance(roster, bytes) else roster.encode())
    export = write_zip(tmp_path / "export.zip", [zip_member(f"jdoe/{AID}.ipynb", notebook("jdoe"))])
    with Untouched(course):
        rc, out, err = run_collect(course, capsys, str(export), *(["--pattern", pattern] if pattern else []))
    assert rc == 2 and out == [] and len(err) == 1, err
    assert err[0].startswith("course collect: ") and message in err[0]
    assert not (course / "submitted").exists() and not (course / "downloaded").exists()


@pytest.mark.parametrize("delimiter", [",", "\t"])
def test_a_utf16_roster_is_read(course, tmp_path, delimiter):
    rows = [["student_id", "first_name", "lms_id"], ["jdoe", "Zoë", "48213"], ["ann", "Ann", "7"]]
    text = "\r\n".join(delimiter.join(r) for r in rows) + "\r\n"
    (course / "roster.csv").write_bytes(text.encode("utf-16"))    # with its byte-order mark, as Excel writes it
    export = write_zip(tmp_path / "export.zip", [zip_member(f"doejane_48213_1_{AID}.ipynb", notebook("jdoe"))])
    summary = collect(Course(course), AID, export, quiet=True)
    assert summary.files == {"jdoe": [f"doejane_48213_1_{AID}.ipynb"]} and summary.absent == ["ann"]


# --- 6. the data the graders read -----------------------------------------------------------

def write_tiny_imagefolder(root: Path, odd: tuple[int, int] | None = None) -> Path:
    """One 32×32 PNG per class and split; with ``odd``, test/cat/0000.png has that size instead."""
    for split in ("train", "test"):
        for name in data.CLASSES:
            (root / split / name).mkdir(parents=True)
            size = odd if (odd and split == "test" and name == "cat") else (32, 32)
            Image.new("RGB", size, (10, 20, 30)).save(root / split / name / "0000.png")
    return root


def test_a_mis_sized_image_is_named_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path / "cache"))
    root = write_tiny_imagefolder(tmp_path / "cifar", odd=(64, 64))
    with pytest.raises(data.DataNotFoundError) as excinfo:
        data.load_tensors(False, root=root)
    message = str(excinfo.value)
    assert "\n" not in message and "stack expects" not in message
    assert str(root / "test" / "cat" / "0000.png") in message and "3×64×64" in message


def test_a_torn_cache_in_a_read_only_cache_dir_is_decoded_again(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv(data.CACHE_ENV, str(cache))
    root = write_tiny_imagefolder(tmp_path / "cifar")
    images, labels = data.load_tensors(False, root=root)
    (cached,) = cache.glob("cifar10_test_*.pt")
    torn = cached.read_bytes()[:100]
    cached.write_bytes(torn)
    os.chmod(cache, 0o555)
    if os.geteuid() == 0:   # root writes anyway: refuse as a read-only folder would
        refuse_writes_in(cache, monkeypatch)
    try:
        with pytest.warns(UserWarning, match="cannot be removed"):
            again = data.load_tensors(False, root=root)
    finally:
        os.chmod(cache, 0o755)
    assert torch.equal(again[0], images) and torch.equal(again[1], labels)
    assert cached.read_bytes() == torn


def refuse_writes_in(folder: Path, monkeypatch) -> None:
    """Removing or creating a file in ``folder`` raises PermissionError, as for a non-root user."""
    def refused(path):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
    real_unlink, real_mkstemp = Path.unlink, data.tempfile.mkstemp
    monkeypatch.setattr(Path, "unlink", lambda self, *a, **k: refused(self) if self.parent == folder
                        else real_unlink(self, *a, **k))
    monkeypatch.setattr(data.tempfile, "mkstemp", lambda *a, dir=None, **k: refused(dir) if Path(dir) == folder
                        else real_mkstemp(*a, dir=dir, **k))
