"""Writes outside its working copy: the release, the course root, another student's folder,
the Python environment (a .pth file runs code in every later Python), course_utils, /tmp."""
SQUARE = None
CELLS = [
    "open('mine-@MARKER@.txt', 'w').write('the working copy is writable')\n"
    "print('wrote mine-@MARKER@.txt')",
    "open('@COURSE@/assignments/a0_toy/a0_toy.ipynb', 'w').write('{}')",
    "open('@COURSE@/evil-@MARKER@.txt', 'w').write('x')",
    "open('../../alice/a0_toy/evil-@MARKER@.txt', 'w').write('x')",
    "import site\n"
    "open(site.getsitepackages()[0] + '/evil-@MARKER@.pth', 'w').write('import os')",
    "import course_utils, os\n"
    "open(os.path.join(os.path.dirname(course_utils.__file__), 'checks.py'), 'a').write('# pwned')",
    "open('/tmp/evil-@MARKER@', 'w').write('x')\n"
    "print('wrote /tmp/evil-@MARKER@: the sandbox has a /tmp of its own')",
]
SCORE = None
REFUSED = ["wrote mine-@MARKER@.txt", "No such file or directory: '@COURSE@/assignments/a0_toy/a0_toy.ipynb'",
           "No such file or directory: '@COURSE@/evil-@MARKER@.txt'", "Read-only file system",
           "the sandbox has a /tmp of its own"]
FEEDBACK = []
NEVER = []
