"""Reads the instructor's source notebooks (solutions/**/*.ipynb) and the notebook being graded
(which holds the hidden tests), to print them."""
SQUARE = None
CELLS = [
    "import glob\n"
    "found = sorted(glob.glob('@COURSE@/**/*.ipynb', recursive=True))\n"
    "print('notebooks the judge can see:', found)\n"
    "for path in found:\n"
    "    print(open(path).read())",
    "print(open('a0_toy.ipynb').read())  # the notebook being graded",
    "print(open('../../../solutions/a0_toy/a0_toy.ipynb').read())",
    "print(open('@COURSE@/solutions/a0_toy/a0_toy.ipynb').read())",
]
SCORE = None
REFUSED = ["notebooks the judge can see: []", "No such file or directory: 'a0_toy.ipynb'",
           "No such file or directory: '../../../solutions/a0_toy/a0_toy.ipynb'",
           "No such file or directory: '@COURSE@/solutions/a0_toy/a0_toy.ipynb'"]
FEEDBACK = []
NEVER = ["square(3) == 9", "BEGIN SOLUTION", "BEGIN HIDDEN TESTS"]
