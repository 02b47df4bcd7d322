"""How long autograding one submission takes, per assignment, in the active profile (slow).

    .venv/bin/python -m pytest -m slow tests/test_cohort_timing.py -s
    COURSE_TIMING_PROFILE=cpu .venv/bin/python -m pytest -m slow tests/test_cohort_timing.py -s -k a1_vgg

(tests/conftest.py pins ``COURSE_PROFILE=smoke``; ``COURSE_TIMING_PROFILE`` picks the profile
here, default ``smoke``.) For each assignment,
the reference is executed once as a student would (training in that profile), copied to
``COPIES`` students and graded by ``course grade`` with one worker; it prints one table row per
assignment (the first submission includes starting the worker: nbgrader's imports) and checks
that every copy got full marks.
"""
from __future__ import annotations

import os
import resource
import shutil
import statistics
import time

import pytest

import roundtrip as rt
from course_grader import cli, gradebook
from course_grader.course import Course

pytestmark = pytest.mark.slow
COPIES = int(os.environ.get("COURSE_TIMING_COPIES", "4"))
ASSIGNMENTS = [rt.BLOBS, "a1_vgg", "a2_finetune", "a3_inception", "a4_resnet"]


@pytest.fixture(autouse=True, scope="module")
def only_when_slow_is_selected(request):
    """``pytest`` alone (CI's ``make test``) runs every marker: ask for these explicitly."""
    if "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("slow: run with -m slow")


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_autograde_time_per_submission(aid, tmp_path, monkeypatch):
    profile = os.environ.get("COURSE_TIMING_PROFILE", "smoke")
    monkeypatch.setenv("COURSE_PROFILE", profile)
    if aid == rt.BLOBS:
        course, solutions = rt.toy_course(tmp_path, {aid: rt.blobs_source()})
        work = rt.write_unexecuted(rt.make_submission(aid, release=course / "assignments", solutions=solutions),
                                   tmp_path / "reference", aid)
        rt.blobs_weights(work / rt.BLOBS_WEIGHTS)
    else:
        if not (rt.ROOT / "solutions" / aid / f"{aid}.ipynb").is_file():
            pytest.skip(f"solutions/{aid}/{aid}.ipynb does not exist yet")
        course = rt.new_course(tmp_path / "course", [aid])
        work = rt.execute_as_student(rt.make_submission(aid, release=course / "assignments"),
                                     tmp_path / "reference", aid, profile=profile)
    for i in range(COPIES):
        shutil.copytree(work, course / "submitted" / f"s{i:02d}" / aid)
    cpu = lambda: sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
                      for f in ("ru_utime", "ru_stime"))
    start, cpu_start = time.monotonic(), cpu()
    outcomes = cli.grade(Course(course), aid, quiet=True, workers=1, unsafe_no_sandbox=rt.NO_SANDBOX)
    wall, cpu_used = time.monotonic() - start, cpu() - cpu_start  # workers and their kernels are waited for
    each = [o.seconds for o in outcomes]
    load = os.getloadavg()[0]
    print(f"\n| {aid} | {profile} | {COPIES} | {wall / COPIES:.1f} s wall, {cpu_used / COPIES:.1f} s CPU | "
          f"first {each[0]:.1f} s, then median {statistics.median(each[1:] or each):.1f} s | "
          f"load {load:.1f} on {os.cpu_count()} cores |")
    scores = gradebook.scores(Course(course).db_url, aid)
    full = gradebook.max_scores(Course(course).db_url, aid)
    assert all(scores[f"s{i:02d}"] == full for i in range(COPIES)), scores
