"""nbgrader ``zip_collect`` plug-ins: unpack an LMS export, and say whose each file is.

Configured by :func:`course_grader.collect.collect` (not forked from nbgrader):

* :class:`TimestampExtractor` unpacks the export (zip files, nested zips, or a plain folder)
  and keeps each file's modification time, which decides between several submissions of one
  student (the newest wins);
* :class:`RosterCollector` says which student a file belongs to and what it is (see
  :func:`course_grader.roster.student_for`).
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import zipfile
from pathlib import Path

from nbgrader.plugins import ExtractorPlugin, FileNameCollectorPlugin
from traitlets import List, Unicode

from ..roster import Student, load_roster, student_for

ARCHIVE_EXT = (".zip",)


def weights_name(assignment: str) -> str:
    """The weights file an assignment's training cell saves (see the assignment conventions)."""
    return f"{assignment}_model.pt"


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
