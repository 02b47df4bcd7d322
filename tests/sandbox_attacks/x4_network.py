"""Phones home (a host outside) and connects to a port the grader's machine listens on."""
SQUARE = None
CELLS = [
    "import socket\n"
    "socket.create_connection(('1.1.1.1', 443), timeout=5)",
    "import urllib.request\n"
    "urllib.request.urlopen('http://93.184.215.14/', timeout=5)",
    "import socket\n"
    "socket.create_connection(('127.0.0.1', @PORT@), timeout=5)  # listening on the grader's machine",
]
SCORE = None
REFUSED = ["Network is unreachable", "Connection refused"]
FEEDBACK = []
NEVER = []
