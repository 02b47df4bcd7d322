"""Put back every read-only cell a student deleted, so that the original tests are what run.

nbgrader's ``OverwriteCells`` already restores the source of edited locked cells and, with
``add_missing_cells``, re-adds deleted *grade* cells. Two gaps remain, and both matter for our
assignments: a deleted read-only cell that is not graded (the setup cell that defines
``profile``, the training cell) is not put back, and a deleted grade cell whose predecessor in
the source is such a cell makes nbgrader fail the whole submission (it looks the predecessor up
among grade and solution cells only). ``RestoreCells`` keeps everything else of
``OverwriteCells`` and places each missing locked or grade cell after the nearest cell before
it, in the order of the released notebook. It is wired in nbgrader_config.py as a sanitize
preprocessor of ``Autograde``.
"""
from __future__ import annotations

import nbformat
from nbgrader.coursedir import CourseDirectory
from nbgrader.nbgraderformat import MetadataValidator
from nbgrader.preprocessors import OverwriteCells
from nbformat.notebooknode import NotebookNode
from traitlets import Bool

from ..notebooks import grade_id


class RestoreCells(OverwriteCells):
    """``OverwriteCells`` that also restores deleted read-only cells, in their released place."""

    add_missing_cells = Bool(True, help="Put back deleted grade and read-only cells.").tag(config=True)

    def released_cell_order(self) -> list[str]:
        """grade_ids in the order of the released notebook (empty if it cannot be read)."""
        coursedir = CourseDirectory(config=self.config)
        path = coursedir.format_path(coursedir.release_directory, ".", self.assignment_id)
        try:
            nb = nbformat.read(f"{path}/{self.notebook_id}.ipynb", as_version=4)
        except Exception:  # noqa: BLE001 - fall back to the gradebook's order
            return []
        return [gid for gid in map(grade_id, nb.cells) if gid]

    def locked_cell(self, source_cell) -> NotebookNode:
        note = self.missing_cell_notification.format(cell_id=source_cell.name)
        cell = {"cell_type": source_cell.cell_type,
                "metadata": {"deletable": False, "editable": False,
                             "nbgrader": {"grade": False, "grade_id": source_cell.name, "locked": True,
                                          "solution": False, "task": False, "schema_version": 3,
                                          "checksum": source_cell.checksum}},
                "source": note + source_cell.source}
        if cell["cell_type"] == "code":
            cell.update(execution_count=None, outputs=[], source="# " + cell["source"])
        return MetadataValidator().upgrade_cell_metadata(NotebookNode(cell))

    def add_missing_grade_cells(self, nb, resources):
        source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        cells = {c.name: c for c in source_nb.source_cells}
        points = {c.name: c.max_score for c in source_nb.grade_cells}
        solutions = {c.name for c in source_nb.solution_cells}
        order = [n for n in self.released_cell_order() if n in cells]
        order += [n for n in cells if n not in order]
        insert_at = 0
        for name in order:
            present = {gid: i for i, gid in enumerate(map(grade_id, nb.cells)) if gid}
            if name in present:
                insert_at = present[name] + 1
                continue
            if name in points:
                cell = self.missing_cell_transform(cells[name], points[name], is_solution=name in solutions)
            elif cells[name].locked:
                cell = self.locked_cell(cells[name])
            else:
                continue  # a student's own answer cell: there is nothing of theirs to put back
            self.log.warning("Missing cell %s: restored from the source", name)
            nb.cells.insert(insert_at, cell)
            insert_at += 1
        return nb, resources
