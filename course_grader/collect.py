"""Collecting submissions from an LMS export into nbgrader's ``submitted/`` folder.

``course collect <aid> <zip-or-folder>`` does what ``nbgrader zip_collect`` does, in three
steps that trust nothing in the export:

1. unpack the export (zip files, nested zips, or a plain folder) into
   ``downloaded/<aid>/extracted/``, keeping each file's modification time, never following a
   link or reading a special file, within size caps (:mod:`course_grader.plugins.zip_collect`);
2. say whose each file is and what it is: every ``.ipynb`` is that student's notebook of the
   assignment (whatever its name), every ``.pt`` their trained weights, ``<aid>_model.pt``.
   Of several files of one kind the newest wins, by that file's own time (a later weights
   file does not make an older notebook win). Other files are skipped;
3. per student, stage the files next to ``submitted/<student>/<aid>/`` and only then swap
   them in by renaming, so a failure half-way (a full disk) keeps the earlier submission.

Which student a file belongs to, from its path inside the export (first rule that applies):

1. ``--pattern REGEX``: a regular expression with a ``(?P<student_id>...)`` group, searched in
   the path; the value may be a roster ``student_id``, ``lms_id`` or ``email``.
2. A roster (``roster.csv`` in the course root, or ``--roster``): the student whose
   ``student_id``, ``lms_id`` or ``email`` appears in the path as a whole token (not preceded
   or followed by a letter or digit). This covers a folder per student
   (``jdoe/a1_vgg.ipynb``), Canvas (``doejane_1234_5678_a1_vgg.ipynb`` with ``lms_id`` 1234)
   and Moodle (``Jane Doe_1234_assignsubmission_file_/a1_vgg.ipynb``). When several students
   match, the one found earliest in the path wins (``ann/anna.ipynb`` is ann's); a file that
   matches nobody, or several students at the same place, is skipped and listed.
3. No roster: the first folder of the path, or for a file at the top level the part of its
   name before the first ``_`` (``jdoe_a1_vgg.ipynb`` → ``jdoe``). An id that is not a safe
   folder name (``..``, a leading dot, a ``/``) is skipped (:func:`course_grader.roster.id_problem`).

The roster is a CSV file with a header: ``student_id`` (or ``id``, nbgrader's spelling) is
required; ``first_name``, ``last_name``, ``email`` and ``lms_id`` are optional. Links or special
files found in ``submitted/*/<aid>/`` are removed (the link itself) and listed.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

from .course import Course, CourseError
from .plugins.zip_collect import (DISK_FULL, LIMITS, NEW_FILE, Limits, Skip, Unpacked, megabytes,
                                  not_collected, open_regular, remove, set_mtime, unpack_export)
from .roster import Student, check_student_id, compile_pattern, load_roster, student_for

STAGING = ".{}.collecting"     # submitted/<student>/.<aid>.collecting: the new files, before the swap
REPLACED = ".{}.replaced"      # submitted/<student>/.<aid>.replaced: the old files, during the swap


def weights_name(assignment: str) -> str:
    """The weights file an assignment's training cell saves (see the assignment conventions)."""
    return f"{assignment}_model.pt"


def shown(text: str) -> str:
    """``text`` for a one-line message: file names from an export may hold line breaks or escapes."""
    return text if text.isprintable() else ascii(text)


@dataclass
class CollectSummary:
    """What ``course collect`` found: files kept per student, files passed over, students without files."""

    files: dict[str, list[str]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    superseded: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    absent: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"{sid}: {len(fs)} file(s): {', '.join(map(shown, fs))}" for sid, fs in sorted(self.files.items())]
        out += [f"OLDER {shown(p)}: {shown(newer)} is newer" for p, newer in sorted(self.superseded.items())]
        out += [f"SKIPPED {shown(p)}: {why}" for p, why in sorted(self.skipped.items())]
        out += [f"FAILED {sid}: {why}" for sid, why in sorted(self.failed.items())]
        if self.absent:
            out.append(f"no submission from {len(self.absent)} roster student(s): {', '.join(self.absent)}")
        return out


