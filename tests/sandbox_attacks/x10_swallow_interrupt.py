"""A loop that swallows every exception, the grader's interrupt included (`except:`)."""
SQUARE = None
CELLS = [
    "import time\n"
    "while True:\n"
    "    try:\n"
    "        time.sleep(0.5)\n"
    "    except:\n"
    "        pass",
]
SCORE = 0.0
REFUSED = []
FEEDBACK = ["timed out after", "did not stop when it was interrupted", "bare `except:`"]
NEVER = []
