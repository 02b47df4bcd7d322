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
REFUSED = ["CPUTimeLimitExceeded", "exceeded the grading CPU-time limit of @CPU_S@ s"]
NEVER = []
