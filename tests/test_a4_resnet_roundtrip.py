"""Assignment 4 through nbgrader: the reference earns every point, the blank release none, each
mutant loses exactly the checks it targets, with feedback that names the bug, and a shape error
in a student's block becomes failed checks, not a crashed grading run."""
import html
import runpy

import nbformat
import pytest

import roundtrip
from conftest import ROOT, requires_cifar10

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
                                         "stride_on_second_conv", "batchnorm_missing"}
    mutants = roundtrip.assert_mutants_are_well_formed(AID)
    assert all(m["FEEDBACK"] for m in mutants.values())


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    roundtrip = pytest.importorskip("roundtrip")
    return roundtrip.run_standard_cohort(AID, tmp_path_factory.mktemp("a4"))


@pytest.mark.timeout(3600)
@requires_cifar10
def test_reference_gets_full_autograded_marks(cohort):
    cohort, _ = cohort
    assert set(cohort.max_scores) == TEST_CELLS
    assert cohort.lost("reference") == set(), cohort.scores["reference"]


@pytest.mark.timeout(3600)
@requires_cifar10
def test_no_feedback_page_of_the_cohort_holds_a_hidden_test(cohort):
    from course_grader.leaks import assert_no_leaks
    assert_no_leaks([cohort[0].course / "feedback"], ROOT / "solutions")


@pytest.mark.timeout(3600)
@requires_cifar10
def test_blank_release_is_graded_zero_not_crashed(cohort):
    cohort, _ = cohort
    assert set(cohort.scores["blank"]) == TEST_CELLS
    assert cohort.total("blank") == 0, cohort.scores["blank"]


@pytest.mark.timeout(3600)
@requires_cifar10
@pytest.mark.parametrize("name", [m.stem for m in MUTANTS])
def test_mutant_loses_exactly_its_checks_with_feedback_naming_the_bug(cohort, name):
    cohort, mutants = cohort
    student = f"mutant_{name}"
    assert set(cohort.scores[student]) == TEST_CELLS          # every check graded, none crashed the run
    assert cohort.lost(student) == mutants[name]["LOSES"], cohort.scores[student]
    expected = runpy.run_path(str(ROOT / "tests" / "mutants" / AID / f"{name}.py"))["FEEDBACK"]
    assert expected in html.unescape(cohort.feedback(student))
