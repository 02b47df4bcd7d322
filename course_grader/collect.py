"""Collecting submissions from an LMS export into nbgrader's ``submitted/`` folder.

``course collect <aid> <zip-or-folder>`` runs ``nbgrader zip_collect`` with two plugins from
this module (configured, not forked):

* :class:`TimestampExtractor` unpacks the export (zip files, nested zips, or a plain folder)
  and keeps each file's modification time, which decides between several submissions of one
  student (the newest wins);
* :class:`RosterCollector` says which student a file belongs to and what it is: every
  ``.ipynb`` is that student's notebook of the assignment (whatever its name), every ``.pt``
  their trained weights, ``<aid>_model.pt``. Other files are skipped.

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
   name before the first ``_`` (``jdoe_a1_vgg.ipynb`` → ``jdoe``).

The roster is a CSV file with a header: ``student_id`` (or ``id``, nbgrader's spelling) is
required; ``first_name``, ``last_name``, ``email`` and ``lms_id`` are optional.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .course import Course
from .roster import Student, load_roster, student_for


@dataclass
class CollectSummary:
    """What ``course collect`` found: files per student, skipped files, roster students without files."""

    files: dict[str, list[str]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    absent: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"{sid}: {len(fs)} file(s): {', '.join(fs)}" for sid, fs in sorted(self.files.items())]
        out += [f"SKIPPED {path}: {why}" for path, why in sorted(self.skipped.items())]
        if self.absent:
            out.append(f"no submission from {len(self.absent)} roster student(s): {', '.join(self.absent)}")
        return out


def summarize(extracted: Path, roster: list[Student], pattern: str = "",
              valid_ext=(".ipynb", ".pt")) -> CollectSummary:
    """Apply the same rules as :class:`RosterCollector` to every file under ``extracted``."""
    summary = CollectSummary()
    for path in sorted(p for p in Path(extracted).rglob("*") if p.is_file()):
        rel = path.relative_to(extracted).as_posix()
        if path.suffix.lower() not in valid_ext:
            summary.skipped[rel] = "not a notebook or weights file"
            continue
        sid, why = student_for(rel, roster, pattern)
        if sid is None:
            summary.skipped[rel] = why
        else:
            summary.files.setdefault(sid, []).append(rel)
    summary.absent = [s.student_id for s in roster if s.student_id not in summary.files]
    return summary


def collect(course: Course, assignment: str, source: str | Path, roster: str | Path | None = None,
            pattern: str = "", quiet: bool = False) -> CollectSummary:
    """Copy an LMS export (a zip file or a folder) into ``submitted/<student>/<assignment>/``.

    The export is placed in ``downloaded/<assignment>/archive/`` and handed to ``nbgrader
    zip_collect --force``; a student present in the export replaces their earlier submission
    (a re-submission), everyone else's stays as it was.
    """
    source, root = Path(source), course.root
    if not source.exists():
        raise FileNotFoundError(f"no such export: {source}")
    archive = root / "downloaded" / assignment / "archive"
    if archive.exists():
        shutil.rmtree(archive)
    if source.is_dir():
        shutil.copytree(source, archive)
    else:
        archive.mkdir(parents=True)
        shutil.copy2(source, archive / source.name)
    roster_path = Path(roster) if roster else root / "roster.csv"
    args = ["zip_collect", assignment, "--force",
            "--extractor=course_grader.plugins.zip_collect.TimestampExtractor",
            "--collector=course_grader.plugins.zip_collect.RosterCollector",
            f"--RosterCollector.roster={roster_path if roster_path.is_file() else ''}"]
    if pattern:
        args.append(f"--RosterCollector.pattern={pattern}")
    course.nbgrader(*args, quiet=True)
    summary = summarize(root / "downloaded" / assignment / "extracted", load_roster(roster_path), pattern)
    if not quiet:
        print(f"collected {assignment} from {source}:")
        for line in summary.lines():
            print("  " + line)
    return summary
