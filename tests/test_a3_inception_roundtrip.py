"""Assignment 3 through nbgrader, as a class would live it: the release holds no answer; the
reference (executed and trained in smoke) gets full marks; the blank release gets 0 without
breaking grading; each classic student bug (tests/mutants/a3_inception/) loses exactly the
checks it should, and its feedback names the bug."""
import html
from pathlib import Path

import nbformat
import pytest

import roundtrip
from conftest import have_cifar10
from course_grader import leaks
from course_utils import specs

AID = "a3_inception"
ROOT = Path(__file__).resolve().parent.parent
RELEASE = ROOT / "assignments" / AID / f"{AID}.ipynb"
AUTOGRADED = {"test_conv_block", "test_branch_shapes", "test_concat_channels", "test_concat_order",
              "test_inception_params", "test_network", "test_accuracy"}
MUTANTS = roundtrip.load_mutants(AID)
# The six bugs the issue names (and a swapped order), with words their feedback must contain.
FEEDBACK = {
    "concat_dim0": ["InceptionBlock(16, 4, 4, 4, 4, 4, 4) output", "dim=1, the channel axis",
                    "expected (2, 16, 8, 8), got (8, 4, 8, 8)"],
    "branch_twice": ["each of the four branches exactly once", "expected (2, 256, 14, 14), got (2, 352, 14, 14)"],
    "forward_returns_shape": ["not its .shape"],
    "pad1_5x5": ["branch5x5 of InceptionBlock", "5×5 ConvBlock (padding=2)", "expected (2, 32, 28, 28), got (2, 32, 26, 26)"],
    "relu_missing": ["the ReLU is missing"],
    "no_reduction": ["parameters of branch3x3 in inception 3a", "1×1 ConvBlock in_channels → ch3x3red"],
    # not one of the six, but the only bug that the numerical order check alone catches
    "swapped_order": ["channels 3:8 of InceptionBlock(8, 3, 4, 5, 2, 6, 7)'s output, which should be branch3x3's output",
                      "in the order branch1x1, branch3x3, branch5x5, branch_pool"],
}


def source_cells():
    return [c for c in roundtrip.source_notebook(AID).cells if "nbgrader" in c.metadata]


def test_every_classic_bug_has_a_mutant_with_known_cells():
    assert set(MUTANTS) == set(FEEDBACK)
    roundtrip.assert_mutants_are_well_formed(AID)
    assert all(MUTANTS[name]["LOSES"] <= AUTOGRADED for name in MUTANTS)


def test_source_has_the_graded_cells_points_and_a_written_answer():
    meta = {c.metadata.nbgrader["grade_id"]: (c.cell_type, c.metadata.nbgrader) for c in source_cells()}
    assert {g for g, (_, m) in meta.items() if m["grade"] and not m["solution"]} == AUTOGRADED
    assert all(meta[g][1]["locked"] and meta[g][1]["points"] > 0 for g in AUTOGRADED)
    kind, written = meta["written_1x1_savings"]
    assert kind == "markdown" and written["solution"] and written["grade"] and written["points"] > 0
    run = meta["run_training"][1]
    assert run["locked"] and not run["solution"] and not run["grade"]
    assert 'torch.save(model.state_dict(), "a3_inception_model.pt")' in dict(
        (c.metadata.nbgrader["grade_id"], c.source) for c in source_cells())["run_training"]


def test_release_has_no_solution_and_no_hidden_tests():
    text = RELEASE.read_text()
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
    assert "YOUR CODE HERE" in text and "YOUR ANSWER HERE" in text
    found, scanned = leaks.scan([RELEASE.parent, ROOT / "book" / "assignments" / f"{AID}.md"], ROOT / "solutions")
    assert scanned >= 2 and found == [], "\n".join(map(str, found))


def test_assignment_page_links_the_release_and_states_points_and_thresholds():
    page = (ROOT / "book" / "assignments" / f"{AID}.md").read_text()
    assert f"{{download}}`{AID}.ipynb <../../assignments/{AID}/{AID}.ipynb>`" in page
    assert (ROOT / "book" / "assignments" / "../../assignments" / AID / f"{AID}.ipynb").resolve() == RELEASE
    assert f"{AID}_model.pt" in page
    for profile, threshold in specs.ACCURACY_THRESHOLDS[AID].items():
        assert f"| `{profile}` |" in page and f"| {threshold:.0%}" in page, profile
    points = {c.metadata.nbgrader["grade_id"]: c.metadata.nbgrader.get("points") for c in source_cells()}
    for grade_id in AUTOGRADED | {"written_1x1_savings"}:
        assert f"| `{grade_id}` | {points[grade_id]} |" in page, grade_id


# The first test to use the cohort pays for it: 9 notebooks executed as students (training in
# smoke) and graded. A few minutes on an idle machine; much longer on a busy shared one.
COHORT_TIMEOUT = pytest.mark.timeout(5400)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    if not have_cifar10():
        pytest.skip("CIFAR-10 is not on disk (set COURSE_DATA_DIR)")
    cohort, _ = roundtrip.run_standard_cohort(AID, tmp_path_factory.mktemp(AID))
    return cohort


@COHORT_TIMEOUT
def test_committed_release_is_what_generate_assignment_makes(graded):
    fresh = nbformat.read(graded.course / "assignments" / AID / f"{AID}.ipynb", as_version=4)
    committed = nbformat.read(RELEASE, as_version=4)
    assert [c.source for c in fresh.cells] == [c.source for c in committed.cells]


@COHORT_TIMEOUT
def test_no_feedback_page_of_the_cohort_holds_a_hidden_test(graded):
    leaks.assert_no_leaks([graded.course / "feedback"], ROOT / "solutions")


@COHORT_TIMEOUT
def test_reference_gets_full_marks(graded):
    assert set(graded.max_scores) == AUTOGRADED
    assert graded.scores["reference"] == graded.max_scores


@COHORT_TIMEOUT
def test_blank_release_gets_zero_and_feedback(graded):
    assert graded.total("blank") == 0
    assert graded.feedback("blank")


@COHORT_TIMEOUT
@pytest.mark.parametrize("name", sorted(FEEDBACK))
def test_mutant_loses_exactly_its_checks(graded, name):
    assert graded.lost(f"mutant_{name}") == MUTANTS[name]["LOSES"]


@COHORT_TIMEOUT
@pytest.mark.parametrize("name", sorted(FEEDBACK))
def test_mutant_feedback_names_the_bug(graded, name):
    text = html.unescape(graded.feedback(f"mutant_{name}"))
    for phrase in FEEDBACK[name]:
        assert phrase in text, f"{name}: {phrase!r} not in the feedback"
