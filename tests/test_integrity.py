"""No hidden test reaches a student, however their code prints, displays, encodes or raises it,
and no warning costs a point.

One cohort of the toy assignment a0_blobs (three hidden tests) is graded in the sandbox with the
judge: a leak bank (students whose graded code prints the input history, the notebook read from
disk, the call stack, display outputs, exception messages, cell metadata, each also base64-,
zlib-, rot13- or reverse-encoded), warning cases (every warning category raised inside a function
the hidden tests call; a student cell writing to stderr) and the reference. Every feedback page is
scanned for every hidden-test line, plain (whitespace-insensitive) and encoded.
"""
from __future__ import annotations

import pytest

import roundtrip as rt

AID = rt.BLOBS
MODEL = rt.without_markers(rt.BLOBS_MAKE_MODEL)
ENCODE = '''
import base64, codecs, zlib
def _leak(text):
    text = str(text)
    print(text)
    print(codecs.encode(text, "rot13"))
    print(text[::-1])
    print(base64.b64encode(text.encode()).decode())
    print(base64.b64encode(zlib.compress(text.encode())).decode())
'''
# student: code placed before the reference's make_model (the hidden tests call make_model)
LEAKS = {
    "leak_history": ENCODE + '''
_leak("\\n".join(globals().get("In", []) + globals().get("_ih", [])))
_leak(globals().get("Out", {}))
_leak(list(get_ipython().history_manager.get_range()) if get_ipython().history_manager else "")
''',
    # every notebook it can find, in a walk of the whole file system that skips only the
    # kernel's pseudo-files and the system (a walk of /proc would run past the cell's time limit)
    "leak_notebook_file": ENCODE + '''
import os
for _top, _dirs, _files in os.walk("/"):
    _dirs[:] = [d for d in _dirs if os.path.join(_top, d) not in ("/proc", "/sys", "/dev", "/usr")]
    for _name in _files:
        if _name.endswith(".ipynb"):
            try:
                _leak(open(os.path.join(_top, _name)).read())
            except OSError as _exc:
                print("cannot read", _name, _exc)
''',
    "leak_call_stack": ENCODE + MODEL.replace("def make_model():", '''def make_model():
    import inspect, traceback
    _leak(traceback.format_stack())
    _leak([(f.filename, f.code_context, dict(f.frame.f_locals)) for f in inspect.stack()])
    _leak([(f.frame.f_code.co_consts, f.frame.f_globals.keys()) for f in inspect.stack()])'''),
    "leak_display": ENCODE + '''
from IPython.display import HTML, Markdown, display
_history = "\\n".join(globals().get("In", []))
display(HTML("<pre>" + _history + "</pre>"))
display(Markdown("```\\n" + _history + "\\n```"))
display({"text/plain": _history}, raw=True, metadata={"secret": _history})
''',
    "leak_exception": ENCODE + MODEL.replace("def make_model():", '''def make_model():
    import base64, inspect
    raise RuntimeError(base64.b64encode(repr([f.code_context for f in inspect.stack()]).encode()).decode())'''),
    "leak_frames": ENCODE + MODEL.replace("def make_model():", '''def make_model():
    import sys
    frame = sys._getframe()
    while frame is not None:
        _leak((frame.f_code.co_filename, frame.f_code.co_consts, list(frame.f_locals)))
        frame = frame.f_back'''),
    "leak_gc_walk": ENCODE + MODEL.replace("def make_model():", '''def make_model():
    import gc
    for _obj in gc.get_objects():
        if isinstance(_obj, str) and "check_param_count" in _obj:
            _leak(_obj)'''),
    "leak_cell_metadata": ENCODE + '''
from IPython.display import publish_display_data
publish_display_data({"text/plain": "\\n".join(globals().get("In", []))},
                     metadata={"nbgrader": {"grade_id": "test_shape", "points": 99}})
''',
}
WARNINGS = {
    "warns_everywhere": MODEL.replace("def make_model():", '''def make_model():
    import warnings
    for category in (UserWarning, DeprecationWarning, FutureWarning, RuntimeWarning,
                     PendingDeprecationWarning, ResourceWarning, SyntaxWarning, ImportWarning):
        warnings.warn(f"a {category.__name__} from make_model", category)'''),
    "writes_stderr": "import sys\nprint('progress: 50%', file=sys.stderr)\n" + MODEL,
}

