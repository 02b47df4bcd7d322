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
# Trained weights travel with a submission; none belong in the release.
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

# Feedback shows each check's message and points, never the hidden tests' code.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    "course_utils.feedback.HideHiddenTests",
]
