"""A student's submission on disk: which notebook is graded, its fingerprint, and whether nbgrader can read it."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from pathlib import Path

import nbformat

from .notebooks import grade_ids


def submitted_students(root: Path, assignment: str) -> list[str]:
    base = Path(root) / "submitted"
    return sorted(p.parent.name for p in base.glob(f"*/{assignment}") if p.is_dir()) if base.is_dir() else []


# What a submission may hold: files (a notebook, weights, timestamp.txt) of at most this size.
FILE_LIMIT = 500 * 1024 ** 2
FOLDER_LIMIT = 1024 ** 3


def regular_files(folder: Path) -> tuple[list[Path], list[str]]:
    """The regular files under ``folder`` (links and special files are never followed), and notes
    on what was left out."""
    files, notes, total = [], [], 0
    for dirpath, dirnames, filenames, dir_fd in os.fwalk(folder, follow_symlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d != ".ipynb_checkpoints")
        for name in sorted(filenames) + [d for d in list(dirnames) if os.path.islink(os.path.join(dirpath, d))]:
            path = Path(dirpath) / name
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            rel = path.relative_to(folder).as_posix()
            if stat.S_ISLNK(st.st_mode):
                notes.append(f"{rel} is a symbolic link: it was not graded (submit the file itself)")
            elif not stat.S_ISREG(st.st_mode):
                notes.append(f"{rel} is not a regular file: it was not graded")
            elif st.st_size > FILE_LIMIT or total + st.st_size > FOLDER_LIMIT:
                notes.append(f"{rel} ({st.st_size / 1024 ** 2:.0f} MB) is over the size limit: it was not graded")
            else:
                total += st.st_size
                files.append(path)
    return files, notes


def _copy_regular(src: Path, dest: Path) -> None:
    fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as f_in, open(dest, "wb") as f_out:
        shutil.copyfileobj(f_in, f_out)
    os.chmod(dest, 0o644)


def stage(folder: Path, dest: Path, notebook: str) -> list[str]:
    """Copy what nbgrader may grade from ``folder`` to ``dest`` (regular files only; the folder
    itself is never changed); a lone notebook with another name becomes ``<notebook>.ipynb``.

    Returns notes for the student (what was renamed or left out).
    """
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    files, notes = regular_files(folder)
    for path in files:
        target = dest / path.relative_to(folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        _copy_regular(path, target)
    target = dest / f"{notebook}.ipynb"
    if not target.exists():
        others = sorted(p for p in dest.glob("*.ipynb") if p.is_file())
        if others:
            newest = max(others, key=lambda p: (os.stat(folder / p.name, follow_symlinks=False).st_mtime, p.name))
            newest.rename(target)
            notes.insert(0, f"your notebook {newest.name!r} was graded as {target.name!r}")
    return notes


def fingerprint(folder: Path) -> str:
    """A digest of the submission's regular files (names and contents)."""
    h = hashlib.sha256()
    files, notes = regular_files(folder)
    for path in files:
        h.update(path.relative_to(folder).as_posix().encode() + b"\0")
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        h.update(b"\0")
    for note in notes:
        h.update(note.encode())
    return h.hexdigest()


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
