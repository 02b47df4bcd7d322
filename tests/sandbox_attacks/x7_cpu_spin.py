"""Spins forever, and tries to swallow the stop with `except Exception`."""
SQUARE = None
CELLS = [
    "while True:\n"
    "    try:\n"
    "        while True:\n"
    "            pass\n"
    "    except Exception:\n"
    "        pass",
]
SCORE = None
REFUSED = ["Interrupted"]
FEEDBACK = []
NEVER = []
