"""The plain feedback page of a submission that nbgrader could not grade (or render)."""
from __future__ import annotations

import html
from pathlib import Path

from .statuses import GRADED, STATUS_TEXT


def write_feedback_page(path: Path, assignment: str, student: str, status: str, message: str,
                        score: float, max_score: float) -> Path:
    """A plain feedback page: what happened to the submission, the score, what to do."""
    path.parent.mkdir(parents=True, exist_ok=True)
    title = f"{assignment}: feedback for {student}"
    if status == GRADED:
        what = "Your notebook was graded, but the detailed feedback page could not be produced"
        after = "Ask your instructor for the details of each check."
    else:
        what = f"Your submission could not be graded: {STATUS_TEXT.get(status, status)}"
        after = ("Every check of the assignment scored 0. If you can still submit, fix this and submit "
                 "again; otherwise show this page to your instructor.")
    body = (f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>\n"
            f"<body style='font-family: sans-serif; max-width: 48em; margin: 2em auto'>\n"
            f"<h1>{html.escape(title)}</h1>\n"
            f"<p><b>Score: {score:g} / {max_score:g}</b></p>\n"
            f"<p><b>{html.escape(what)}.</b></p>\n"
            f"<p>{html.escape(message)}</p>\n"
            f"<p>{html.escape(after)}</p>\n</body></html>\n")
    path.write_text(body, encoding="utf-8")
    return path
