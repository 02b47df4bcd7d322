"""The grader's settings: what it reads from the environment, and its per-profile figures.

Environment (the one table; the README lists it too):

========================  =================================================================
``COURSE_PROFILE``        grading profile (smoke | cpu | full); default: full on CUDA, else cpu
``COURSE_DB_URL``         gradebook; default ``sqlite:///<course root>/gradebook.db``
``COURSE_DATA_DIR``       CIFAR-10 (read by the teaching library; the sandbox shows it read-only)
``COURSE_SANDBOX``        set by ``course grade`` for its nbgrader processes: ``off`` under
                          ``--unsafe-no-sandbox`` (internal: not a knob)
``COURSE_WORKER_SLOT``    set by ``course grade`` for each worker (internal: picks the sandbox uid)
========================  =================================================================

Timeouts and limits are per profile (``course_utils.profiles.PROFILES[name].grading``, the one
home of per-profile figures); an instructor changes them in ``nbgrader_config.py``
(``c.JudgeExecute.cell_timeout`` …), not through the environment.
"""
from __future__ import annotations

import os

from course_utils.profiles import PROFILES, Grading

DB_URL_ENV = "COURSE_DB_URL"
PROFILE_ENV = "COURSE_PROFILE"


def grading_profile() -> str:
    """The profile grading runs in: ``$COURSE_PROFILE``, else ``cpu`` (graders rarely have a GPU;
    ``course grade`` on a GPU machine should be told ``COURSE_PROFILE=full``)."""
    name = (os.environ.get(PROFILE_ENV) or "cpu").strip().lower()
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r} in ${PROFILE_ENV}: choose one of {', '.join(PROFILES)}")
    return name


def grading(profile: str) -> Grading:
    """What grading one submission may take in ``profile``."""
    return PROFILES[profile].grading
