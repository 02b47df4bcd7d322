"""Each assignment as written and released (the contract of DESIGN.md, item by item): the source
has its solution cells, its locked test cells with points and one hidden block of checks each,
a hand-graded written answer and a training cell that saves the weights and is skipped while
grading; the release holds no answer and no hidden test; its page links the release and states
points and thresholds; every mutant and tampering submission names cells that exist.
(Each assignment is graded in tests/test_roundtrips.py.)"""
from __future__ import annotations

import re
from dataclasses import dataclass

import nbformat
import pytest

import roundtrip
from conftest import ROOT
from course_grader import leaks
from course_utils import profiles
from course_utils.profiles import PROFILES


@dataclass(frozen=True)
class Contract:
    solutions: frozenset[str]     # the student's code cells
    tests: frozenset[str]         # autograded test cells
    written: str                  # the hand-graded answer
    stubs: int                    # "raise NotImplementedError()" in the release
    distinctive: tuple[str, ...] = ()   # lines only the reference answer has


CONTRACTS = {
    "a1_vgg": Contract(
        frozenset({"make_features", "vgg11_cifar", "train_model"}),
        frozenset({"test_make_features", "test_output_shape", "test_param_count", "test_layer_sequence",
                   "test_devices", "test_accuracy"}), "written_flatten", 5,
        ('VGG11_CFG = [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]',
         "pooled_to_1x1 = self.features(x)", "layers.append(nn.ReLU(inplace=True))", "102,764,544")),
    "a2_finetune": Contract(
        frozenset({"freeze_features", "replace_head", "trainable_parameters", "train_model"}),
        frozenset({"test_freeze_features", "test_replace_head", "test_trainable_parameters", "test_frozen_recipe",
                   "test_frozen_weights_unchanged", "test_batchnorm_statistics_unchanged", "test_accuracy"}),
        "written_decision_matrix", 4),
    "a3_inception": Contract(
        frozenset({"conv_block", "inception_block", "cifar_googlenet", "train_model"}),
        frozenset({"test_conv_block", "test_branch_shapes", "test_concat_channels", "test_concat_order",
                   "test_inception_params", "test_network", "test_accuracy"}), "written_1x1_savings", 0),
    "a4_resnet": Contract(
        frozenset({"basic_block", "make_stage", "resnet_cifar", "train_model"}),
        frozenset({"test_block_shapes", "test_residual_branch", "test_shortcut", "test_zero_init_residual",
                   "test_depth_check", "test_param_counts", "test_output_shape", "test_accuracy"}),
        "written_shortcut", 6, ("kaiming_normal_(m.weight",)),
}
AIDS = sorted(CONTRACTS)


def cells(aid: str) -> dict[str, nbformat.NotebookNode]:
    return {c.metadata.nbgrader["grade_id"]: c for c in roundtrip.source_notebook(aid).cells
            if "nbgrader" in c.metadata}


def release(aid: str):
    return ROOT / "assignments" / aid / f"{aid}.ipynb"


@pytest.mark.parametrize("aid", AIDS)
def test_source_has_its_solution_cells_tests_and_written_answer(aid):
    contract, by_id = CONTRACTS[aid], cells(aid)
    assert roundtrip.grade_ids(aid, solution=True, grade=False) == contract.solutions
    assert roundtrip.grade_ids(aid, grade=True, solution=False) == contract.tests
    written = by_id[contract.written]
    meta = written.metadata.nbgrader
    assert written.cell_type == "markdown" and meta["solution"] and meta["grade"] and meta["points"] > 0
    for gid in contract.solutions:
        assert "### BEGIN SOLUTION" in by_id[gid].source and not by_id[gid].metadata.nbgrader.get("locked")


