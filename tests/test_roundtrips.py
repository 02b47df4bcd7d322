"""Every assignment through nbgrader and the judge, as a class would live it (one cohort each).

For each assignment a cohort is executed and graded together: the reference (executed as a
student, training in smoke, in a process forked from a warm one: tests/student_runs.py), the
blank release, every classic bug of tests/mutants/<aid>/ and every tampering submission of
tests/tampers/<aid>/. The reference gets full marks and sees the
accuracy it reached; the blank release gets 0 without breaking grading; each mutant loses
exactly its checks with feedback naming the bug; no tampering raises a score; no feedback page
holds a hidden test. Static checks of each assignment's source and release are in
tests/test_assignment_sources.py and tests/test_release_sync.py.
"""
from __future__ import annotations

import html
from pathlib import Path

import nbformat
import pytest

import roundtrip
from conftest import NO_CIFAR10, have_cifar10
from course_grader import leaks

ROOT = Path(__file__).resolve().parent.parent
AIDS = ("a1_vgg", "a2_finetune", "a3_inception", "a4_resnet")
MUTANTS = [(aid, name) for aid in AIDS for name in roundtrip.load_mutants(aid)]
TAMPERS = [(aid, name) for aid in AIDS for name in roundtrip.load_tampers(aid)]
HONEST = [(aid, name) for aid in AIDS for name in roundtrip.load_honest(aid)]
# The first test to use a cohort pays for it: a dozen notebooks executed as students and ~20 graded.
COHORT_TIMEOUT = pytest.mark.timeout(5400)
_cohorts: dict[str, roundtrip.Cohort] = {}


@pytest.fixture(scope="session")
def cohorts(tmp_path_factory):
    """``cohort(aid)``: that assignment's standard cohort, made on first use."""
    if not have_cifar10():
        pytest.skip(NO_CIFAR10)

    def cohort(aid: str) -> roundtrip.Cohort:
        if aid not in _cohorts:
            _cohorts[aid], _ = roundtrip.run_standard_cohort(aid, tmp_path_factory.mktemp(aid))
        return _cohorts[aid]

    return cohort


@COHORT_TIMEOUT
@pytest.mark.parametrize("aid", AIDS)
def test_committed_release_is_what_generate_assignment_makes(cohorts, aid):
    fresh = nbformat.read(cohorts(aid).course / "assignments" / aid / f"{aid}.ipynb", as_version=4)
    committed = nbformat.read(ROOT / "assignments" / aid / f"{aid}.ipynb", as_version=4)
    assert [c.source for c in fresh.cells] == [c.source for c in committed.cells]


@COHORT_TIMEOUT
@pytest.mark.parametrize("aid", ["a2_finetune"])   # one is enough: the shortest cohort
def test_a_forked_student_run_trains_exactly_the_weights_a_jupyter_kernel_trains(cohorts, aid, tmp_path):
    """Students run in processes forked from a warm one (tests/student_runs.py); a kernel started
    for the reference, as a student's really is, must train bit for bit the same weights."""
    import torch
    cohort, weights = cohorts(aid), f"{aid}_model.pt"
    roundtrip.execute_in_kernel(roundtrip.make_submission(aid, release=cohort.course / "assignments"), tmp_path, aid)
    forked = torch.load(cohort.course / "submitted" / "reference" / aid / weights, weights_only=True)
    kernel = torch.load(tmp_path / weights, weights_only=True)
    assert forked.keys() == kernel.keys()
    assert [name for name in forked if not torch.equal(forked[name], kernel[name])] == []


@COHORT_TIMEOUT
@pytest.mark.parametrize("aid", AIDS)
def test_reference_gets_full_marks_and_sees_its_accuracy(cohorts, aid):
    cohort = cohorts(aid)
    assert set(cohort.max_scores) == roundtrip.grade_ids(aid, grade=True, solution=False)
    assert cohort.scores["reference"] == cohort.max_scores
    text = roundtrip.visible_text(cohort.feedback("reference"))
    assert "on the grading subset" in text and "profile needs" in text   # the accuracy beside the threshold


@COHORT_TIMEOUT
@pytest.mark.parametrize("aid", AIDS)
def test_blank_release_gets_zero_and_feedback_that_says_why(cohorts, aid):
    cohort = cohorts(aid)
    assert set(cohort.scores["blank"]) == set(cohort.max_scores)   # graded, not crashed
    assert cohort.total("blank") == 0
    assert "NotImplementedError" in cohort.feedback("blank")


@COHORT_TIMEOUT
@pytest.mark.parametrize("aid, name", MUTANTS)
def test_mutant_loses_exactly_its_checks_with_feedback_naming_the_bug(cohorts, aid, name):
    cohort, mutant = cohorts(aid), roundtrip.load_mutants(aid)[name]
    student = f"mutant_{name}"
    assert set(cohort.scores[student]) == set(cohort.max_scores)
    assert cohort.lost(student) == mutant["LOSES"], cohort.scores[student]
    text = html.unescape(roundtrip.visible_text(cohort.feedback(student)))
    phrases = mutant["FEEDBACK"] if isinstance(mutant["FEEDBACK"], list) else [mutant["FEEDBACK"]]
    for phrase in phrases:
        assert phrase in text, f"{name}: {phrase!r} not in the feedback"


@COHORT_TIMEOUT
@pytest.mark.parametrize("aid, name", TAMPERS)
def test_tampering_raises_no_score(cohorts, aid, name):
    roundtrip.assert_tamper_gains_nothing(cohorts(aid), aid, name)


@COHORT_TIMEOUT
@pytest.mark.parametrize("aid, name", HONEST)
def test_an_honest_variant_gets_full_marks_and_its_warnings_are_notes(cohorts, aid, name):
    cohort = cohorts(aid)
    assert cohort.scores[f"honest_{name}"] == cohort.max_scores
    assert roundtrip.load_honest(aid)[name]["NOTE"] in roundtrip.visible_text(cohort.feedback(f"honest_{name}"))


@COHORT_TIMEOUT
@pytest.mark.parametrize("aid", AIDS)
def test_no_feedback_page_of_the_cohort_holds_a_hidden_test(cohorts, aid):
    cohort = cohorts(aid)
    leaks.assert_no_leaks([cohort.course / "feedback"], ROOT / "solutions")
    roundtrip.assert_no_hidden_lines(cohort.course / "feedback", aid)


@COHORT_TIMEOUT
@pytest.mark.parametrize("aid", AIDS)
def test_the_reference_scores_the_same_over_three_gradings(cohorts, aid):
    from course_grader import cli, gradebook
    from course_grader.course import Course
    cohort = cohorts(aid)
    first = (cohort.scores["reference"], roundtrip.visible_text(cohort.feedback("reference")))
    for _ in range(2):
        cli.grade(Course(cohort.course), aid, quiet=True, workers=1, force=True, students=["reference"],
                  unsafe_no_sandbox=roundtrip.NO_SANDBOX)
        again = (gradebook.scores(Course(cohort.course).db_url, aid)["reference"],
                 roundtrip.visible_text(cohort.feedback("reference")))
        assert again[0] == first[0] == cohort.max_scores
        assert again[1].count("passed") == first[1].count("passed")
