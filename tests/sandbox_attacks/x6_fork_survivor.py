"""Starts processes meant to outlive the kernel: a double-forked daemon in a new session that
keeps writing, and a background `sleep`. Nothing refuses the fork itself: they must be gone
once the kernel has been shut down."""
SQUARE = None
CELLS = [
    "import os, subprocess, time\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    os.setsid()\n"
    "    if os.fork() == 0:\n"
    "        while True:\n"
    "            with open('heartbeat-@MARKER@.txt', 'a') as f:\n"
    "                f.write('.')\n"
    "            time.sleep(0.2)\n"
    "    os._exit(0)\n"
    "os.waitpid(pid, 0)\n"
    "subprocess.Popen(['sleep', '@SLEEP@'], start_new_session=True)\n"
    "time.sleep(1)\n"
    "print('background processes started')",
]
SCORE = None
REFUSED = ["background processes started"]
NEVER = []
