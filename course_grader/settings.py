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

Timeouts and limits are per profile (:data:`GRADING`); an instructor changes them in
``nbgrader_config.py`` (``c.JudgeExecute.cell_timeout`` …), not through the environment.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

DB_URL_ENV = "COURSE_DB_URL"
PROFILE_ENV = "COURSE_PROFILE"


@dataclass(frozen=True)
class Grading:
    """What grading one submission may take in a profile (training is skipped while grading)."""

    cell_timeout_s: int      # one cell (nbgrader's Execute.timeout; the judge enforces it)
    memory_gb: float         # the judge's private memory (RLIMIT_DATA)
    cpu_s: int               # the judge's CPU time, all cells together (a backstop)


GRADING = {
    "smoke": Grading(cell_timeout_s=120, memory_gb=4.0, cpu_s=600),
    "cpu": Grading(cell_timeout_s=300, memory_gb=6.0, cpu_s=1800),
    "full": Grading(cell_timeout_s=900, memory_gb=16.0, cpu_s=3600),
}


def grading_profile() -> str:
    """The profile grading runs in: ``$COURSE_PROFILE``, else ``cpu`` (graders rarely have a GPU;
    ``course grade`` on a GPU machine should be told ``COURSE_PROFILE=full``)."""
    name = (os.environ.get(PROFILE_ENV) or "cpu").strip().lower()
    if name not in GRADING:
        raise ValueError(f"unknown profile {name!r} in ${PROFILE_ENV}: choose one of {', '.join(GRADING)}")
    return name
