"""The warm student runner the round trips use (tests/student_runs.py): cells run top to bottom
in the student's folder, an error is recorded and the run goes on, a run past its time is
stopped, and one runner serves all the tests of a worker. (That a forked run trains the weights
a Jupyter kernel trains is checked in test_roundtrips.py, on a real assignment.)"""
from __future__ import annotations

import os

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

import student_runs

pytestmark = pytest.mark.roundtrip


def notebook(*sources: str) -> nbformat.NotebookNode:
    return new_notebook(cells=[new_code_cell(s) for s in sources])


def test_cells_run_in_order_in_the_students_folder_and_an_error_does_not_stop_the_run(tmp_path):
    nb = notebook("import os\nprint(os.getcwd())", "raise ValueError('a bug')",
                  "open('after.txt', 'w').write('ran')")
    student_runs.run_as_student(nb, tmp_path, "s.ipynb", dict(os.environ), timeout=300)
    assert (tmp_path / "after.txt").read_text() == "ran"
    first, error = nb.cells[0].outputs[0], nb.cells[1].outputs[-1]
    assert first.text.strip() == str(tmp_path)
    assert (error.output_type, error.ename, error.evalue) == ("error", "ValueError", "a bug")
    written = nbformat.read(tmp_path / "s.ipynb", as_version=4)
    assert [c.execution_count for c in written.cells] == [1, 2, 3]


def test_a_run_past_its_time_is_stopped_and_the_next_one_runs(tmp_path):
    with pytest.raises(TimeoutError):
        student_runs.run_as_student(notebook("import time\ntime.sleep(600)"), tmp_path, "s.ipynb",
                                    dict(os.environ), timeout=3)
    student_runs.run_as_student(notebook("print('next')"), tmp_path, "s.ipynb", dict(os.environ), timeout=300)


def test_one_runner_serves_every_test_of_a_worker_and_another_environment_replaces_it(tmp_path):
    def run(**env) -> object:
        student_runs.run_as_student(notebook("print(1)"), tmp_path, "s.ipynb", {**os.environ, **env}, timeout=300)
        return student_runs._runner.proc

    first = run(PYTEST_CURRENT_TEST="one test")
    assert run(PYTEST_CURRENT_TEST="another test") is first
    replaced = run(COURSE_PROFILE="cpu")
    assert replaced is not first and first.poll() is not None   # stopped, not kept beside the new one
