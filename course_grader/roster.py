"""The class roster: who the students are and the names that identify them in an LMS export.

A CSV file with a header: ``student_id`` (or ``id``, nbgrader's spelling) is required;
``first_name``, ``last_name``, ``email`` and ``lms_id`` are optional.
"""
from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from pathlib import Path

ROSTER_FIELDS = ("student_id", "first_name", "last_name", "email", "lms_id")
TOKEN_CHARS = "A-Za-z0-9"


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
