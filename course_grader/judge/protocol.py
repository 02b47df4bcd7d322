"""The judge's channel: one JSON message a line, numbered and authenticated.

The grader starts the judge with a fresh random key on its standard input. Every message of the
judge thread carries a sequence number and an HMAC of its text under that key; the grader
accepts a message only if the HMAC is right and the number is the next one. Lines that the
guard writes from the student thread (``{"flag": ...}``) carry no HMAC: a flag counts however
it arrives, so forging one can only cost its author.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field

MAX_LINE = 64 * 1024     # longer lines are cut by the judge and refused by the grader
MAX_MESSAGE = 2000       # characters of a check's message that reach the feedback


def sign(key: bytes, seq: int, body: dict) -> bytes:
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    mac = hmac.new(key, f"{seq}:{text}".encode(), hashlib.sha256).hexdigest()
    return (json.dumps({"seq": seq, "body": text, "mac": mac}) + "\n").encode()


@dataclass
class Stream:
    """What the grader read from one judge run."""

    messages: list[dict] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    rejected: int = 0           # lines that were neither a valid message nor a flag

    @property
    def done(self) -> bool:
        return bool(self.messages) and self.messages[-1].get("event") == "done"


class Reader:
    """Checks each line of the channel as it arrives (see the module docstring)."""

    def __init__(self, key: bytes):
        self._key = key
        self.stream = Stream()

    def feed(self, line: bytes) -> dict | None:
        """The message ``line`` carries (None for a flag or a refused line)."""
        if len(line) > MAX_LINE:
            self.stream.rejected += 1
            return None
        try:
            outer = json.loads(line)
        except ValueError:
            self.stream.rejected += 1
            return None
        if isinstance(outer, dict) and set(outer) == {"flag"} and isinstance(outer["flag"], str):
            self.stream.flags.append(outer["flag"][:500])
            return None
        try:
            seq, text, mac = outer["seq"], outer["body"], outer["mac"]
            expected = hmac.new(self._key, f"{seq}:{text}".encode(), hashlib.sha256).hexdigest()
            valid = (type(seq) is int and hmac.compare_digest(mac, expected)
                     and seq == len(self.stream.messages))
            body = json.loads(text) if valid else None
        except (KeyError, TypeError, ValueError):
            valid, body = False, None
        if not valid or not isinstance(body, dict):
            self.stream.rejected += 1
            return None
        self.stream.messages.append(body)
        return body
