"""What an instructor takes away from grading one assignment: a grades table and a report page.

* ``reports/<aid>/grades.csv``: one row per roster student (then anyone else who submitted),
  one column per graded cell (autograded checks and hand-graded written answers, in notebook
  order) plus ``total``; a student without a submission has status ``missing``. Ready for an
  LMS import (nbgrader's own export, ``nbgrader_export.csv`` beside it, has totals only).
* ``reports/<aid>/report.html`` with ``score_histogram.png``: the grading profile, limits and
  accuracy thresholds used, the score histogram, each check's pass rate and the most common
  failure messages (instructor-facing: messages, never test code).
"""
from __future__ import annotations

import csv
import datetime as dt
import html
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .gradebook import ensure_assignment
from .notebooks import grade_id, graded_ids_in_order
from .roster import Student, load_roster
from .statuses import GRADED, MISSING, STATUS_TEXT


NOT_FINISHED = "not_finished"


def tampering(state: dict) -> str:
    """The grades.csv/report text for a student the judge flagged, or ''."""
    flags = state.get("flags") or []
    if not flags:
        return ""
    cleared = " (cleared by the instructor after review)" if state.get("flags_cleared") else ""
    return f"tampering suspected: {flags[0]}" + (f" (+{len(flags) - 1} more)" if len(flags) > 1 else "") + cleared


@dataclass
class Row:
    student_id: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    status: str = MISSING
    message: str = ""
    scores: dict[str, float | None] = field(default_factory=dict)
    total: float = 0.0
    needs_manual: bool = False
    on_roster: bool = True
    state: dict = field(default_factory=dict)

    @property
    def submitted(self) -> bool:
        return self.status != MISSING


@dataclass
class Table:
    assignment: str
    cells: list[tuple[str, float, str]]  # (grade_id, points, "code" | "markdown")
    rows: list[Row]
    roster: bool = False  # rows come from a roster (else: whoever submitted)

    @property
    def max_total(self) -> float:
        return sum(points for _, points, _ in self.cells)

    @property
    def checks(self) -> list[tuple[str, float]]:
        return [(name, points) for name, points, kind in self.cells if kind == "code"]


def graded_cell_order(root: Path, assignment: str) -> list[str]:
    """grade_ids of the graded cells of the released notebook(s), in notebook order."""
    return [gid for path in sorted((Path(root) / "assignments" / assignment).glob("*.ipynb"))
            for gid in graded_ids_in_order(path)]


def read_states(root: Path, assignment: str) -> dict[str, dict]:
    states = {}
    for path in sorted((Path(root) / "reports" / assignment / "grading").glob("*.json")):
        try:
            states[path.stem] = json.loads(path.read_text())
        except ValueError:
            continue
    return states


def cohort_table(assignment: str, root: Path, db_url: str, roster: list[Student]) -> Table:
    """Every roster student's (and every other submitter's) scores, status and note."""
    from nbgrader.api import Gradebook
    root = Path(root)
    states = read_states(root, assignment)
    ensure_assignment(db_url, assignment)
    with Gradebook(db_url) as gb:
        a = gb.find_assignment(assignment)
        cells = {c.name: (c.name, float(c.max_score), c.cell_type) for nb in a.notebooks for c in nb.grade_cells}
        released = [n for n in graded_cell_order(root, assignment) if n in cells]
        order = released + sorted(set(cells) - set(released))
        subs = {}
        for sub in gb.assignment_submissions(assignment):
            scores = {g.name: (None if g.auto_score is None and g.manual_score is None else float(g.score))
                      for nb in sub.notebooks for g in nb.grades}
            st = sub.student
            total = max(0.0, float(sub.score) - float(sub.late_submission_penalty or 0))  # nbgrader's rule
            subs[sub.student_id] = (scores, total, bool(sub.needs_manual_grade),
                                    Student(sub.student_id, st.first_name or "", st.last_name or "", st.email or ""))
    rows = []
    listed = [s.student_id for s in roster]
    for sid in listed + sorted(set(subs) - set(listed)):
        person = next((s for s in roster if s.student_id == sid), None) or subs[sid][3]
        row = Row(sid, person.first_name, person.last_name, person.email, on_roster=sid in listed,
                  state=states.get(sid, {}))
        if sid in subs and sid not in states:
            # A gradebook row without a state file: its grading never finished (a killed run; with a
            # server database the row exists before the result). It is graded by the next run.
            row.status, row.message = NOT_FINISHED, "grading did not finish: run `course grade` again"
        elif sid in subs:
            row.scores, row.total, row.needs_manual, _ = subs[sid]
            row.status = states[sid].get("status", GRADED)
            row.message = states[sid].get("message", "")
        rows.append(row)
    return Table(assignment, [cells[n] for n in order], rows, bool(roster))


