"""The gradebook (nbgrader's database): rows for what nbgrader could not grade, copies between
a worker's private SQLite snapshot and the course's gradebook, scores."""
from __future__ import annotations

import sqlite3
from pathlib import Path

from .course import CourseError
from .roster import Student


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def sqlite_path(url: str) -> Path:
    return Path(url.split("sqlite:///", 1)[1].split("?", 1)[0])


def _timestamp(folder: Path):
    from nbgrader.utils import parse_utc
    stamp = folder / "timestamp.txt"
    try:
        return parse_utc(stamp.read_text().strip()) if stamp.exists() else None
    except Exception:  # noqa: BLE001 - a bad timestamp file is not worth failing a student for
        return None


def create(db_url: str) -> None:
    """An empty gradebook at ``db_url`` with nbgrader's schema and version, unless one is there.

    nbgrader makes the same on first use, but asks an ``alembic`` process (found on PATH) for
    the schema version, about 3 s; alembic's Python API answers from nbgrader's own migrations.
    """
    from alembic.script import ScriptDirectory
    from nbgrader.api import Base
    from nbgrader.dbutil import ALEMBIC_DIR
    from sqlalchemy import create_engine, inspect, text
    from sqlalchemy.exc import SQLAlchemyError
    try:
        if is_sqlite(db_url):
            sqlite_path(db_url).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(db_url)
        try:
            if inspect(engine).get_table_names():
                return
            Base.metadata.create_all(bind=engine)
            with engine.begin() as conn:
                conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
                conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"),
                             {"v": ScriptDirectory(ALEMBIC_DIR).get_current_head()})
        finally:
            engine.dispose()
    except (OSError, SQLAlchemyError) as exc:
        raise CourseError(f"cannot create the gradebook {db_url}: {exc}") from None


def ensure_assignment(db_url: str, assignment: str) -> None:
    from nbgrader.api import Gradebook, MissingEntry
    with Gradebook(db_url) as gb:
        try:
            gb.find_assignment(assignment)
        except MissingEntry:
            raise CourseError(f"{assignment} is not in the gradebook {db_url}: run `course release "
                             f"{assignment}` first (with the same COURSE_DB_URL)") from None


def submission_score(db_url: str, assignment: str, student: str) -> tuple[float, float]:
    from nbgrader.api import Gradebook
    with Gradebook(db_url) as gb:
        sub = gb.find_submission(assignment, student)
        return float(sub.score), float(sub.max_score)


def graded_students(db_url: str, assignment: str) -> set[str]:
    from nbgrader.api import Gradebook
    with Gradebook(db_url) as gb:
        return {s.student_id for s in gb.assignment_submissions(assignment)}


def record_zero(db_url: str, assignment: str, student: str, folder: Path, fields: dict) -> None:
    """A submission row with zero on every cell (nothing could be graded)."""
    from nbgrader.api import Gradebook
    with Gradebook(db_url) as gb:
        gb.update_or_create_student(student, **fields)
        stamp = _timestamp(folder)
        sub = gb.update_or_create_submission(assignment, student, **({"timestamp": stamp} if stamp else {}))
        for nb in sub.notebooks:
            for grade in nb.grades:
                grade.auto_score, grade.manual_score, grade.needs_manual_grade = 0.0, None, False
            for comment in nb.comments:
                comment.auto_comment = None
        gb.db.commit()


def copy_autogrades(src_url: str, dst_url: str, assignment: str, student: str, fields: dict) -> None:
    """Copy one student's autograder results (not manual grades) from ``src_url`` into ``dst_url``."""
    from nbgrader.api import Gradebook
    with Gradebook(src_url) as src, Gradebook(dst_url) as dst:
        sub = src.find_submission(assignment, student)
        dst.update_or_create_student(student, **fields)
        dst.update_or_create_submission(assignment, student, **({"timestamp": sub.timestamp} if sub.timestamp else {}))
        for nb in sub.notebooks:
            dnb = dst.find_submission_notebook(nb.name, assignment, student)
            dnb.late_submission_penalty = nb.late_submission_penalty
            for g in nb.grades:
                d = dst.find_grade(g.name, nb.name, assignment, student)
                d.auto_score = g.auto_score
                d.needs_manual_grade = d.manual_score is not None or g.needs_manual_grade
            for c in nb.comments:
                dst.find_comment(c.name, nb.name, assignment, student).auto_comment = c.auto_comment
        dst.db.commit()


def snapshot(db_url: str, dest: Path) -> str:
    """A consistent copy of a SQLite gradebook (the backup API), as a db_url."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.unlink(missing_ok=True)
    src = sqlite3.connect(sqlite_path(db_url))
    out = sqlite3.connect(dest)
    try:
        src.backup(out)
    finally:
        out.close()
        src.close()
    return f"sqlite:///{dest}"


def integrity_check(db_url: str) -> str:
    con = sqlite3.connect(sqlite_path(db_url))
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


def sync_students(db_url: str, roster: list[Student]) -> None:
    from nbgrader.api import Gradebook
    if not roster:
        return
    with Gradebook(db_url) as gb:
        for s in roster:
            gb.update_or_create_student(s.student_id, **s.gradebook_fields())


def scores(db_url: str, assignment: str) -> dict[str, dict[str, float]]:
    """``{student: {grade_id: score}}`` for the autograded cells, read from the gradebook."""
    from nbgrader.api import Gradebook
    result: dict[str, dict[str, float]] = {}
    with Gradebook(db_url) as gb:
        for sub in gb.assignment_submissions(assignment):
            result[sub.student_id] = {g.name: g.score for nb in sub.notebooks for g in nb.grades
                                      if g.cell_type == "code"}  # written answers are graded by hand
    return result


def max_scores(db_url: str, assignment: str) -> dict[str, float]:
    """``{grade_id: points}`` of the autograded (code) cells of ``assignment``."""
    from nbgrader.api import Gradebook
    with Gradebook(db_url) as gb:
        a = gb.find_assignment(assignment)
        return {c.name: c.max_score for nb in a.notebooks for c in nb.grade_cells if c.cell_type == "code"}
