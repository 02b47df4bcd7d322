"""Reads the instructor's source notebook (solutions/**/*.ipynb) and its own notebook, which
holds the hidden tests while it is graded, and prints them into its feedback."""
SQUARE = None
CELLS = [
    "import glob\n"
    "found = sorted(glob.glob('@COURSE@/**/*.ipynb', recursive=True))\n"
    "print('notebooks the kernel can see:', found)\n"
    "for path in found:\n"
    "    print(open(path).read())",
    "print(open('a0_toy.ipynb').read())  # the notebook being graded, hidden tests restored",
    "print(open('../../../solutions/a0_toy/a0_toy.ipynb').read())",
    "print(open('@COURSE@/solutions/a0_toy/a0_toy.ipynb').read())",
]
SCORE = None
REFUSED = ["No such file or directory: '../../../solutions/a0_toy/a0_toy.ipynb'",
           "No such file or directory: '@COURSE@/solutions/a0_toy/a0_toy.ipynb'",
           "cannot be read while it is graded"]
NEVER = ["square(3) == 9", "BEGIN SOLUTION", "BEGIN HIDDEN TESTS"]