def write_grades_csv(table: Table, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    names = [name for name, _, _ in table.cells]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["student_id", "first_name", "last_name", "email", "status", "tampering", *names, "total",
                    "max_total", "needs_manual_grading", "note"])
        for r in table.rows:
            cells = ["" if r.scores.get(n) is None else f"{r.scores[n]:g}" for n in names]
            note = r.message if r.on_roster or not table.roster else ("not on the roster. " + r.message).strip()
            total = f"{r.total:g}" if r.status != NOT_FINISHED else ""
            w.writerow([r.student_id, r.first_name, r.last_name, r.email, r.status, tampering(r.state), *cells,
                        total, f"{table.max_total:g}", "yes" if r.needs_manual else "no", note])
    return path


def _first_line(text: str) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", text or "").strip()
    return text.splitlines()[0][:240] if text else ""


def cell_failures(root: Path, assignment: str, student: str, lost: set[str]) -> dict[str, str]:
    """``{grade_id: 'Error: message'}`` for the lost checks, read from the autograded notebook."""
    out: dict[str, str] = {}
    for path in sorted((Path(root) / "autograded" / student / assignment).glob("*.ipynb")):
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception:  # noqa: BLE001 - a report must not fail on one unreadable file
            continue
        for cell in nb.cells:
            gid = grade_id(cell)
            if gid in lost and cell.cell_type == "code":
                errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
                if errors:
                    e = errors[-1]
                    out[gid] = f"{e.get('ename', 'Error')}: {_first_line(e.get('evalue', ''))}".rstrip(": ")
                else:
                    out[gid] = "no error shown (partial or no credit)"
    return out


def failure_counts(table: Table, root: Path) -> list[tuple[int, str, str, list[str]]]:
    """``(count, check, message, students)`` of the most common reasons checks were lost."""
    groups: dict[tuple[str, str], list] = {}
    for r in table.rows:
        if not r.submitted:
            continue
        if r.status != GRADED:
            key = ("(whole submission)", STATUS_TEXT.get(r.status, r.status))
            groups.setdefault(key, [key[1], []])[1].append(r.student_id)
            continue
        lost = {n for n, pts in table.checks if (r.scores.get(n) or 0) < pts}
        for gid, message in cell_failures(root, table.assignment, r.student_id, lost).items():
            key = (gid, re.sub(r"\d+(?:[.,]\d+)*", "#", message))  # same failure, different numbers
            groups.setdefault(key, [message, []])[1].append(r.student_id)
    ranked = [(len(students), key[0], example, students) for key, (example, students) in groups.items()]
    return sorted(ranked, key=lambda t: (-t[0], t[1], t[2]))


