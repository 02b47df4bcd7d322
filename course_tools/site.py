"""Build the Jupyter Book site into book/_build/html, executing the chapters in one profile.

``python -m course_tools.site build [--profile smoke|cpu|full]`` (what ``make site`` runs).

What this adds to a plain ``jupyter-book build .`` (which also works, with ``_config.yml`` as is):

* **The profile is part of the cache key.** Jupyter Book's execution cache (jupyter-cache)
  matches a notebook by its code alone, so a site executed in ``smoke`` would be served again
  after switching to ``cpu``. The same holds for a change in ``course_utils``, whose code the
  chapters run. So a stamp records the profile and a digest of the ``course_utils`` modules the
  chapters import (directly or through each other: editing the grading code does not re-run
  the book, editing the training loop does); when it differs, the cache is cleared and every page is re-read (``--all``). An unchanged rebuild
  takes every notebook from the cache: seconds, not minutes.
* **No stale success.** After a failed or interrupted build every page is re-read (Sphinx
  would skip an unchanged page whose notebook failed, and the next build would pass), and
  old execution error reports are removed.
* **A per-profile cell timeout** (``execute.timeout``, Jupyter Book's default is 30 s):
  ``TIMEOUTS`` below, or ``$COURSE_CELL_TIMEOUT``.
* **Strict by default.** Warnings are errors (``-W --keep-going``), and a notebook that fails
  to execute is such a warning, so a broken chapter fails the build. ``_config.yml`` itself
  sets ``nb_execution_raise_on_error`` (a plain ``jupyter-book build`` stops at the first
  broken chapter); a strict build here turns that off so that *every* broken chapter is
  reported in one run, and the exit status is still non-zero.

The effective configuration is ``_config.yml`` with those settings applied, written to
``book/_build/_config.effective.yml`` and passed with ``--config``.
"""
from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from course_utils.config import get_profile

BUILD_DIR = Path("book") / "_build"   # relative to the project root

# Seconds one cell may run. cpu: a whole chapter must fit in 5 min, so a cell over 10 min is a
# hang or a regression. full: 30 epochs of VGG-11 on a modest GPU take 10-20 min.
TIMEOUTS = {"smoke": 300, "cpu": 600, "full": 3600}


@dataclass
class BuildResult:
    html: Path                # book/_build/html
    returncode: int           # 0 on success
    seconds: float            # wall time of jupyter-book build
    cache_cleared: bool       # the stamp changed: every notebook was executed afresh
    log: str = ""             # captured output (empty unless capture=True)

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def _imports(source: str, package: Path) -> set[str]:
    """The modules of ``package`` (file stems) that ``source`` imports."""
    code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return {p.stem for p in package.glob("*.py")}   # cannot tell: depend on everything
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:   # relative import inside the package
                base = f"{package.name}.{base}".rstrip(".")
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == package.name:
                stem = parts[1] if len(parts) > 1 else "__init__"
                if (package / f"{stem}.py").exists():
                    found.add(stem)
                found.add("__init__")
    return found


def source_digest(root: Path) -> str:
    """A digest of the course_utils modules the chapters import, directly or through each other."""
    package = root / "course_utils"
    todo = set()
    for notebook in sorted((root / "book").rglob("*.ipynb")):
        if "_build" in notebook.parts:
            continue
        cells = json.loads(notebook.read_text(encoding="utf8")).get("cells", [])
        for cell in cells:
            if cell.get("cell_type") == "code":
                source = cell.get("source", "")
                todo |= _imports("".join(source) if isinstance(source, list) else source, package)
    done: set[str] = set()
    while todo:
        stem = todo.pop()
        if stem in done or not (package / f"{stem}.py").exists():
            continue
        done.add(stem)
        todo |= _imports((package / f"{stem}.py").read_text(encoding="utf8"), package)
    h = hashlib.sha256()
    for stem in sorted(done):
        h.update(stem.encode())
        h.update((package / f"{stem}.py").read_bytes())
    return h.hexdigest()[:16]


def effective_config(profile: str, strict: bool, root: Path) -> dict:
    """``_config.yml`` with the profile's cell timeout and the strict-build settings."""
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf8"))
    timeout = int(os.environ.get("COURSE_CELL_TIMEOUT") or TIMEOUTS[profile])
    config.setdefault("execute", {})["timeout"] = timeout
    if strict:
        sphinx_config = config.setdefault("sphinx", {}).setdefault("config", {})
        sphinx_config["nb_execution_raise_on_error"] = False   # -W fails the build instead
    return config


