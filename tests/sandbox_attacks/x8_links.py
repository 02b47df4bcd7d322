"""Points links in its working copy at the instructor's files (gradebook, solutions, another
student's notebook, a root-only file), hoping that the steps after grading copy or chmod their
targets."""
SQUARE = None
CELLS = [
    "import os\n"
    "for name, target in [('gradebook.ipynb', '@COURSE@/gradebook.db'),\n"
    "                     ('solution.pt', '@COURSE@/solutions/a0_toy/a0_toy.ipynb'),\n"
    "                     ('alice.ipynb', '@COURSE@/submitted/alice/a0_toy/a0_toy.ipynb'),\n"
    "                     ('shadow.pt', '/etc/shadow')]:\n"
    "    os.symlink(target, name)\n"
    "print('links made:', sorted(os.listdir('.')))",
]
SCORE = None
REFUSED = ["links made:"]
FEEDBACK = []
NEVER = ["@ALICE@"]
