"""Silences failures the way a kernel shows them: a showtraceback override, a post_run_cell hook
that clears the error, a custom exception handler and sys.excepthook."""
ON = "optimizer_all_parameters"
CHEAT = {"trainable_parameters": '''
import sys
_ip = get_ipython()
_ip.showtraceback = lambda *a, **k: None
_ip.set_custom_exc((BaseException,), lambda *a, **k: None)


def _forget(result):
    result.error_in_exec = None


_ip.events.register("post_run_cell", _forget)
sys.excepthook = lambda *a: None
'''}
FLAGGED = None
