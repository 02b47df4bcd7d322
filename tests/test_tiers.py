"""How `make test` splits the suite between its two workers (tests/conftest.py): the tests that
share a session fixture stay in one worker, and the longest units are handed out first."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

import conftest
from conftest import COURSE_COPY, FIRST, ROOT, work_unit

ROUNDTRIP = "tests/test_roundtrips.py"


def test_each_assignment_cohort_is_one_work_unit_and_cohorts_are_apart():
    a1 = {work_unit(f"{ROUNDTRIP}::test_reference_gets_full_marks_and_sees_its_accuracy[a1_vgg]"),
          work_unit(f"{ROUNDTRIP}::test_mutant_loses_exactly_its_checks_with_feedback_naming_the_bug[a1_vgg-kernel5]"),
          work_unit(f"{ROUNDTRIP}::test_tampering_raises_no_score[a1_vgg-import_hook]")}
    a2 = work_unit(f"{ROUNDTRIP}::test_reference_gets_full_marks_and_sees_its_accuracy[a2_finetune]")
    assert len(a1) == 1 and a2 not in a1


def test_every_user_of_the_course_copy_is_in_its_work_unit():
    users = {"tests/test_ch01_cnn_basics.py", "tests/test_chapters_executed.py", "tests/test_site.py", "tests/test_leaks.py"}
    assert {work_unit(f"{m}::test_x") for m in users} == {COURSE_COPY}
    assert work_unit("tests/test_data.py::test_x") == "tests/test_data.py"


def test_a_course_copy_user_outside_its_unit_stops_the_run_with_what_to_do():
    item = SimpleNamespace(nodeid="tests/test_new.py::test_reads_a_chapter", fixturenames=["executed_notebook"],
                           add_marker=lambda marker: None)
    with pytest.raises(pytest.UsageError, match="COURSE_COPY_MODULES"):
        conftest.pytest_collection_modifyitems(None, [item])


def test_the_units_handed_out_first_exist():
    for unit in FIRST:
        if unit == COURSE_COPY:
            continue
        module, _, aid = unit.partition("::")
        assert (ROOT / module).is_file(), unit
        assert not aid or (ROOT / "solutions" / aid).is_dir(), unit


def test_the_longest_units_come_first_in_the_order_the_run_hands_them_out():
    names = ["tests/test_data.py::test_x", f"{ROUNDTRIP}::test_y[a1_vgg]", "tests/test_site.py::test_z",
             f"{ROUNDTRIP}::test_y[a3_inception]"]
    items = [SimpleNamespace(nodeid=n, fixturenames=[], add_marker=lambda marker: None) for n in names]
    conftest.pytest_collection_modifyitems(None, items)
    assert [i.nodeid for i in items] == [names[2], names[3], names[1], names[0]]
