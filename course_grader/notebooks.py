"""What nbgrader's metadata says about a notebook's cells: the one place that reads it."""
from __future__ import annotations

from pathlib import Path

import nbformat


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def grade_id(cell) -> str | None:
    return nbgrader_meta(cell).get("grade_id")


def grade_ids(nb) -> set[str]:
    return {grade_id(c) for c in nb.get("cells", [])} - {None}


def is_test_cell(cell) -> bool:
    """An autograded test cell: graded, not a student's answer."""
    meta = nbgrader_meta(cell)
    return bool(meta.get("grade")) and not meta.get("solution")


def is_solution_cell(cell) -> bool:
    return bool(nbgrader_meta(cell).get("solution"))


def graded_ids_in_order(path: Path) -> list[str]:
    """grade_ids of the graded cells of the notebook at ``path``, in notebook order."""
    nb = nbformat.read(path, as_version=4)
    return [grade_id(c) for c in nb.cells if nbgrader_meta(c).get("grade")]
