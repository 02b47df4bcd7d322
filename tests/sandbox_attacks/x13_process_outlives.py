"""Starts a program past the audit hook (see x12): a `sleep` in a session of its own, meant to
outlive the judge. At the cell's end the judge finds it, stops it and flags the attempt; a warm
judge's sandbox would also kill it before the next submission."""
from pathlib import Path
from runpy import run_path

SQUARE = None
CELLS = [run_path(str(Path(__file__).with_name("x12_read_judge_memory.py")))["SPAWN"]
         + "spawn(['/bin/sleep', '@SLEEP@'], setsid=True)\nprint('started')"]
SCORE = 0.0
REFUSED = []
FEEDBACK = ["tampering suspected: student code started a process"]
NEVER = []