@dataclass
class Submission:
    """The files one student's folder will hold: destination name → path in the unpacked export."""

    files: dict[str, str] = field(default_factory=dict)
    times: dict[str, float] = field(default_factory=dict)

    def offer(self, dest: str, rel: str, mtime: float) -> str | None:
        """Keep ``rel`` as ``dest`` if it is the newest so far; return the file passed over, if any."""
        old = self.files.get(dest)
        if old is not None and mtime < self.times[dest]:
            return rel
        self.files[dest], self.times[dest] = rel, mtime
        return old

    def timestamp(self) -> str:
        """nbgrader's ``timestamp.txt``: the newest file's time, UTC, as its ``zip_collect`` writes it."""
        when = dt.datetime.fromtimestamp(max(self.times.values()), dt.timezone.utc)
        return when.replace(tzinfo=None).isoformat(" ")


def destination_name(rel: str, assignment: str) -> str:
    return f"{assignment}.ipynb" if rel.lower().endswith(".ipynb") else weights_name(assignment)


def choose(unpacked: Unpacked, assignment: str, roster: list[Student], pattern: str,
           summary: CollectSummary) -> dict[str, Submission]:
    """Each student's newest notebook and newest weights file among the unpacked files."""
    chosen: dict[str, Submission] = {}
    # Sorted paths: of two files with the same time, the later path wins (as in nbgrader).
    for rel, info in sorted(unpacked.files.items()):
        sid, why = student_for(rel, roster, pattern)
        if sid is None:
            summary.skipped[rel] = why
            continue
        sub = chosen.setdefault(sid, Submission())
        passed_over = sub.offer(destination_name(rel, assignment), rel, info.mtime)
        if passed_over is not None:
            summary.superseded[passed_over] = sub.files[destination_name(passed_over, assignment)]
    return chosen


def over_student_cap(sub: Submission, unpacked: Unpacked, limits: Limits) -> str:
    total = sum(unpacked.files[rel].size for rel in sub.files.values())
    if total <= limits.student_bytes:
        return ""
    return f"the student's files total {megabytes(total)}, over the {megabytes(limits.student_bytes)} limit per student"


# --- writing submitted/ ---------------------------------------------------------------------

def copy_file(src: Path, dest: Path) -> None:
    """Copy the regular file ``src`` to the new file ``dest``, keeping its time; links are refused."""
    with os.fdopen(open_regular(src), "rb") as fin:
        st = os.fstat(fin.fileno())
        with os.fdopen(os.open(dest, NEW_FILE, 0o644), "wb") as fout:
            shutil.copyfileobj(fin, fout)
            set_mtime(fout, st.st_mtime)


def student_folder(submitted: Path, sid: str) -> Path:
    """``submitted/<sid>`` as a real folder: a link or file in its place is removed, never followed."""
    folder = submitted / check_student_id(sid)
    if not is_real_folder(folder):
        if os.path.lexists(folder):
            os.unlink(folder)
        folder.mkdir(parents=True)
    return folder


def recover_interrupted_swap(folder: Path, assignment: str) -> None:
    """A swap killed between its two renames left the old files aside: put them back."""
    current, replaced = folder / assignment, folder / REPLACED.format(assignment)
    if is_real_folder(replaced) and not os.path.lexists(current):
        os.rename(replaced, current)
    remove(replaced)
    remove(folder / STAGING.format(assignment))


def stage(folder: Path, assignment: str, extracted: Path, sub: Submission) -> Path:
    """The student's new files in a staging folder beside the current one."""
    staging = folder / STAGING.format(assignment)
    os.mkdir(staging, 0o755)
    try:
        for dest, rel in sorted(sub.files.items()):
            copy_file(extracted / rel, staging / dest)
        (staging / "timestamp.txt").write_text(sub.timestamp())
    except BaseException:
        remove(staging)
        raise
    return staging


def swap_in(folder: Path, assignment: str, staging: Path) -> None:
    """Replace ``folder/<assignment>`` by ``staging`` with renames (the old one is deleted last)."""
    current, replaced = folder / assignment, folder / REPLACED.format(assignment)
    had_current = os.path.lexists(current)
    if had_current:
        os.rename(current, replaced)
    try:
        os.rename(staging, current)
    except BaseException:
        if had_current:
            os.rename(replaced, current)
        raise
    remove(replaced)


