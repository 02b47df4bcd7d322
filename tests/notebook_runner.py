"""Execute a notebook the way Jupyter Book and a student do: a fresh kernel, top to bottom."""
from __future__ import annotations

import os
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def execute_notebook(path: str | Path, cwd: str | Path | None = None, profile: str = "smoke",
                     timeout: int = 600, env: dict | None = None) -> tuple[nbformat.NotebookNode, float]:
    """Run every cell (errors raise ``CellExecutionError``); return the executed notebook and its wall time."""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    old = dict(os.environ)
    os.environ.update({"COURSE_PROFILE": profile, **(env or {})})
    try:
        start = time.perf_counter()
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(cwd or path.parent)}}).execute()
        return nb, time.perf_counter() - start
    finally:
        os.environ.clear()
        os.environ.update(old)


def outputs_text(nb: nbformat.NotebookNode) -> str:
    """All stream and text/plain outputs of a notebook, joined. Consecutive pieces of one stream
    are rejoined as printed: the kernel flushes stdout on a timer, so one cell's prints may
    arrive as several outputs."""
    parts = []
    for cell in nb.cells:
        stream = None
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                if stream == out.get("name"):
                    parts[-1] += out.get("text", "")
                else:
                    parts.append(out.get("text", ""))
                stream = out.get("name")
                continue
            stream = None
            if "data" in out:
                parts.append(out["data"].get("text/plain", ""))
    return "\n".join(parts)


def count_images(nb: nbformat.NotebookNode) -> int:
    return sum(1 for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {}))