# What honest code does that changes torch behind the scenes: the first optimizer of a class
# wraps that class's `step` (torch's profiling hook); a scheduler wraps its optimizer's.
ORDINARY_TORCH = {
    "makes_optimizers": """import torch
_w = torch.nn.Parameter(torch.ones(3))
for _make in (torch.optim.SGD, torch.optim.Adam, torch.optim.AdamW, torch.optim.RMSprop):
    _opt = _make([_w], lr=0.1)
    _sched = torch.optim.lr_scheduler.OneCycleLR(_opt, max_lr=0.1, total_steps=10)
    (_w ** 2).sum().backward()
    _opt.step()
    _sched.step()
""" + MODEL,
}


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("integrity")
    course, solutions = rt.toy_course(tmp, {AID: rt.blobs_source()})
    release, work = course / "assignments", tmp / "work"

    def student(name: str, make_model: str) -> object:
        nb = rt.make_submission(AID, {"make_model": make_model}, release=release, solutions=solutions)
        folder = rt.write_unexecuted(nb, work / name, AID)
        rt.blobs_weights(folder / rt.BLOBS_WEIGHTS)
        return folder

    subs = {"reference": student("reference", MODEL)}
    subs.update({name: student(name, code + "\n" + MODEL if "def make_model" not in code else code)
                 for name, code in {**LEAKS, **WARNINGS, **ORDINARY_TORCH}.items()})
    graded = rt.grade_cohort(AID, subs, course, workers=2)
    graded.solutions = solutions
    return graded


def test_reference_gets_full_marks(cohort):
    assert cohort.scores["reference"] == cohort.max_scores


@pytest.mark.parametrize("name", sorted(LEAKS))
def test_leaking_student_is_graded_and_its_feedback_holds_no_hidden_test(cohort, name):
    assert set(cohort.scores[name]) == set(rt.BLOBS_POINTS)            # graded, not crashed
    assert rt.assert_no_hidden_lines(cohort.course / "feedback" / name, AID, cohort.solutions) == 1
    text = rt.visible_text(cohort.feedback(name))
    for line in rt.BLOBS_HIDDEN_LINES:
        assert "".join(line.split()) not in "".join(text.split())


def test_a_walk_of_the_file_system_for_notebooks_finishes_and_costs_no_point(cohort):
    assert "timed out" not in rt.visible_text(cohort.feedback("leak_notebook_file"))
    assert cohort.scores["leak_notebook_file"] == cohort.max_scores


def test_a_walk_of_the_call_stack_that_reaches_a_judge_handle_is_refused_at_once(cohort):
    text = rt.visible_text(cohort.feedback("leak_call_stack"))
    assert "timed out" not in text      # it used to wait on itself until the cell's time limit
    assert "not allowed while grading: student code used one of the judge's handles" in text


def test_a_walk_of_the_garbage_collector_is_refused_and_flagged(cohort):
    text = rt.visible_text(cohort.feedback("leak_gc_walk"))
    assert "tampering suspected: student code walked the garbage collector" in text
    assert cohort.total("leak_gc_walk") == 0


def test_no_feedback_page_of_the_cohort_holds_a_hidden_test(cohort):
    assert rt.assert_no_hidden_lines(cohort.course / "feedback", AID, cohort.solutions) >= len(cohort.scores)


@pytest.mark.parametrize("name", sorted(WARNINGS))
def test_warnings_cost_no_point_and_are_shown_as_notes(cohort, name):
    assert cohort.scores[name] == cohort.max_scores, cohort.scores[name]
    if name == "warns_everywhere":
        text = rt.visible_text(cohort.feedback(name))
        for category in ("UserWarning", "DeprecationWarning", "FutureWarning", "RuntimeWarning"):
            assert f"note: {category}: a {category} from make_model" in text, category
        assert "no points lost" in text


@pytest.mark.parametrize("name", sorted(ORDINARY_TORCH))
def test_ordinary_torch_use_is_not_taken_for_tampering(cohort, name):
    assert cohort.scores[name] == cohort.max_scores, cohort.scores[name]
    assert "tampering suspected" not in rt.visible_text(cohort.feedback(name))
