"""Each real assignment graded as a cohort: reference, blank release, mutants and bad submissions.

Slow (it trains the reference and every mutant in ``smoke``, then autogrades ~20 notebooks per
assignment): run with ``pytest -m slow tests/test_cohort_assignments.py``. An assignment whose
source notebook or mutants are not there yet is skipped with the reason. The bad submissions
are built from the reference's answers and weights, with the damage placed so that the
expected score is exact:

* unreadable (empty, invalid JSON, JSON that is not a notebook) and another assignment's
  notebook: a gradebook row with 0 and a feedback page saying what was wrong;
* an endless loop, a huge allocation, appended to the first answer cell after its
  definitions: the cell is stopped ("timed out after N s", "memory limit of N GB"), everything it
  defined exists, so the score is the reference's;
* a ``SyntaxError``, an exception at import, a ``NameError`` in the ``train_model`` cell,
  which grading does not run: the reference's score, the error in the feedback;
* every test cell and the training cell deleted, the first test edited: all restored, full marks;
* a mutant that also monkeypatches ``course_utils.checks`` and ``course_utils.summary``:
  it loses exactly the mutant's checks;
* the reference under another file name: full marks.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

import roundtrip as rt
from course_grader import leaks
from course_grader.course import Course

pytestmark = pytest.mark.slow
ASSIGNMENTS = ["a1_vgg", "a2_finetune", "a3_inception", "a4_resnet"]
CELL_TIMEOUT = 90
MEMORY_GB = 4
# Every check passes and no model has parameters, as far as this kernel's course_utils is concerned.
# (The toy cohort also patches torch.nn.Module.parameters; here that would break the student's own
# code that the checks exercise, which is the student's problem, not the grader's.)
PATCHES = '''import course_utils.checks as _graded_checks
import course_utils.summary as _summary
_summary.iter_parameters = lambda model: iter(())
for _name in dir(_graded_checks):
    if _name.startswith("check_"):
        setattr(_graded_checks, _name, lambda *args, **kwargs: None)
'''


@pytest.fixture(autouse=True, scope="module")
def only_when_slow_is_selected(request):
    """``pytest`` alone (CI's ``make test``) runs every marker: ask for these explicitly."""
    if "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("slow: run with -m slow")


def meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def unavailable(aid: str) -> str:
    if not (rt.ROOT / "solutions" / aid / f"{aid}.ipynb").is_file():
        return f"solutions/{aid}/{aid}.ipynb does not exist yet"
    if not rt.load_mutants(aid):
        return f"tests/mutants/{aid}/ has no mutants yet"
    return ""


def write(nb, work: Path, name: str, aid: str, weights_from: Path | None = None, filename: str = "") -> Path:
    folder = work / name
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / (filename or f"{aid}.ipynb"))
    for pt in (weights_from.glob("*.pt") if weights_from else []):
        shutil.copy(pt, folder / pt.name)
    return folder