def replace_submission(submitted: Path, sid: str, assignment: str, extracted: Path, sub: Submission) -> None:
    """All or nothing: ``submitted/<sid>/<assignment>/`` becomes ``sub``, or stays as it was."""
    folder = student_folder(submitted, sid)
    recover_interrupted_swap(folder, assignment)
    swap_in(folder, assignment, stage(folder, assignment, extracted, sub))


def is_real_folder(path: Path) -> bool:
    """True for a folder, False for a link to one (or anything else, or nothing)."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


def remove_links(submitted: Path, assignment: str) -> dict[str, str]:
    """Remove links and special files from ``submitted/`` and every ``submitted/<student>/<assignment>/``.

    Only the links themselves are removed; nothing is followed (grading would read through them).
    """
    found = {}
    if not submitted.is_dir():
        return found
    for student in sorted(submitted.iterdir()):
        below = entries_below(student / assignment) if is_real_folder(student) else []
        for path in [student, *below]:
            mode = os.lstat(path).st_mode
            if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
                os.unlink(path)
                found[path.relative_to(submitted.parent).as_posix()] = not_collected(mode) + " (removed)"
    return found


def entries_below(folder: Path) -> list[Path]:
    """Everything inside ``folder``, links listed but not entered; ``[]`` if it is not a real folder."""
    if not is_real_folder(folder):
        return []
    out = []
    for root, dirs, files in os.walk(folder):   # os.walk does not enter linked folders
        out += [Path(root) / name for name in dirs + files]
    return out


# --- the command ----------------------------------------------------------------------------

def check_inputs(course: Course, assignment: str, source: Path, roster: str | Path | None,
                 pattern: str) -> list[Student]:
    """Every input error, before anything is written; returns the roster."""
    check_student_id(assignment, "assignment name")   # it names folders too
    if pattern:
        compile_pattern(pattern)
    if not source.exists():
        raise CourseError(f"no such export: {source}")
    if roster and not Path(roster).is_file():
        raise CourseError(f"no such roster: {roster}")
    return load_roster(Path(roster) if roster else course.root / "roster.csv")


def unpack(source: Path, extracted: Path, limits: Limits) -> Unpacked:
    src, dest = source.resolve(), extracted.resolve()
    if src == dest or src in dest.parents or dest in src.parents:
        raise CourseError(f"the export {source} and the unpacked copy {extracted} overlap: "
                          "name the LMS export, outside the course's downloaded/ folder")
    remove(extracted)
    try:
        return unpack_export(source, extracted, limits)
    except OSError as exc:
        why = "the disk is full" if exc.errno in DISK_FULL else exc.strerror
        raise CourseError(f"unpacking {source} into {extracted} failed ({why}); nothing was collected") from None


def collect(course: Course, assignment: str, source: str | Path, roster: str | Path | None = None,
            pattern: str = "", quiet: bool = False, limits: Limits = LIMITS) -> CollectSummary:
    """Copy an LMS export (a zip file or a folder) into ``submitted/<student>/<assignment>/``.

    A student present in the export replaces their earlier submission (a re-submission),
    everyone else's stays as it was. A student whose files cannot be written keeps their
    earlier submission and is listed in ``failed``.
    """
    source, root = Path(source), course.root
    students = check_inputs(course, assignment, source, roster, pattern)
    extracted = root / "downloaded" / assignment / "extracted"
    unpacked = unpack(source, extracted, limits)
    summary = CollectSummary(skipped=dict(unpacked.skipped))
    for sid, sub in sorted(choose(unpacked, assignment, students, pattern, summary).items()):
        if why := over_student_cap(sub, unpacked, limits):
            summary.skipped.update({rel: why for rel in sub.files.values()})
            continue
        try:
            replace_submission(root / "submitted", sid, assignment, extracted, sub)
        except (OSError, Skip) as exc:
            summary.failed[sid] = f"{getattr(exc, 'strerror', None) or exc}; the earlier submission (if any) is kept"
            continue
        summary.files[sid] = sorted(sub.files.values())
    summary.skipped.update(remove_links(root / "submitted", assignment))
    summary.absent = [s.student_id for s in students if s.student_id not in summary.files | summary.failed]
    if not quiet:
        print(f"collected {assignment} from {source}:")
        for line in summary.lines():
            print("  " + line)
    return summary
