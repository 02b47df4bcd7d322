"""Assignment 4, as released: the source holds its contracted cells; the release no answer; every
mutant names cells that exist. (Graded in tests/test_roundtrips.py.)"""

import nbformat

import roundtrip
from conftest import ROOT

AID = "a4_resnet"
SOURCE = ROOT / "solutions" / AID / f"{AID}.ipynb"
RELEASE = ROOT / "assignments" / AID / f"{AID}.ipynb"
MUTANTS = sorted((ROOT / "tests" / "mutants" / AID).glob("[!_]*.py"))
SOLUTION_CELLS = {"basic_block", "make_stage", "resnet_cifar", "train_model"}
TEST_CELLS = {"test_block_shapes", "test_residual_branch", "test_shortcut", "test_zero_init_residual",
              "test_depth_check", "test_param_counts", "test_output_shape", "test_accuracy"}


def test_source_has_the_contracted_cells():
    nb = nbformat.read(SOURCE, as_version=4)
    assert roundtrip.grade_ids(AID, solution=True, grade=False) == SOLUTION_CELLS
    assert roundtrip.grade_ids(AID, grade=True, solution=False) == TEST_CELLS
    assert roundtrip.grade_ids(AID, solution=True, grade=True) == {"written_shortcut"}
    run = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "run_training"][0]
    assert run.metadata["nbgrader"]["locked"] and not run.metadata["nbgrader"]["solution"]
    assert 'torch.save(model.state_dict(), "a4_resnet_model.pt")' in run.source
    assert 'os.environ.get("NBGRADER_EXECUTION")' in run.source
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and cell.cell_type == "code":
            assert meta["locked"] and meta["points"] > 0
            assert cell.source.count("### BEGIN HIDDEN TESTS") == 1
            hidden = cell.source.split("### BEGIN HIDDEN TESTS", 1)[1]
            assert "sys.modules" not in hidden
            # Every check goes through course_utils.checks, except the ValueError check, which
            # raises its own "expected …, got …. Hint: …" until checks has a check_raises.
            assert "checks." in hidden or meta["grade_id"] == "test_depth_check", meta["grade_id"]
        if meta.get("solution") and cell.cell_type == "code":
            assert "### BEGIN SOLUTION" in cell.source and not meta["locked"]


def test_release_is_generated_and_holds_no_solution_or_hidden_test():
    from course_grader.leaks import assert_no_leaks
    text = RELEASE.read_text()
    for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "Reference answer", "kaiming_normal_(m.weight"):
        assert marker not in text
    assert text.count("raise NotImplementedError()") == 6   # BasicBlock (2), make_stage, ResNetCIFAR (2), train_model
    assert_no_leaks([RELEASE.parent], ROOT / "solutions")


def test_every_mutant_names_cells_that_exist_and_checks_it_loses():
    assert {m.stem for m in MUTANTS} == {"no_shortcut", "shortcut_after_relu", "projection_missing_stride2",
                                         "stride_on_second_conv", "batchnorm_missing", "projection_without_batchnorm"}
    mutants = roundtrip.assert_mutants_are_well_formed(AID)
    assert all(m["FEEDBACK"] for m in mutants.values())
