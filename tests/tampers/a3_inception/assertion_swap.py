"""Swaps AssertionError in builtins for a Warning subclass (so a failed assert would not count as
an error) and leaves an object whose __del__ tries to patch the checks later."""
ON = "concat_dim0"
CHEAT = {"inception_block": '''
import builtins
builtins.AssertionError = type("AssertionError", (Warning,), {})


class _Later:
    def __del__(self):
        import course_utils.checks as c
        c.check_close = lambda *a, **k: None
        c.check_output_shape = lambda model, *a, **k: None


_keep = [_Later() for _ in range(3)]
_Later()
'''}
FLAGGED = "builtins.AssertionError was replaced"
