"""Assignment 3, as released: the source holds its graded cells, points and written answer; the
release holds no answer; every mutant names cells that exist. (Graded in tests/test_roundtrips.py.)"""
from pathlib import Path


import roundtrip
from course_grader import leaks
from course_utils import profiles

AID = "a3_inception"
ROOT = Path(__file__).resolve().parent.parent
RELEASE = ROOT / "assignments" / AID / f"{AID}.ipynb"
AUTOGRADED = {"test_conv_block", "test_branch_shapes", "test_concat_channels", "test_concat_order",
              "test_inception_params", "test_network", "test_accuracy"}
MUTANTS = roundtrip.load_mutants(AID)


def source_cells():
    return [c for c in roundtrip.source_notebook(AID).cells if "nbgrader" in c.metadata]


def test_every_classic_bug_has_a_mutant_with_known_cells():
    assert len(MUTANTS) >= 6 and all(m["FEEDBACK"] for m in MUTANTS.values())
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
    for profile, threshold in profiles.THRESHOLD_VALUES[AID].items():
        assert f"| `{profile}` |" in page and f"| {threshold:.0%}" in page, profile
    points = {c.metadata.nbgrader["grade_id"]: c.metadata.nbgrader.get("points") for c in source_cells()}
    for grade_id in AUTOGRADED | {"written_1x1_savings"}:
        assert f"| `{grade_id}` | {points[grade_id]} |" in page, grade_id
