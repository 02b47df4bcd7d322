"""Processes of the sandbox's uid, as the sandbox's own ``/proc`` (its PID namespace) shows them.

The owner of ``/proc/<pid>`` is root for a process that is not dumpable, so the real uid is read
from ``/proc/<pid>/status``.
"""
from __future__ import annotations

import os


def of_uid(uid: int, exclude: set[int]) -> dict[int, str]:
    """``{pid: command line}`` of the processes whose real uid is ``uid``, but those in ``exclude``."""
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) in exclude:
            continue
        try:
            with open(f"/proc/{entry.name}/status", "rb") as f:
                status = f.read()
            with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                cmdline = f.read(300)
        except OSError:
            continue                      # ended meanwhile
        uids = next((line.split()[1:] for line in status.splitlines() if line.startswith(b"Uid:")), [])
        if uids and int(uids[0]) == uid:
            found[int(entry.name)] = cmdline.replace(b"\0", b" ").decode(errors="replace").strip()
    return found
