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

HIDDEN_BLOCK = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[^\n]*\n?", re.S | re.M)
HIDDEN_NOTE = "# (hidden tests: the grade for this cell comes from checks that are not shown)\n"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def strip_hidden(source: str) -> str:
    return HIDDEN_BLOCK.sub(HIDDEN_NOTE, source)


def is_test_cell(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution")


class HideHiddenTests(Preprocessor):
    """Remove hidden-test source and test-cell tracebacks; keep error names and messages."""

    enabled = Bool(True).tag(config=True)  # nbconvert preprocessors are off unless enabled

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        cell.source = strip_hidden(cell.source)
        if is_test_cell(cell) or "HIDDEN TESTS" in cell.source:
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    out["traceback"] = [f"\x1b[0;31m{out.get('ename', 'Error')}\x1b[0m: {ANSI.sub('', out.get('evalue', ''))}"]
        return cell, resources
