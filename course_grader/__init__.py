"""The instructor's grader: collect, grade, report (the ``course`` command), around nbgrader.

Parts: :mod:`.cli` (the command), :mod:`.course` (a course on disk), :mod:`.roster`,
:mod:`.collect` (LMS export → ``submitted/``), :mod:`.submissions` (what a student handed
in), :mod:`.gradebook`, :mod:`.run` (one grading run) and :mod:`.worker` (one grading
process), :mod:`.report`, :mod:`.leaks` (answers where students can see them),
:mod:`.plugins` (nbgrader plug-ins, configured in nbgrader_config.py) and :mod:`.sandbox`
(where student code runs while it is graded). It imports the teaching library
(``course_utils``); the teaching library never imports it.
"""
