"""Reads another student's submission (submitted/ and autograded/) to copy it."""
SQUARE = None
CELLS = [
    "import os\n"
    "print('course folder:', os.listdir('@COURSE@'))",
    "print(open('@COURSE@/submitted/alice/a0_toy/a0_toy.ipynb').read())",
    "print(open('../../alice/a0_toy/a0_toy.ipynb').read())",
]
SCORE = None
REFUSED = ["No such file or directory: '@COURSE@'",
           "No such file or directory: '@COURSE@/submitted/alice/a0_toy/a0_toy.ipynb'",
           "No such file or directory: '../../alice/a0_toy/a0_toy.ipynb'"]
FEEDBACK = []
NEVER = ["@ALICE@"]
