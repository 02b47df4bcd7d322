"""Starts processes meant to outlive the judge: a double-forked daemon and a background `sleep`.
The judge refuses to start processes (they could read its memory) and flags the attempt."""
SQUARE = None
CELLS = [
    "import os, time\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    os.setsid()\n"
    "    if os.fork() == 0:\n"
    "        while True:\n"
    "            with open('/tmp/heartbeat-@MARKER@.txt', 'a') as f:\n"
    "                f.write('.')\n"
    "            time.sleep(0.2)\n"
    "    os._exit(0)\n"
    "os.waitpid(pid, 0)",
    "import subprocess\n"
    "subprocess.Popen(['sleep', '@SLEEP@'], start_new_session=True)",
]
SCORE = 0.0
REFUSED = ["not allowed while grading: started a process"]
FEEDBACK = ["tampering suspected: student code started a process"]
NEVER = []
