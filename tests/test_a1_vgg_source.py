"""Assignment 1, as released: the source holds its graded cells, points and written answer; the
release holds no answer; every mutant names cells that exist. (Graded in tests/test_roundtrips.py.)"""
from pathlib import Path

import nbformat

import roundtrip
from course_grader import leaks
from course_utils import profiles, specs

AID = "a1_vgg"
ROOT = Path(__file__).resolve().parent.parent
RELEASE = ROOT / "assignments" / AID / f"{AID}.ipynb"
PAGE = ROOT / "book" / "assignments" / f"{AID}.md"
AUTOGRADED = {"test_make_features", "test_output_shape", "test_param_count", "test_layer_sequence",
              "test_devices", "test_accuracy"}
MUTANTS = roundtrip.load_mutants(AID)
A1 = specs.VGG_CFGS["vgg11"]
# Lines only the reference answer has: none may reach a student's copy.
DISTINCTIVE = ['VGG11_CFG = [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]',
               "pooled_to_1x1 = self.features(x)", "update_bn(train_loader, model, device)   #",
               "layers.append(nn.ReLU(inplace=True))", "102,764,544", "checks.check_trained_accuracy("]


def source_cells():
    return [c for c in roundtrip.source_notebook(AID).cells if "nbgrader" in c.metadata]


def test_every_classic_bug_has_a_mutant_with_known_cells():
    assert len(MUTANTS) >= 5 and all(m["FEEDBACK"] for m in MUTANTS.values())
    roundtrip.assert_mutants_are_well_formed(AID)
    assert all(MUTANTS[name]["LOSES"] <= AUTOGRADED for name in MUTANTS)


def test_source_has_the_graded_cells_points_and_a_written_answer():
    meta = {c.metadata.nbgrader["grade_id"]: (c.cell_type, c.metadata.nbgrader) for c in source_cells()}
    assert {g for g, (_, m) in meta.items() if m["grade"] and not m["solution"]} == AUTOGRADED
    assert all(meta[g][1]["locked"] and meta[g][1]["points"] > 0 for g in AUTOGRADED)
    kind, written = meta["written_flatten"]
    assert kind == "markdown" and written["solution"] and written["grade"] and written["points"] > 0
    assert {g for g, (_, m) in meta.items() if m["solution"] and not m["grade"]} == {
        "make_features", "vgg11_cifar", "train_model"}
    for locked in ("setup_install", "setup", "run_training"):
        assert meta[locked][1]["locked"] and not meta[locked][1]["solution"] and not meta[locked][1]["grade"]
    sources = {c.metadata.nbgrader["grade_id"]: c.source for c in source_cells()}
    assert 'torch.save(model.state_dict(), "a1_vgg_model.pt")' in sources["run_training"]
    for grade_id in AUTOGRADED:  # hidden checks re-import course_utils before trusting it
        # hidden checks are a list of checks: the judge gives them a clean course_utils
        assert "sys.modules" not in sources[grade_id].split("### BEGIN HIDDEN TESTS")[1], grade_id


def test_release_has_no_solution_and_no_hidden_tests():
    text = RELEASE.read_text()
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
    assert "YOUR CODE HERE" in text and "YOUR ANSWER HERE" in text
    for line in DISTINCTIVE:
        assert line not in "\n".join(c.source for c in nbformat.read(RELEASE, as_version=4).cells), line
    found, scanned = leaks.scan([RELEASE.parent, PAGE], ROOT / "solutions")
    assert scanned >= 2 and found == [], "\n".join(map(str, found))


def test_assignment_page_links_the_release_and_states_points_and_thresholds():
    page = PAGE.read_text()
    assert f"{{download}}`{AID}.ipynb <../../assignments/{AID}/{AID}.ipynb>`" in page
    assert (PAGE.parent / "../../assignments" / AID / f"{AID}.ipynb").resolve() == RELEASE
    assert f"{AID}_model.pt" in page
    for profile, threshold in profiles.THRESHOLD_VALUES[AID].items():
        assert f"| `{profile}` |" in page and f"| {threshold:.0%}" in page, profile
    points = {c.metadata.nbgrader["grade_id"]: c.metadata.nbgrader.get("points") for c in source_cells()}
    for grade_id in AUTOGRADED | {"written_flatten"}:
        assert f"| `{grade_id}` | {points[grade_id]} |" in page, grade_id