def bad_submissions(aid: str, other: str, release: Path, reference: Path, mutants: dict, work: Path):
    """{student: (folder, checks lost ("all" or a set), phrases its feedback must contain)}."""
    make = lambda cells=None: rt.make_submission(aid, cells, release=release)
    answers = rt.reference_cells(aid)
    code = [meta(c)["grade_id"] for c in rt.source_notebook(aid).cells
            if meta(c).get("solution") and c.cell_type == "code"]
    first, train = code[0], "train_model" if "train_model" in code else code[-1]
    out = {}
    for name, payload, phrase in [("empty", b"", "notebook file is empty"),
                                  ("invalid_json", b'{"cells": [', "not valid notebook JSON"),
                                  ("not_notebook", b'{"answer": 42}', "JSON but not a Jupyter notebook")]:
        folder = work / name
        folder.mkdir(parents=True)
        (folder / f"{aid}.ipynb").write_bytes(payload)
        out[name] = (folder, "all", [phrase])
    out["wrong_assignment"] = (write(rt.make_submission(other, blank=True, release=release), work, "wrong_assignment", aid),
                               "all", [f"does not contain the cells of {aid}"])
    appended = {"endless_loop": ("\nwhile True:\n    pass\n", f"timed out after {CELL_TIMEOUT} s"),
                "memory_hog": ("\n_hoard = bytearray(64 * 2**30)\n", f"memory limit of {MEMORY_GB:g} GB")}
    for name, (tail, phrase) in appended.items():
        out[name] = (write(make({first: answers[first] + tail}), work, name, aid, reference), set(), [phrase])
    broken = {"syntax_error": ("def train_model(profile, device:\n    pass\n", "SyntaxError"),
              "import_error": ("import torchvison\n" + answers[train], "ModuleNotFoundError"),
              "name_error": ("train_model = make_trainer(profile)\n", "NameError")}
    for name, (source, phrase) in broken.items():
        out[name] = (write(make({train: source}), work, name, aid, reference), set(), [phrase])
    nb = make()
    tests = [meta(c)["grade_id"] for c in nb.cells if meta(c).get("grade") and c.cell_type == "code"]
    nb.cells = [c for c in nb.cells if meta(c).get("grade_id") not in set(tests[1:]) | {"run_training"}]
    next(c for c in nb.cells if meta(c).get("grade_id") == tests[0]).source = "pass"
    out["tests_deleted"] = (write(nb, work, "tests_deleted", aid, reference), set(), ["was missing from the submission"])
    name, mutant = sorted(mutants.items())[0]
    cells = dict(mutant["CELLS"])
    target = next(iter(cells))
    cells[target] = PATCHES + cells[target]
    out["monkeypatched"] = (write(make(cells), work, "monkeypatched", aid, work / f"mutant_{name}"), mutant["LOSES"], [])
    out["renamed"] = (write(make(), work, "renamed", aid, reference, f"Copy of {aid} (1).ipynb"), set(), [])
    return out


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def cohort(request, tmp_path_factory, monkeypatch_module):
    aid = request.param
    why = unavailable(aid)
    if why:
        pytest.skip(why)
    other = next(a for a in ASSIGNMENTS if a != aid and (rt.ROOT / "solutions" / a / f"{a}.ipynb").is_file())
    tmp = tmp_path_factory.mktemp(aid)
    course = rt.new_course(tmp / "course", [aid, other])
    rt.set_limits(course, cell_timeout=CELL_TIMEOUT, memory_gb=MEMORY_GB)
    release, work = course / "assignments", tmp / "work"
    subs = {"reference": rt.execute_as_student(rt.make_submission(aid, release=release), work / "reference", aid),
            "blank": rt.write_unexecuted(rt.make_submission(aid, blank=True, release=release), work / "blank", aid)}
    expected = {"reference": set(), "blank": "all"}
    mutants = rt.load_mutants(aid)
    for name, m in mutants.items():
        subs[f"mutant_{name}"] = rt.execute_as_student(rt.make_submission(aid, m["CELLS"], release=release),
                                                      work / f"mutant_{name}", aid)
        expected[f"mutant_{name}"] = m["LOSES"]
    phrases = {}
    for student, (folder, lost, said) in bad_submissions(aid, other, release, subs["reference"], mutants, work).items():
        subs[student], expected[student], phrases[student] = folder, lost, said
    result = rt.grade_cohort(aid, subs, course, workers=2)
    return result, expected, phrases


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_every_student_gets_the_exact_expected_score(cohort):
    result, expected, _ = cohort
    got = {s: result.lost(s) for s in expected}
    want = {s: set(result.max_scores) if lost == "all" else set(lost) for s, lost in expected.items()}
    assert got == want
    assert result.total("blank") == 0


def test_every_student_has_feedback_that_says_what_happened(cohort):
    result, expected, phrases = cohort
    for student in expected:
        text = rt.visible_text(result.feedback(student))
        assert text, student
        for phrase in phrases.get(student, []):
            assert phrase in text, (student, phrase)


def test_feedback_never_reveals_hidden_tests(cohort):
    result, _, _ = cohort
    found, scanned = leaks.scan([result.course / "feedback"], solutions_dir=result.course / "solutions",
                                kinds=("hidden",))
    assert scanned and not found, found[:3]


def test_one_gradebook_row_per_student(cohort):
    result, expected, _ = cohort
    assert rt.submission_counts(Course(result.course).db_url, result.aid) == {s: 1 for s in expected}
