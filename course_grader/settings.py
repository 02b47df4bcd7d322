"""The grader's settings that come from the environment (the one table; README lists them too).

========================  =================================================================
``COURSE_PROFILE``        grading profile (smoke | cpu | full); default: full on CUDA, else cpu
``COURSE_DB_URL``         gradebook; default ``sqlite:///<course root>/gradebook.db``
``COURSE_DATA_DIR``       CIFAR-10 (read by the teaching library; the sandbox shows it read-only)
``COURSE_SANDBOX``        set by ``course grade`` for its nbgrader processes: ``off`` under
                          ``--unsafe-no-sandbox`` (internal: not a knob)
========================  =================================================================
Limits and timeouts are per profile (:data:`course_utils.config.PROFILES`); nothing else is read
from the environment.
"""
DB_URL_ENV = "COURSE_DB_URL"
