"""The judge: runs a student's notebook and decides every check, without trusting the student's code.

nbgrader's stock way of grading runs the hidden tests in the student's own kernel, where the
student's code can patch anything the tests rely on (imports, builtins, the checks themselves,
IPython's hooks) and print the tests' source. The judge keeps the two apart:

* **Two threads.** Student code (every notebook cell the student could change or that runs
  their code, and every call into a student's function, class or object) runs in a *student
  thread*. The checks run in the *judge thread*, which never executes student code: every
  student object it handles is a :class:`~.remote.Remote` handle whose operations are carried
  out in the student thread, one at a time (:mod:`.remote`). Student code therefore cannot
  reach the judge's frames, and what it returns is data, not code.
* **A private teaching library.** The checks, specs and data code the tests call are a copy of
  ``course_utils`` loaded before any student code, with its own builtins, outside
  ``sys.modules`` (:mod:`.private`): an import hook, a replaced ``sys.modules`` entry or a
  patched ``course_utils.checks`` in the student's namespace does not reach it.
* **A guard.** What the two threads share (torch's classes and functions, the private
  library's and the judge's own namespaces, global hooks and modes) is compared with a snapshot
  after every hand-over from the student thread and at every cell's end; a change is reported
  as tampering. An audit hook refuses, and reports, what would let student code see or change
  the judge's memory (``gc`` walks, other threads' frames, ``ctypes``, ``/proc/*/mem``, new
  processes, audit hooks of its own, rewriting a function's code) (:mod:`.guard`).
* **Verdicts only.** The judge reports per cell a verdict and the check's own message over a
  channel whose lines are authenticated with a key only the judge thread holds
  (:mod:`.protocol`); nothing the student's code prints while it is graded is reported. The
  hidden tests never enter the student thread's namespace, files or history.

Processes the audit hook cannot see (``_posixsubprocess.fork_exec`` raises no audit event) are
killed and flagged at every cell's end, and cannot read the judge's memory: it is not dumpable.

:mod:`.runner` is the process (started inside the grading sandbox, forked from the warm judge of
:mod:`.zygote`); the nbgrader side is
:class:`course_grader.plugins.judge_execute.JudgeExecute`.
"""
