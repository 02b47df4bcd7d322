"""Feedback that keeps each check's message and points but never shows hidden-test code.

nbgrader's stock feedback renders the autograded notebook, hidden tests included. This
preprocessor runs inside ``nbgrader generate_feedback`` (see nbgrader_config.py): it replaces
each hidden block by a one-line note and reduces the tracebacks of test cells to the
assertion's message, which is where our checks put "expected …, got …. Hint: …".
"""
from __future__ import annotations

import re

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

from ..notebooks import is_test_cell

HIDDEN_BLOCK = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[^\n]*\n?", re.S | re.M)
HIDDEN_NOTE = "# (hidden tests: the grade for this cell comes from checks that are not shown)\n"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def strip_hidden(source: str) -> str:
    return HIDDEN_BLOCK.sub(HIDDEN_NOTE, source)


def hidden_lines(nb) -> set[str]:
    """The distinctive lines of every hidden block in the notebook (stripped)."""
    lines = set()
    for cell in nb.cells:
        if cell.cell_type == "code":
            for block in HIDDEN_BLOCK.findall(cell.source):
                lines.update(l.strip() for l in block.splitlines()[1:-1]
                             if len(l.strip()) >= 8 and not l.strip().startswith("#"))
    return lines


def scrub(text: str, secret: set[str]) -> str:
    """Replace every output line that contains a hidden-test line."""
    if not secret or not isinstance(text, str):
        return text
    plain = ANSI.sub("", text)
    if not any(s in plain for s in secret):
        return text
    return "\n".join("[hidden test line removed]" if any(s in ANSI.sub("", l) for s in secret) else l
                     for l in text.split("\n"))


class HideHiddenTests(Preprocessor):
    """Remove hidden-test source and test-cell tracebacks; keep error names and messages."""

    enabled = Bool(True).tag(config=True)  # nbconvert preprocessors are off unless enabled

    def preprocess(self, nb, resources):
        # A student's own cell can print the kernel's input history (In, _ih), which holds
        # the hidden tests once they have run: scrub their lines from every output too.
        self._secret = hidden_lines(nb)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        cell.source = strip_hidden(cell.source)
        secret = getattr(self, "_secret", set())
        test_cell = is_test_cell(cell) or HIDDEN_NOTE.strip() in cell.source
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                if test_cell:
                    out["traceback"] = [f"\x1b[0;31m{out.get('ename', 'Error')}\x1b[0m: {ANSI.sub('', out.get('evalue', ''))}"]
                out["traceback"] = [scrub(t, secret) for t in out.get("traceback", [])]
                out["evalue"] = scrub(out.get("evalue", ""), secret)
            if "text" in out:
                out["text"] = scrub("".join(out["text"]) if isinstance(out["text"], list) else out["text"], secret)
            for mime, value in out.get("data", {}).items():
                if mime.startswith("text/"):
                    out["data"][mime] = scrub("".join(value) if isinstance(value, list) else value, secret)
        return cell, resources
