"""nbgrader configuration: sources in solutions/, the release in assignments/.

Run nbgrader from the repository root (or use the ``course`` command, which does).
"""
import os
from pathlib import Path

c = get_config()  # noqa: F821 (provided by nbgrader)

ROOT = Path(__file__).resolve().parent
c.CourseDirectory.root = str(ROOT)
c.CourseDirectory.course_id = "cnn-course"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
c.CourseDirectory.db_url = os.environ.get("COURSE_DB_URL", f"sqlite:///{ROOT / 'gradebook.db'}")
# Trained weights travel with a submission; none belong in the release or in the feedback
# folder. `course grade` drops "*.pt" from this list for the autograde step only, so that a
# student's weights are copied next to the notebook that is graded (plain `nbgrader autograde`
# would leave them behind: use `course grade`).
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.pt"]
c.CourseDirectory.max_file_size = 200_000  # kB: a VGG-11 state_dict is about 37 MB

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Per-cell timeout while autograding. `Execute.timeout` is the spelling nbgrader reads
# (`ExecutePreprocessor.timeout` is ignored). Training is skipped under NBGRADER_EXECUTION,
# so this bounds inference on the grading subset plus a student's own code.
_TIMEOUTS = {"smoke": 120, "cpu": 300, "full": 900}
c.Execute.timeout = int(os.environ.get("COURSE_CELL_TIMEOUT")
                        or _TIMEOUTS.get(os.environ.get("COURSE_PROFILE", "cpu"), 300))
# What a student reads in the feedback of a cell that ran too long (nbgrader interrupts it and
# goes on with the next cell).
_TIMEOUT_MESSAGE = (f"the cell timed out after {c.Execute.timeout} s (the grading limit per cell) and was "
                    "interrupted. Hint: look for an endless loop; training is skipped while grading, so "
                    "keep heavy work inside train_model.")
c.Execute.error_on_timeout = {"ename": "CellTimeoutError", "evalue": _TIMEOUT_MESSAGE,
                              "traceback": [f"\x1b[0;31mCellTimeoutError\x1b[0m: {_TIMEOUT_MESSAGE}"]}
# Memory: `course grade` runs kernels through course_grader.sandbox.kernel, which caps each
# kernel's private memory (per profile).

# The original tests are what run: edited read-only cells get their source back (stock
# OverwriteCells) and deleted ones are put back in place (RestoreCells, see course_grader/plugins/restore_cells.py).
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "course_grader.plugins.restore_cells.RestoreCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]

# Feedback shows each check's message and points, never the hidden tests' code.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    "course_grader.plugins.hide_hidden_tests.HideHiddenTests",
]

# Autograding runs every student's kernel in the grading sandbox (course_grader/sandbox):
# unprivileged, offline, seeing only its own working copy, the data and the Python environment.
# `course grade` refuses to grade where it cannot run, unless given --unsafe-no-sandbox.
from course_grader.sandbox import bwrap as _sandbox  # noqa: E402

_sandbox.configure(c)
