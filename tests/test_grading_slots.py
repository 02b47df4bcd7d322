"""Two grading runs at once never share a worker slot (a slot is a sandbox uid, and the
per-user process limit counts per uid), and a slot comes back when its run ends."""
import os

import pytest

from course_grader.sandbox import slots


def test_concurrent_runs_get_disjoint_slots_and_a_released_slot_is_reused(tmp_path):
    folder = tmp_path / "slots"
    with slots.claimed(2, folder) as first:
        with slots.claimed(3, folder) as second:
            assert first == [0, 1] and second == [2, 3, 4]
        with slots.claimed(1, folder) as third:
            assert third == [2]
    with slots.claimed(2, folder) as again:
        assert again == [0, 1]


def test_slots_outlive_no_run_that_was_killed(tmp_path):
    folder = tmp_path / "slots"
    pid = os.fork()
    if pid == 0:   # a run that claims a slot and dies without releasing it
        with slots.claimed(1, folder):
            os._exit(0)
    os.waitpid(pid, 0)
    with slots.claimed(1, folder) as mine:
        assert mine == [0]


@pytest.mark.parametrize("make", ["link", "shared"])
def test_a_lock_folder_that_another_user_could_control_is_refused(tmp_path, make):
    folder = tmp_path / "slots"
    if make == "link":
        (tmp_path / "elsewhere").mkdir()
        folder.symlink_to(tmp_path / "elsewhere")
    else:
        folder.mkdir()
        folder.chmod(0o777)
    with pytest.raises(RuntimeError, match="not a private folder"):
        with slots.claimed(1, folder):
            pass
