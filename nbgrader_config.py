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

# Grading runs each notebook in the judge (course_grader/judge): the student's code in a sandbox
# and a thread of its own, the checks where it cannot reach them. Per-cell timeout, memory and
# CPU time come from the grading profile (course_utils/profiles.py); set
# c.JudgeExecute.cell_timeout / memory_gb / cpu_seconds here to change them. Execute.timeout is
# nbgrader's own spelling of the per-cell timeout: keep the two equal.
from course_grader.settings import grading as _grading, grading_profile as _grading_profile  # noqa: E402

c.Execute.timeout = _grading(_grading_profile()).cell_timeout_s

# The original tests are what run: edited read-only cells get their source back (stock
# OverwriteCells) and deleted ones are put back in place (RestoreCells, see course_grader/plugins/restore_cells.py).
# The outputs of the student's own run are kept (ClearOutput is left out): they are what the
# feedback shows for the student's cells; test cells get the judge's verdicts instead.
c.Autograde.sanitize_preprocessors = [
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

# The judge replaces nbgrader's Execute and runs in the grading sandbox (course_grader/sandbox):
# unprivileged, offline, seeing only a copy of the submission's files, the data and the Python
# environment. `course grade` refuses to grade where it cannot run, unless given --unsafe-no-sandbox.
from course_grader.sandbox import bwrap as _sandbox  # noqa: E402

_sandbox.configure(c)
