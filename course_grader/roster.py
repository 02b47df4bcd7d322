"""The class roster: who the students are and the names that identify them in an LMS export.

A CSV file with a header: ``student_id`` (or ``id``, nbgrader's spelling) is required;
``first_name``, ``last_name``, ``email`` and ``lms_id`` are optional. UTF-8 (with or without a
byte-order mark) or UTF-16 with its byte-order mark (Excel's "Unicode text"); commas, or the
tabs or semicolons some spreadsheets write. Anything the reader could misread (no id column, an
unterminated quote, a row with more fields than the header, a duplicate or unsafe id) is a
:class:`RosterError` that names the line, never a silently shorter class.

A student id becomes a folder name (``submitted/<id>/``), so it must be a safe one: see
:func:`check_student_id`.
"""
from __future__ import annotations

import codecs
import csv
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .course import CourseError

ROSTER_FIELDS = ("student_id", "first_name", "last_name", "email", "lms_id")
ID_COLUMNS = ("student_id", "id")
TOKEN_CHARS = "A-Za-z0-9"
# Letters, digits and . _ @ + - (e-mail addresses fit), starting with a letter or digit: never
# a path separator, "..", a hidden name, NUL, or something a command line would read as an option.
# "_" is allowed although LMS file names use it as a separator: many universities' ids contain it.
STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}")
DELIMITERS = (",", "\t", ";")
BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


class RosterError(CourseError, ValueError):
    """A roster or ``--pattern`` that cannot be read safely; the message is one line."""


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


def id_problem(sid: str, what: str = "student id") -> str:
    """Why ``sid`` cannot name a student's (or an assignment's) folder, or ``""`` when it can."""
    if STUDENT_ID.fullmatch(sid) and ".." not in sid:
        return ""
    return (f"{sid!r} is not a valid {what} (letters, digits and . _ @ + - only, "
            "starting with a letter or digit, at most 128 characters, no '..')")


def check_student_id(sid: str, what: str = "student id") -> str:
    """``sid`` when it is safe as a folder name; else :class:`RosterError`."""
    if problem := id_problem(sid, what):
        raise RosterError(problem)
    return sid


# --- reading the roster ---------------------------------------------------------------------

def roster_text(path: Path) -> str:
    """The roster's text: UTF-8 or, after its byte-order mark, UTF-16."""
    raw = path.read_bytes()
    encoding = next((enc for bom, enc in BOMS if raw.startswith(bom)), "utf-8")
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise RosterError(f"{path} line {line}: not {encoding.upper()} text (byte {raw[exc.start]:#04x}); "
                          "save it as 'CSV UTF-8'") from None
    if "\0" in text:
        line = text[:text.index("\0")].count("\n") + 1
        raise RosterError(f"{path} line {line}: contains NUL characters (UTF-16 without a byte-order mark?); "
                          "save it as 'CSV UTF-8'")
    return text


def delimiter_of(header: str) -> str:
    """The first of comma, tab, semicolon that the header line uses (a comma for one column)."""
    return next((d for d in DELIMITERS if d in header), ",")


def numbered_rows(path: Path, text: str):
    """``(line number, fields)`` for each non-blank record; an unterminated quote is an error."""
    lines = text.splitlines(keepends=True)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter_of(lines[0] if lines else ""),
                        strict=True)
    start = 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise RosterError(f"{path} line {start}: {exc} (an unterminated quote?)") from None
        # A quoted field that swallowed a line break means a quote was left open and closed by
        # a later one: rows between them would vanish into one field.
        if any("\n" in f or "\r" in f for f in fields):
            raise RosterError(f"{path} line {start}: a quoted field runs over {reader.line_num - start + 1} "
                              "lines (an unterminated quote?)")
        if any(f.strip() for f in fields):
            yield start, fields
        start = reader.line_num + 1


def header_columns(path: Path, fields: list[str]) -> list[str]:
    columns = [f.strip().lower() for f in fields]
    if not any(c in columns for c in ID_COLUMNS):
        raise RosterError(f"{path}: no student_id (or id) column; the header has "
                          f"{', '.join(repr(c) for c in columns)}")
    return columns


def student_from_row(path: Path, line: int, columns: list[str], fields: list[str]) -> Student:
    if len(fields) > len(columns):
        raise RosterError(f"{path} line {line}: {len(fields)} fields, the header has {len(columns)} "
                          "(an unquoted comma in a name?)")
    row = dict(zip(columns, (f.strip() for f in fields)))
    sid = row.get("student_id") or row.get("id") or ""
    if not sid:
        raise RosterError(f"{path} line {line}: no student_id")
    if problem := id_problem(sid):
        raise RosterError(f"{path} line {line}: {problem}")
    return Student(sid, *(row.get(k, "") for k in ROSTER_FIELDS[1:]))


def load_roster(path: str | Path | None) -> list[Student]:
    """Students of ``path`` (a CSV with a header), in file order; ``[]`` when there is no file."""
    if not path or not Path(path).is_file():
        return []
    path = Path(path)
    rows = numbered_rows(path, roster_text(path))
    first = next(rows, None)
    if first is None:
        raise RosterError(f"{path} is empty: expected a header line with a student_id column")
    columns = header_columns(path, first[1])
    students, line_of = [], {}
    for line, fields in rows:
        student = student_from_row(path, line, columns, fields)
        if student.student_id in line_of:
            raise RosterError(f"{path}: student_id {student.student_id!r} appears twice, on lines "
                              f"{line_of[student.student_id]} and {line}")
        line_of[student.student_id] = line
        students.append(student)
    return students


# --- whose file is it -----------------------------------------------------------------------

def compile_pattern(pattern: str) -> re.Pattern:
    """``--pattern`` compiled; it must be valid and have a ``(?P<student_id>...)`` group."""
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise RosterError(f"--pattern: invalid regular expression {pattern!r}: {exc}") from None
    if "student_id" not in regex.groupindex:
        raise RosterError(f"--pattern {pattern!r} has no (?P<student_id>...) group")
    return regex


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
    """``(student_id, why)`` for a file at ``relpath`` inside the export; ``None`` if unknown.

    An id that does not come from the roster must pass :func:`id_problem`: it names a folder.
    """
    relpath = relpath.replace(os.sep, "/")
    by_alias = {a.lower(): s.student_id for s in roster for a in s.aliases}
    if pattern:
        m = compile_pattern(pattern).search(relpath)
        if not m or not m.group("student_id"):
            return None, f"--pattern {pattern!r} does not match"
        key = m.group("student_id")
        if roster and key.lower() not in by_alias:
            return None, f"{key!r} (from --pattern) is not on the roster"
        sid, how = by_alias.get(key.lower(), key), "pattern"
    elif roster:
        found = match_students(relpath, roster)
        if len(found) == 1:
            return found[0].student_id, "roster"
        if not found:
            return None, "no roster student_id, lms_id or email in the file name"
        return None, "several roster students match: " + ", ".join(s.student_id for s in found)
    else:
        parts = relpath.split("/")
        sid = parts[0] if len(parts) > 1 else Path(parts[0]).stem.split("_")[0]
        how = "folder or file-name prefix"
    problem = id_problem(sid)
    return (None, problem) if problem else (sid, how)
