"""Build the Jupyter Book site into book/_build/html, executing chapters in the active profile."""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from .config import get_profile

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "book" / "_build"


def build(profile: str | None = None, strict: bool = True) -> Path:
    """Run ``jupyter-book build``; a failing chapter fails the build.

    Execution results are cached per notebook content, not per profile, so switching
    profile clears the cache rather than publishing another profile's outputs.
    """
    name = get_profile(profile).name
    stamp = BUILD / ".profile"
    if stamp.exists() and stamp.read_text().strip() != name:
        shutil.rmtree(BUILD / ".jupyter_cache", ignore_errors=True)
        shutil.rmtree(BUILD / "jupyter_execute", ignore_errors=True)
    cmd = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(ROOT),
           "--path-output", str(ROOT / "book")]
    if strict:
        cmd += ["--warningiserror", "--keep-going"]
    env = {**__import__("os").environ, "COURSE_PROFILE": name}
    subprocess.run(cmd, check=True, env=env)
    stamp.write_text(name)
    return BUILD / "html"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m course_utils.site", description=__doc__)
    parser.add_argument("command", choices=["build"])
    parser.add_argument("--profile", help="smoke | cpu | full (default: $COURSE_PROFILE)")
    parser.add_argument("--no-strict", action="store_true", help="do not turn warnings into errors")
    args = parser.parse_args(argv)
    try:
        print(f"site built: {build(args.profile, strict=not args.no_strict)}/index.html")
    except subprocess.CalledProcessError as exc:
        sys.exit(f"site build failed (exit {exc.returncode}); see the log above")


if __name__ == "__main__":
    main()
