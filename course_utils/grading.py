"""The ``course`` command: nbgrader's own CLI, configured and wrapped for a whole cohort."""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def assignment_names(root: Path = ROOT) -> list[str]:
    """Every assignment with a source notebook under solutions/."""
    return sorted(p.name for p in (root / "solutions").iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def nbgrader(*args: str, root: Path = ROOT, check: bool = True) -> subprocess.CompletedProcess:
    """Run one nbgrader subcommand in the course root with our config."""
    exe = Path(sys.executable).parent / "nbgrader"
    return subprocess.run([str(exe), *args], cwd=root, check=check)


def release(names: list[str] | None = None, root: Path = ROOT) -> None:
    """``nbgrader generate_assignment`` for each assignment, overwriting assignments/."""
    for name in names or assignment_names(root):
        nbgrader("generate_assignment", name, "--force", "--create", root=root)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="course", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("release", help="nbgrader generate_assignment for all (or the named) assignments")
    p.add_argument("assignments", nargs="*")
    args = parser.parse_args(argv)
    if args.command == "release":
        release(args.assignments or None)


if __name__ == "__main__":
    main()