def _clear_execution_cache(build: Path) -> None:
    for name in (".jupyter_cache", "jupyter_execute"):
        shutil.rmtree(build / name, ignore_errors=True)


def build(profile: str | None = None, strict: bool = True, root: Path | None = None,
          capture: bool = False, check: bool = True, all_pages: bool = False) -> BuildResult:
    """Run ``jupyter-book build`` for the project at ``root`` in ``profile``.

    ``all_pages`` re-reads every page (each notebook is then looked up in the execution cache
    and executed only when it is not there); ``capture`` collects the build output in
    ``BuildResult.log`` instead of streaming it; ``check`` raises
    ``subprocess.CalledProcessError`` when the build fails.
    """
    root = Path(root or Path.cwd()).resolve()
    name = get_profile(profile).name
    build_dir = root / BUILD_DIR
    build_dir.mkdir(parents=True, exist_ok=True)

    stamp_path = build_dir / ".course_stamp.json"
    stamp = {"profile": name, "course_utils": source_digest(root)}
    previous = json.loads(stamp_path.read_text()) if stamp_path.exists() else None
    cache_exists = (build_dir / ".jupyter_cache").exists()
    cache_cleared = previous != stamp and (cache_exists or (build_dir / "html").exists())
    if cache_cleared:
        _clear_execution_cache(build_dir)
    # From here on the cache only receives notebooks executed under this stamp.
    stamp_path.write_text(json.dumps(stamp))
    (build_dir / ".profile").unlink(missing_ok=True)   # the stamp of earlier versions

    config_path = build_dir / "_config.effective.yml"
    config_path.write_text(yaml.safe_dump(effective_config(name, strict, root), sort_keys=False))

    # Sphinx does not re-read a page whose source is unchanged, even if its notebook failed to
    # execute last time: after a failed (or interrupted) build, re-read every page, or the
    # next build would succeed and publish the broken page. Cached notebooks are not re-run.
    incomplete = build_dir / ".course_build_incomplete"
    retry = incomplete.exists()
    incomplete.touch()
    shutil.rmtree(build_dir / "html" / "reports", ignore_errors=True)   # stale error reports

    cmd = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(root),
           "--path-output", str(root / "book"), "--config", str(config_path)]
    if strict:
        cmd += ["--warningiserror", "--keep-going"]
    if cache_cleared or all_pages or retry:
        cmd.append("--all")   # Sphinx would otherwise keep pages rendered from the old outputs

    env = dict(os.environ, COURSE_PROFILE=name)
    # The kernels must draw with the inline backend, or no figure reaches the page
    # (the test suite exports MPLBACKEND=Agg for its own process).
    env.pop("MPLBACKEND", None)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=root, env=env, text=True,
                          stdout=subprocess.PIPE if capture else None,
                          stderr=subprocess.STDOUT if capture else None)
    result = BuildResult(html=build_dir / "html", returncode=proc.returncode,
                         seconds=time.perf_counter() - start, cache_cleared=cache_cleared,
                         log=proc.stdout or "")
    if result.ok:
        incomplete.unlink()
    if check and not result.ok:
        raise subprocess.CalledProcessError(proc.returncode, cmd, output=result.log)
    return result


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree) -> None:
    """Keep one copy of each script tag on a page.

    Sphinx 7.4 registers an inline script added after the builder started (sphinx-thebe's
    ``const THEBE_JS_URL = ...``) twice, once with filename ``None`` and once with ``''``; the
    second declaration is a JavaScript error on every page.
    """
    scripts, seen = context.get("script_files"), set()
    if not scripts:
        return
    unique = []
    for script in scripts:
        key = (getattr(script, "filename", script) or "", getattr(script, "priority", None),
               tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def setup(app):
    """A Sphinx extension (``sphinx.extra_extensions`` in _config.yml): fixes for the built pages."""
    app.connect("html-page-context", _drop_duplicate_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m course_tools.site",
                                     description="Build the course site into book/_build/html.")
    parser.add_argument("command", choices=["build"])
    parser.add_argument("--profile", help="smoke | cpu | full (default: $COURSE_PROFILE, else full on CUDA / cpu)")
    parser.add_argument("--no-strict", action="store_true", help="do not turn warnings into errors")
    args = parser.parse_args(argv)
    try:
        result = build(args.profile, strict=not args.no_strict)
    except subprocess.CalledProcessError as exc:
        sys.exit(f"site build failed (exit {exc.returncode}); see the log above")
    print(f"site built in {result.seconds:.0f} s: {result.html / 'index.html'}")


if __name__ == "__main__":
    main()
