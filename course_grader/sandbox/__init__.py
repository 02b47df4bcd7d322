"""Where student code runs while it is graded: :mod:`.bwrap` builds the sandbox and starts the
judge in it, :mod:`.limits` holds the judge's resource limits, :mod:`.processes` lists the
processes of the sandbox's uid."""
