"""Starts threads until it cannot, to exhaust the process limit that other students' runs share
(each worker slot has a uid of its own, so an honest student graded alongside is unaffected)."""
SQUARE = None
CELLS = [
    "import threading, time\n"
    "started = []\n"
    "try:\n"
    "    for _ in range(5000):\n"
    "        t = threading.Thread(target=time.sleep, args=(60,), daemon=True)\n"
    "        t.start()\n"
    "        started.append(t)\n"
    "finally:\n"
    "    print('threads started:', len(started))",
]
SCORE = 0.0
REFUSED = ["can't start new thread"]
FEEDBACK = ["tampering suspected: student code left thread(s) running"]
NEVER = []
