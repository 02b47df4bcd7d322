"""Answers wrongly, then tries to give itself full marks in the gradebook: the SQLite file,
the grader's private copy of it for this student, and the PostgreSQL server (TCP and socket)."""
SQUARE = "def square(x):\n    return x + x"
CELLS = [
    "import sqlite3\n"
    "con = sqlite3.connect('file:@COURSE@/gradebook.db?mode=rw', uri=True)\n"
    "con.execute('UPDATE grade SET auto_score = 2')\n"
    "con.commit()",
    "import sqlite3, glob\n"
    "for path in ['../../../gradebook.db'] + glob.glob('@COURSE@/reports/*/tmp/*.db'):\n"
    "    con = sqlite3.connect(f'file:{path}?mode=rw', uri=True)\n"
    "    con.execute('UPDATE grade SET auto_score = 2')\n"
    "    con.commit()",
    "import socket\n"
    "socket.create_connection(('127.0.0.1', 5432), timeout=5)  # PostgreSQL on the grader's loopback",
    "import socket\n"
    "sock = socket.socket(socket.AF_UNIX)\n"
    "sock.connect('/var/run/postgresql/.s.PGSQL.5432')",
]
SCORE = 0.0
REFUSED = []
FEEDBACK = []
NEVER = []