@pytest.mark.parametrize("aid", AIDS)
def test_each_test_cell_is_locked_has_points_and_one_hidden_block_of_checks(aid):
    for gid in CONTRACTS[aid].tests:
        cell = cells(aid)[gid]
        meta = cell.metadata.nbgrader
        assert meta["locked"] and meta["points"] > 0, gid
        assert cell.source.count("### BEGIN HIDDEN TESTS") == 1, gid
        hidden = cell.source.split("### BEGIN HIDDEN TESTS", 1)[1]
        # a list of checks: no boilerplate (the judge gives them a clean course_utils)
        assert "sys.modules" not in hidden, gid
        # every check goes through course_utils.checks, except A4's ValueError check, which
        # raises its own "expected …, got …. Hint: …"
        assert "checks." in hidden or gid == "test_depth_check", gid
        visible = cell.source.split("### BEGIN HIDDEN TESTS", 1)[0]
        if "os." in cell.source:
            assert "import os" in visible, f"{gid} uses os without importing it"


@pytest.mark.parametrize("aid", AIDS)
def test_the_training_cell_saves_the_weights_and_is_skipped_while_grading(aid):
    run = cells(aid)["run_training"]
    meta = run.metadata.nbgrader
    assert meta["locked"] and not meta["solution"] and not meta["grade"]
    assert f'torch.save(model.state_dict(), "{aid}_model.pt")' in run.source
    assert 'os.environ.get("NBGRADER_EXECUTION")' in run.source


@pytest.mark.parametrize("aid", AIDS)
def test_release_holds_no_answer_and_no_hidden_test(aid):
    text = release(aid).read_text()
    for marker in ("BEGIN SOLUTION", "HIDDEN TESTS", "Reference answer", *CONTRACTS[aid].distinctive):
        assert marker not in text, marker
    assert "YOUR CODE HERE" in text and "YOUR ANSWER HERE" in text
    if CONTRACTS[aid].stubs:
        assert text.count("raise NotImplementedError()") == CONTRACTS[aid].stubs
    page = ROOT / "book" / "assignments" / f"{aid}.md"
    found, scanned = leaks.scan([release(aid).parent, page], ROOT / "solutions")
    assert scanned >= 2 and found == [], "\n".join(map(str, found))


@pytest.mark.parametrize("aid", AIDS)
def test_assignment_page_links_the_release_and_states_points_and_thresholds(aid):
    page = (ROOT / "book" / "assignments" / f"{aid}.md").read_text()
    assert f"../../assignments/{aid}/{aid}.ipynb" in page
    assert f"{aid}_model.pt" in page
    rows = {m[1]: m[0] for m in re.finditer(r"^\| `(smoke|cpu|full)` \|.*$", page, re.M)}
    for name, profile in PROFILES.items():
        row = rows[name]       # the page's row of this profile: sizes, epochs, threshold agree
        assert f"{{record}}`{aid}/{name}`" in row, f"{name}: no measured training time"
        if aid == "a2_finetune":
            labels = profile.train_per_class or 5000
            graded = 5 * (profile.eval_per_class or 1000)
            assert re.match(rf"\| `{name}` \| {labels:,}\b.*\| {graded:,} \|", row), row
            wanted = [profiles.transfer_threshold(b, name) for b in ("course", "imagenet")]
        else:
            assert f"{profile.train_size:,} images, {profile.epochs} epoch" in row, row
            wanted = [profiles.accuracy_threshold(aid, name)]
        stated = [float(p) for p in re.findall(r"\| (\d+(?:\.\d+)?) ?%", row)]
        assert stated == [round(100 * w) for w in wanted], (row, wanted)
    points = {gid: c.metadata.nbgrader.get("points") for gid, c in cells(aid).items()}
    for gid in CONTRACTS[aid].tests | {CONTRACTS[aid].written}:
        assert f"`{gid}` | {points[gid]} |" in page, gid


@pytest.mark.parametrize("aid", AIDS)
def test_every_mutant_and_tampering_submission_names_cells_that_exist(aid):
    mutants = roundtrip.assert_mutants_are_well_formed(aid)
    assert len(mutants) >= 5 and all(m["FEEDBACK"] for m in mutants.values())
    assert all(m["LOSES"] <= CONTRACTS[aid].tests for m in mutants.values())
    for name, tamper in roundtrip.load_tampers(aid).items():
        assert tamper["ON"] == "blank" or tamper["ON"] in mutants, name
        assert set(tamper["CHEAT"]) <= CONTRACTS[aid].solutions | {"added"}, name
        assert tamper["doc"].strip(), name
