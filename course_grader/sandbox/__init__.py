"""Where student code runs while it is graded: :mod:`.bwrap` builds the sandbox, :mod:`.kernel`
is the grading kernel, :mod:`.inside` applies the limits inside the sandbox."""
