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

import csv
import datetime as dt
import os
import re
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.plugins import ExtractorPlugin, FileNameCollectorPlugin
from traitlets import List, Unicode

ROSTER_FIELDS = ("student_id", "first_name", "last_name", "email", "lms_id")
TOKEN_CHARS = "A-Za-z0-9"
ARCHIVE_EXT = (".zip",)


def weights_name(assignment: str) -> str:
    """The weights file an assignment's training cell saves (see the assignment conventions)."""
    return f"{assignment}_model.pt"


@dataclass(frozen=True)
class Student:
    student_id: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    lms_id: str = ""

    @property
    def aliases(self) -> list[str]:
        return [a for a in (self.student_id, self.lms_id, self.email) if a]

    def gradebook_fields(self) -> dict:
        return {k: v for k, v in (("first_name", self.first_name), ("last_name", self.last_name),
                                  ("email", self.email)) if v}


def load_roster(path: str | Path | None) -> list[Student]:
    """Students of ``path`` (a CSV with a header), in file order; ``[]`` when there is no file."""
    if not path or not Path(path).is_file():
        return []
    students, seen = [], set()
    with open(path, newline="", encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
            sid = row.get("student_id") or row.get("id")
            if not sid:
                continue
            if sid in seen:
                raise ValueError(f"{path}: student_id {sid!r} appears twice")
            seen.add(sid)
            students.append(Student(sid, *(row.get(k, "") for k in ROSTER_FIELDS[1:])))
    return students


def _token_pattern(alias: str) -> re.Pattern:
    return re.compile(rf"(?<![{TOKEN_CHARS}]){re.escape(alias)}(?![{TOKEN_CHARS}])", re.I)


def match_students(relpath: str, roster: list[Student]) -> list[Student]:
    """Roster students one of whose aliases is a whole token of ``relpath``; if several, those
    matched earliest in the path (``ann/anna.ipynb`` is ann's: the folder comes first)."""
    first: dict[str, int] = {}
    for s in roster:
        hits = [m.start() for a in s.aliases for m in [_token_pattern(a).search(relpath)] if m]
        if hits:
            first[s.student_id] = min(hits)
    if not first:
        return []
    earliest = min(first.values())
    return [s for s in roster if first.get(s.student_id) == earliest]


def student_for(relpath: str, roster: list[Student], pattern: str = "") -> tuple[str | None, str]:
    """``(student_id, why)`` for a file at ``relpath`` inside the export; ``None`` if unknown."""
    relpath = relpath.replace(os.sep, "/")
    by_alias = {a.lower(): s.student_id for s in roster for a in s.aliases}
    if pattern:
        m = re.search(pattern, relpath)
        if not m or not m.groupdict().get("student_id"):
            return None, f"--pattern {pattern!r} does not match"
        key = m.group("student_id")
        if roster and key.lower() not in by_alias:
            return None, f"{key!r} (from --pattern) is not on the roster"
        return by_alias.get(key.lower(), key), "pattern"
    if roster:
        found = match_students(relpath, roster)
        if len(found) == 1:
            return found[0].student_id, "roster"
        if not found:
            return None, "no roster student_id, lms_id or email in the file name"
        return None, "several roster students match: " + ", ".join(s.student_id for s in found)
    parts = relpath.split("/")
    key = parts[0] if len(parts) > 1 else Path(parts[0]).stem.split("_")[0]
    return (key or None), "folder or file-name prefix"


class TimestampExtractor(ExtractorPlugin):
    """Unpack every zip of the export (nested ones too), keeping each member's modification time.

    The export itself is unpacked in place (its members' paths are the paths the rules above
    see); a zip inside it goes to a folder named after it (a student who zipped their folder).
    """

    def extract(self, archive_path: str, extracted_path: str) -> None:
        for root, _, files in os.walk(archive_path):
            for name in files:
                src = Path(root) / name
                dest_dir = Path(extracted_path) / Path(root).relative_to(archive_path)
                if src.suffix.lower() in ARCHIVE_EXT and zipfile.is_zipfile(src):
                    self.unzip(src, dest_dir)
                else:
                    dest_dir.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(src, dest_dir / name)

    def unzip(self, archive: Path, dest: Path) -> None:
        self.log.info("Extracting %s", archive)
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                target = (dest / info.filename).resolve()
                if info.is_dir() or not target.is_relative_to(dest.resolve()):
                    continue  # folders are made on demand; never write outside dest ("../" names)
                target.parent.mkdir(parents=True, exist_ok=True)
                with z.open(info) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out)
                stamp = dt.datetime(*info.date_time).timestamp()
                os.utime(target, (stamp, stamp))
                if target.suffix.lower() in ARCHIVE_EXT and zipfile.is_zipfile(target):
                    self.unzip(target, target.with_suffix(""))
                    target.unlink()


class RosterCollector(FileNameCollectorPlugin):
    """Student id from the roster (or a pattern, or the folder); file id from the file's kind."""

    roster = Unicode("", help="CSV roster: student_id[,first_name,last_name,email,lms_id]").tag(config=True)
    pattern = Unicode("", help="regular expression with a (?P<student_id>...) group").tag(config=True)
    valid_ext = List([".ipynb", ".pt"]).tag(config=True)

    _roster: list[Student] | None = None

    def collect(self, submitted_file: str):
        if self._roster is None:
            self._roster = load_roster(self.roster)
        ext = Path(submitted_file).suffix.lower()
        if ext not in self.valid_ext:
            self.log.warning("Skipped (not a notebook or weights file): %s", submitted_file)
            return None
        extracted = self.parent._format_collect_path(self.parent.extracted_directory)
        relpath = os.path.relpath(submitted_file, extracted)
        student, why = student_for(relpath, self._roster, self.pattern)
        if student is None:
            self.log.warning("Skipped %s: %s", relpath, why)
            return None
        aid = self.parent.coursedir.assignment_id
        file_id = aid if ext == ".ipynb" else Path(weights_name(aid)).stem
        stamp = dt.datetime.fromtimestamp(os.path.getmtime(submitted_file), dt.timezone.utc)
        return {"student_id": student, "file_id": file_id, "timestamp": stamp.replace(tzinfo=None)}


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


def collect(assignment: str, source: str | Path, root: Path, roster: str | Path | None = None,
            pattern: str = "", quiet: bool = False) -> CollectSummary:
    """Copy an LMS export (a zip file or a folder) into ``submitted/<student>/<assignment>/``.

    The export is placed in ``downloaded/<assignment>/archive/`` and handed to ``nbgrader
    zip_collect --force``; a student present in the export replaces their earlier submission
    (a re-submission), everyone else's stays as it was.
    """
    from .grading import nbgrader  # the command runner; grading imports this module lazily too
    source, root = Path(source), Path(root)
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
            "--extractor=course_utils.collect.TimestampExtractor",
            "--collector=course_utils.collect.RosterCollector",
            f"--RosterCollector.roster={roster_path if roster_path.is_file() else ''}"]
    if pattern:
        args.append(f"--RosterCollector.pattern={pattern}")
    nbgrader(*args, root=root, quiet=True)
    summary = summarize(root / "downloaded" / assignment / "extracted", load_roster(roster_path), pattern)
    if not quiet:
        print(f"collected {assignment} from {source}:")
        for line in summary.lines():
            print("  " + line)
    return summary
