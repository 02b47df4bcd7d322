"""What happened to a submission: the status names every part of the grader uses."""

GRADED = "graded"
FAILED = "failed"
MISSING = "missing"
STATUS_TEXT = {
    GRADED: "graded",
    "empty": "empty notebook file",
    "invalid_json": "notebook file is not valid JSON",
    "not_notebook": "file is not a Jupyter notebook",
    "no_notebook": "no notebook in the submission",
    "wrong_assignment": "notebook of another assignment",
    FAILED: "grading stopped",
    MISSING: "no submission",
    "error": "NOT graded (internal error; run course grade again)",
    "not_finished": "NOT graded (grading did not finish; run course grade again)",
}
