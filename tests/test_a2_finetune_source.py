"""Assignment 2, as released: the source holds its contracted cells; the release no answer; every
mutant names cells that exist. (Graded in tests/test_roundtrips.py.)"""

import nbformat

import roundtrip
from conftest import ROOT

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
                                         "optimizer_all_parameters", "batchnorm_train_mode", "head_frozen_too"}
    mutants = roundtrip.assert_mutants_are_well_formed(AID)
    assert all(m["FEEDBACK"] for m in mutants.values())
