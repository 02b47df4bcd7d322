"""The grading pipeline end to end on a tiny assignment: release, submit, autograde, feedback."""
import nbformat
import pytest

import roundtrip
from course_grader.plugins.hide_hidden_tests import strip_hidden

AID = roundtrip.SQUARE
toy_source = roundtrip.square_source
visible_text = roundtrip.visible_text


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("toy")
    solutions = tmp / "src"
    (solutions / AID).mkdir(parents=True)
    nbformat.write(toy_source(), solutions / AID / f"{AID}.ipynb")
    course = roundtrip.new_course(tmp / "course", [AID], solutions=solutions)
    release = course / "assignments"
    make = lambda **kw: roundtrip.make_submission(AID, release=release, solutions=solutions, **kw)
    subs = {
        "reference": roundtrip.execute_as_student(make(), tmp / "w" / "reference", AID),
        "blank": roundtrip.write_unexecuted(make(blank=True), tmp / "w" / "blank", AID),
        "adds": roundtrip.execute_as_student(make(cells={"square": "def square(x):\n    return x + x"}),
                                             tmp / "w" / "adds", AID),
    }
    return roundtrip.grade_cohort(AID, subs, course)


def test_release_has_stub_not_solution(cohort):
    text = (cohort.course / "assignments" / AID / f"{AID}.ipynb").read_text()
    assert "return x * x" not in text and "BEGIN SOLUTION" not in text
    assert "raise NotImplementedError()" in text
    assert "square(3)" not in text  # hidden test removed from the release


def test_reference_gets_full_marks(cohort):
    assert cohort.scores["reference"] == cohort.max_scores == {"test_square": 2.0}


def test_blank_release_gets_zero(cohort):
    assert cohort.total("blank") == 0


def test_wrong_answer_loses_exactly_the_hidden_check(cohort):
    assert cohort.lost("adds") == {"test_square"}


def test_feedback_keeps_message_but_hides_hidden_test_code(cohort):
    text = visible_text(cohort.feedback("adds"))
    assert "multiply, do not add" in text          # the check's message reaches the student
    assert "square(3) == 9" not in text
    assert "hidden tests" in text
    assert "Traceback" not in text


def test_strip_hidden_replaces_each_block():
    src = "a = 1\n### BEGIN HIDDEN TESTS\nsecret()\n### END HIDDEN TESTS\nb = 2\n"
    out = strip_hidden(src)
    assert "secret" not in out and "a = 1" in out and "b = 2" in out


def test_hidden_lines_printed_from_input_history_are_scrubbed():
    from nbformat.v4 import new_code_cell, new_output
    from course_grader.plugins.hide_hidden_tests import HideHiddenTests
    nb = toy_source()
    nb.cells[2].outputs = []
    snoop = new_code_cell("print(In)")
    snoop.outputs = [new_output("stream", name="stdout", text=f"['', 'x', {roundtrip.SQUARE_HIDDEN_LINE!r}]\nafter\n")]
    nb.cells.insert(3, snoop)
    HideHiddenTests().preprocess(nb, {})
    assert "square(3) == 9" not in snoop.outputs[0]["text"]
    assert "after" in snoop.outputs[0]["text"]
