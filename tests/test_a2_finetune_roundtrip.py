"""Assignment 2 through nbgrader: the reference earns every point, the blank release none, each mutant
loses exactly the checks it targets (with the feedback that says why)."""
import html
import re
import runpy

import nbformat
import pytest

import roundtrip
from conftest import ROOT, requires_cifar10

AID = "a2_finetune"
SOURCE = ROOT / "solutions" / AID / f"{AID}.ipynb"
RELEASE = ROOT / "assignments" / AID / f"{AID}.ipynb"
MUTANTS = sorted((ROOT / "tests" / "mutants" / AID).glob("[!_]*.py"))


def test_source_has_the_contracted_cells():
    nb = nbformat.read(SOURCE, as_version=4)
    assert {"freeze_features", "replace_head", "trainable_parameters", "train_model"} <= roundtrip.grade_ids(AID, solution=True, grade=False)
    assert roundtrip.grade_ids(AID, grade=True, solution=False) == {
        "test_freeze_features", "test_replace_head", "test_trainable_parameters", "test_frozen_recipe",
        "test_frozen_weights_unchanged", "test_batchnorm_statistics_unchanged", "test_accuracy"}
    assert "written_decision_matrix" in roundtrip.grade_ids(AID, solution=True, grade=True)
    run = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "run_training"][0]
    assert run.metadata["nbgrader"]["locked"] and 'torch.save(model.state_dict(), "a2_finetune_model.pt")' in run.source
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "code":
            assert cell.source.count("### BEGIN HIDDEN TESTS") == 1
            hidden = cell.source.split("### BEGIN HIDDEN TESTS", 1)[1]
            assert "sys.modules" not in hidden and "checks." in hidden


def test_release_is_generated_and_holds_no_solution_or_hidden_test():
    from course_grader.leaks import assert_no_leaks
    text = RELEASE.read_text()
    for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "Reference answer"):
        assert marker not in text
    assert text.count("raise NotImplementedError()") == 4
    assert_no_leaks([RELEASE.parent], ROOT / "solutions")


def test_every_mutant_names_cells_that_exist_and_checks_it_loses():
    assert {m.stem for m in MUTANTS} == {"freeze_nothing", "freeze_everything", "wrong_head_size",
                                         "optimizer_all_parameters", "batchnorm_train_mode"}
    mutants = roundtrip.assert_mutants_are_well_formed(AID)
    assert all(m["FEEDBACK"] for m in mutants.values())


@pytest.mark.timeout(1800)
@requires_cifar10
def test_round_trip_reference_blank_and_mutants(tmp_path):
    from course_grader.leaks import assert_no_leaks
    roundtrip = pytest.importorskip("roundtrip")
    cohort, mutants = roundtrip.run_standard_cohort(AID, tmp_path)
    autograded = set(cohort.max_scores)

    assert cohort.lost("reference") == set(), cohort.scores["reference"]
    assert cohort.total("blank") == 0, cohort.scores["blank"]
    assert set(cohort.scores["blank"]) == autograded  # graded, not crashed
    assert "NotImplementedError" in cohort.feedback("blank")
    for name, mutant in mutants.items():
        student = f"mutant_{name}"
        assert cohort.lost(student) == mutant["LOSES"], (name, cohort.scores[student])
        expected = runpy.run_path(str(ROOT / "tests" / "mutants" / AID / f"{name}.py"))["FEEDBACK"]
        assert expected in html.unescape(re.sub(r"<[^>]+>", "", cohort.feedback(student))), name
    assert_no_leaks([cohort.course / "feedback"], ROOT / "solutions")   # no hidden test in any student's feedback
