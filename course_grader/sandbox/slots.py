"""Worker slots, and so sandbox users, that no other grading run on this machine holds.

Slot k grades as uid ``BASE_UID + k``, and the per-user process limit counts per uid: two
``course grade`` runs at once (two assignments, two instructors, two test workers) must not
share a slot, or a fork storm in one would starve a student graded in the other. A slot is
held by an exclusive ``flock`` on a file in a folder only this user may write, for as long as
the run lasts; the kernel releases it when the run ends or is killed.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import tempfile
from pathlib import Path
from typing import Iterator

MAX_SLOTS = 256


def lock_dir() -> Path:
    return Path(tempfile.gettempdir()) / f"course-grader-slots-{os.geteuid()}"


def _checked(folder: Path) -> Path:
    """``folder``, made if missing; refused unless it is a real folder of ours that nobody else can write."""
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
    st = os.lstat(folder)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022:
        raise RuntimeError(f"{folder} is not a private folder of this user: remove it and grade again")
    return folder


@contextlib.contextmanager
def claimed(count: int, folder: Path | None = None) -> Iterator[list[int]]:
    """``count`` slots no other run holds, the lowest free ones, held until the block ends."""
    folder = _checked(folder or lock_dir())
    held: dict[int, int] = {}
    try:
        for slot in range(MAX_SLOTS):
            if len(held) == count:
                break
            fd = os.open(folder / f"{slot}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            held[slot] = fd
        if len(held) < count:
            raise RuntimeError(f"every one of the {MAX_SLOTS} grading slots is held by another `course grade`")
        yield sorted(held)
    finally:
        for fd in held.values():
            os.close(fd)