def histogram(table: Table, path: Path) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    totals = [r.total for r in table.rows if r.submitted]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    top = table.max_total or 1
    ax.hist(totals, bins=[x - 0.5 for x in range(int(top) + 2)] if top <= 40 else 20,
            color="#4c72b0", edgecolor="white")
    ax.set_xlabel(f"total score (out of {table.max_total:g})")
    ax.set_ylabel("students")
    ax.set_title(f"{table.assignment}: {len(totals)} submission(s)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def grading_settings(table: Table) -> dict:
    """Profile(s) and limits recorded with the graded students, and the assignment's thresholds."""
    states = [r.state for r in table.rows if r.state]
    seen = lambda key: sorted({str(s.get(key)) for s in states if s.get(key) not in (None, "")})
    from course_utils.profiles import ACCURACY_THRESHOLDS
    thresholds = {p: t.value for p, t in ACCURACY_THRESHOLDS.get(table.assignment, {}).items()}
    times = sorted(s["seconds"] for s in states if s.get("status") == GRADED and s.get("seconds"))
    return {"profile": seen("profile"), "sandbox": seen("sandbox"), "cell timeout (s)": seen("cell_timeout"),
            "kernel memory (GB)": seen("memory_gb"), "accuracy thresholds": thresholds,
            "autograde time (s)": (f"median {times[len(times) // 2]:.1f}, max {times[-1]:.1f} per submission"
                                   if times else "")}


def _table(headers, rows) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def write_report(table: Table, root: Path, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    png = histogram(table, directory / "score_histogram.png")
    submitted = [r for r in table.rows if r.submitted]
    counts = Counter(r.status for r in table.rows)
    settings = grading_settings(table)
    used = settings["profile"]
    threshold_rows = [(p, f"{v:.1%}" + (" (used)" if p in used else "")) for p, v in settings["accuracy thresholds"].items()]
    check_rows = []
    for name, pts in table.checks:
        got = [r.scores.get(name) or 0 for r in submitted]
        full = sum(1 for g in got if g >= pts)
        check_rows.append((name, f"{pts:g}", f"{full}/{len(got)}", f"{full / len(got):.0%}" if got else "-",
                           f"{sum(got) / len(got):.2f}" if got else "-"))
    failures = failure_counts(table, root)[:10]
    unsandboxed = sorted(r.student_id for r in table.rows if r.state and r.state.get("sandbox") == "off")
    flagged = [(r.student_id, tampering(r.state)) for r in table.rows if tampering(r.state)]
    sandbox_text = {"on": "on (course_grader/sandbox)", "off": "OFF (--unsafe-no-sandbox)"}
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(table.assignment)}: grading report</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse;"
        "margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}</style></head><body>",
        f"<h1>{html.escape(table.assignment)}: grading report</h1>",
        f"<p>Generated {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC. "
        f"{len(table.rows)} student(s): " + ", ".join(f"{n} {STATUS_TEXT.get(s, s)}" for s, n in sorted(counts.items())) + ".</p>",
        (f"<p style='border:2px solid #b00;padding:.5em;color:#b00'><strong>Graded without the grading "
         f"sandbox</strong> (--unsafe-no-sandbox): the code of {len(unsandboxed)} student(s) ran with the "
         "grader's rights and could have read solutions/, the gradebook and other students' submissions: "
         f"{html.escape(', '.join(unsandboxed))}.</p>" if unsandboxed else ""),
        *([f"<h2>Tampering suspected ({len(flagged)})</h2>",
           "<p>The judge saw these submissions change what the checks rely on; their checks from that point "
           "on scored 0. Review each; to score them on their verdicts run <code>course grade "
           f"{html.escape(table.assignment)} --student ID --clear-flag</code>.</p>",
           _table(["student", "what the judge saw"], flagged)] if flagged else []),
        "<h2>Grading settings</h2>",
        _table(["setting", "value"], [("profile", ", ".join(used) or "-"),
                                      ("grading sandbox", ", ".join(sandbox_text.get(v, v) for v in settings["sandbox"])
                                       or "-"),
                                      ("cell timeout (s)", ", ".join(settings["cell timeout (s)"]) or "-"),
                                      ("kernel memory limit (GB)", ", ".join(settings["kernel memory (GB)"]) or "-"),
                                      ("autograde wall time (s)", settings["autograde time (s)"] or "-"),
                                      ("maximum score", f"{table.max_total:g}")]),
        "<h3>Accuracy thresholds (course_utils.profiles)</h3>",
        _table(["profile", "threshold"], threshold_rows) if threshold_rows else "<p>none for this assignment</p>",
        "<h2>Scores</h2>", f"<img src='{png.name}' alt='score histogram'>",
        "<h2>Checks</h2>", _table(["check", "points", "full marks", "pass rate", "mean score"], check_rows),
        "<h2>Most common failures</h2>",
        _table(["students", "check", "message (example)", "who"],
               [(n, check, msg, ", ".join(who[:8]) + (" …" if len(who) > 8 else "")) for n, check, msg, who in failures])
        if failures else "<p>none</p>",
        "<h2>Students</h2>",
        _table(["student", "status", "total", "note"],
               [(r.student_id, STATUS_TEXT.get(r.status, r.status), f"{r.total:g}" if r.submitted else "-",
                 r.message) for r in table.rows]),
        "</body></html>",
    ]
    path = directory / "report.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def export_nbgrader_csv(assignment: str, db_url: str, path: Path) -> Path:
    """nbgrader's own CSV export (totals per submission), through its export plugin."""
    from nbgrader.api import Gradebook
    from nbgrader.plugins import CsvExportPlugin
    path.parent.mkdir(parents=True, exist_ok=True)
    with Gradebook(db_url) as gb:
        CsvExportPlugin(to=str(path), assignment=[assignment]).export(gb)
    return path


def build(assignment: str, root: Path, db_url: str, roster_path=None, html_report: bool = True) -> dict[str, Path]:
    """grades.csv (and nbgrader's export), plus report.html and its histogram when ``html_report``."""
    root = Path(root)
    directory = root / "reports" / assignment
    table = cohort_table(assignment, root, db_url, load_roster(roster_path or root / "roster.csv"))
    out = {"grades": write_grades_csv(table, directory / "grades.csv"),
           "nbgrader_export": export_nbgrader_csv(assignment, db_url, directory / "nbgrader_export.csv")}
    if html_report:
        out["report"] = write_report(table, root, directory)
    return out
