"""A student's submission on disk: which notebook is graded, its fingerprint, and whether nbgrader can read it."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import nbformat

from .notebooks import grade_ids


def submitted_students(root: Path, assignment: str) -> list[str]:
    base = Path(root) / "submitted"
    return sorted(p.parent.name for p in base.glob(f"*/{assignment}") if p.is_dir()) if base.is_dir() else []


def normalise(folder: Path, notebook: str) -> str:
    """Rename a lone notebook with another name to ``<notebook>.ipynb``; return a note or ''."""
    target = folder / f"{notebook}.ipynb"
    if target.exists():
        return ""
    others = sorted((p for p in folder.glob("*.ipynb") if p.is_file()), key=lambda p: p.stat().st_mtime)
    if not others:
        return ""
    newest = others[-1]
    newest.rename(target)
    return f"your notebook {newest.name!r} was graded as {target.name!r}"


def fingerprint(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and ".ipynb_checkpoints" not in p.parts):
        h.update(path.relative_to(folder).as_posix().encode() + b"\0")
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        h.update(b"\0")
    return h.hexdigest()


    return {c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in nb.get("cells", [])} - {None}


def released_ids(root: Path) -> dict[str, set[str]]:
    """``{assignment: grade_ids of its released notebook(s)}`` for every released assignment."""
    ids: dict[str, set[str]] = {}
    for path in sorted((Path(root) / "assignments").glob("*/*.ipynb")):
        try:
            ids.setdefault(path.parent.name, set()).update(grade_ids(nbformat.read(path, as_version=4)))
        except Exception:  # noqa: BLE001 - a broken release elsewhere must not stop this one
            continue
    return ids


def inspect_submission(folder: Path, notebook: str, assignment: str,
                       releases: dict[str, set[str]]) -> tuple[str, str]:
    """``("ok", "")`` for a notebook nbgrader can grade, else ``(status, what the student reads)``."""
    path = folder / f"{notebook}.ipynb"
    if not path.exists():
        found = sorted(p.name for p in folder.iterdir() if p.is_file() and p.name != "timestamp.txt")
        return "no_notebook", (f"no notebook was found in your submission (files: {', '.join(found) or 'none'}). "
                               f"Submit {notebook}.ipynb.")
    raw = path.read_bytes()
    if not raw.strip():
        return "empty", (f"your notebook file is empty ({len(raw)} bytes), so there was nothing to grade. "
                         "Hint: save the notebook in Jupyter (File > Save) before downloading and submitting it.")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return "invalid_json", (f"your notebook file is not valid notebook JSON ({str(exc)[:120]}), so it "
                                "cannot be opened or graded. Hint: a notebook edited in a text editor or cut "
                                "short while uploading looks like this; check that it opens in Jupyter, then submit again.")
    if not (isinstance(data, dict) and isinstance(data.get("nbformat"), int)
            and isinstance(data.get("cells", data.get("worksheets")), list)):
        return "not_notebook", ("the file you submitted is JSON but not a Jupyter notebook (no 'nbformat' "
                                "and 'cells'), so it cannot be graded. Hint: submit the .ipynb file you worked in.")
    try:
        nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
    except Exception as exc:  # noqa: BLE001 - any reader error means the same to the student
        return "not_notebook", f"the file could not be read as a Jupyter notebook ({str(exc)[:160]})."
    # Assignments share some cell ids (setup, written answers): a notebook belongs to the one
    # whose cells it has most of, and must have at least one of this assignment's.
    ids = grade_ids(nb)
    overlap = {a: len(ids & other) for a, other in releases.items()}
    mine = overlap.get(assignment, 0)
    looks_like = [a for a, n in sorted(overlap.items()) if a != assignment and n > mine]
    if assignment in releases and (mine == 0 or looks_like):
        guess = f" It looks like the notebook of {', '.join(looks_like)}." if looks_like else ""
        found = ("none of its graded or answer cells are there" if mine == 0 else
                 f"it has {mine} of the {len(releases[assignment])} cells of {assignment}, fewer than of another assignment")
        return "wrong_assignment", (f"this notebook does not contain the cells of {assignment}: {found}."
                                    f"{guess} Hint: submit the {assignment} "
                                    f"notebook you downloaded and filled in; code pasted into a new notebook "
                                    f"cannot be graded.")
    return "ok", ""
