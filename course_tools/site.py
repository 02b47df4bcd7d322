"""Build the Jupyter Book site into book/_build/html, executing the chapters in one profile.

``python -m course_tools.site build [--profile smoke|cpu|full]`` (what ``make site`` runs);
``python -m course_tools.site execute NOTEBOOK...`` runs chapters into the build's execution
cache without building (the next build then takes them from there).

What this adds to a plain ``jupyter-book build .`` (which also works, with ``_config.yml`` as is):

* **Only a complete build is published.** jupyter-book writes into a staging folder
  (``book/_build/.staging``); ``book/_build/html`` is replaced, by a rename, only when the
  build succeeded. A failed, interrupted or timed-out build leaves the previous site (or none)
  in place, and execution error reports (``reports/*.err.log``, with absolute paths) are never
  copied into it.
* **The profile is part of the cache key.** Jupyter Book's execution cache (jupyter-cache,
  ``book/_build/.jupyter_cache``) matches a notebook by its code alone, so a site executed in
  ``smoke`` would be served again after switching to ``cpu``. The same holds for a change in
  ``course_utils``, whose code the chapters run. So a stamp records the profile and a digest
  of the ``course_utils`` modules the chapters import (directly or through each other: editing
  the grading code does not re-run the book, editing the training loop does); when it
  differs, the cache is cleared and every page is re-read (``--all``). An unchanged rebuild
  takes every notebook from the cache: seconds, not minutes.
* **One execution per notebook.** :func:`execute` runs a chapter exactly as the build would
  (same working directory, cell timeout and kernel environment) and stores it in the same
  cache, so a test that needs a chapter's outputs and the site build share one run.
* **No stale success.** After a failed or interrupted build every page is re-read (Sphinx
  would skip an unchanged page whose notebook failed, and the next build would pass).
* **A per-profile cell timeout** (``execute.timeout``, Jupyter Book's default is 30 s): the
  profile's ``site_cell_timeout_s`` (``course_utils.profiles``), or ``$COURSE_CELL_TIMEOUT``;
  ``--timeout`` bounds the whole build.
* **Strict by default.** Warnings are errors (``-W --keep-going``), and a notebook that fails
  to execute is such a warning, so a broken chapter fails the build. ``_config.yml`` itself
  sets ``nb_execution_raise_on_error`` (a plain ``jupyter-book build`` stops at the first
  broken chapter); a strict build here turns that off so that *every* broken chapter is
  reported in one run, and the exit status is still non-zero.

The effective configuration is ``_config.yml`` with those settings applied, written to
``book/_build/_config.effective.yml`` and passed with ``--config``.

This module is also a Sphinx extension (``sphinx.extra_extensions`` in ``_config.yml``) that
makes the pages work offline and on a phone; see :func:`setup`.
"""
from __future__ import annotations

import argparse
import ast
import hashlib
import importlib.util
import json
import os
import posixpath
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

BUILD_DIR = Path("book") / "_build"   # relative to the project root
STAGING = ".staging"                   # jupyter-book's --path-output, inside BUILD_DIR
CACHE = ".jupyter_cache"               # the execution cache, inside BUILD_DIR

@dataclass
class BuildResult:
    html: Path                # book/_build/html: the published site (only a complete build lands here)
    returncode: int           # 0 on success; 124 when the whole build ran past its timeout
    seconds: float            # wall time of jupyter-book build
    cache_cleared: bool       # the stamp changed: every notebook was executed afresh
    log: str = ""             # captured output (empty unless capture=True)
    staged: Path | None = None   # where this attempt was written (book/_build/.staging/_build/html)

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class ExecutionFailed(RuntimeError):
    """A notebook raised (or timed out) while :func:`execute` ran it; the message has the traceback."""


# --- The execution cache and its stamp ----------------------------------------------------------

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


def cell_timeout(profile: str) -> int:
    """Seconds one chapter cell may run while the site is built."""
    from course_utils.profiles import PROFILES
    return int(os.environ.get("COURSE_CELL_TIMEOUT") or PROFILES[profile].site_cell_timeout_s)


def _profile_name(profile: str | None) -> str:
    from course_utils.config import get_profile   # imports torch: only where a profile is chosen
    return get_profile(profile).name


def _prepare_cache(root: Path, profile: str) -> bool:
    """Clear the execution cache when it was filled under another stamp; True if it was cleared."""
    build_dir = root / BUILD_DIR
    build_dir.mkdir(parents=True, exist_ok=True)
    stamp_path = build_dir / ".course_stamp.json"
    stamp = {"profile": profile, "course_utils": source_digest(root)}
    previous = json.loads(stamp_path.read_text()) if stamp_path.exists() else None
    cleared = previous != stamp and any((build_dir / p).exists() for p in (CACHE, STAGING, "html"))
    if cleared:   # the pages read from the old outputs (the staging doctrees) go with them
        for stale in (CACHE, STAGING):
            shutil.rmtree(build_dir / stale, ignore_errors=True)
    # From here on the cache only receives notebooks executed under this stamp.
    stamp_path.write_text(json.dumps(stamp))
    # What earlier versions of this module left beside the cache.
    for legacy in (".profile", ".doctrees", "jupyter_execute"):
        path = build_dir / legacy
        path.unlink() if path.is_file() else shutil.rmtree(path, ignore_errors=True)
    return cleared


def _kernel_env(profile: str, extra: dict | None = None) -> dict:
    """The environment of the build and of every kernel it starts (``extra`` on top)."""
    env = dict(os.environ, **(extra or {}), COURSE_PROFILE=profile)
    # The kernels must draw with the inline backend, or no figure reaches the page
    # (the test suite selects Agg for its own process).
    env.pop("MPLBACKEND", None)
    return env


def _execute_into_cache(root: Path, notebooks: list[Path], timeout: int) -> list[dict]:
    """Run each notebook not yet in the cache the way myst-nb's ``cache`` mode does, and store it."""
    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn
    from jupyter_cache.executors.utils import single_nb_execution

    cache = get_cache(str(root / BUILD_DIR / CACHE))
    done = []
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        try:
            cache.match_cache_notebook(nb)
            done.append({"path": str(path), "executed": False})
            continue
        except KeyError:
            pass
        uri = cache.add_nb_to_project(str(path)).uri
        result = single_nb_execution(nb, cwd=str(path.parent), timeout=timeout, allow_errors=False,
                                     meta_override=True)
        if result.err is not None:
            done.append({"path": str(path), "executed": True, "error": result.exc_string})
            continue
        cache.cache_notebook_bundle(CacheBundleIn(nb, uri, data={"execution_seconds": result.time}),
                                    check_validity=False, overwrite=True)
        done.append({"path": str(path), "executed": True, "seconds": result.time})
    return done


def execute(notebooks, profile: str | None = None, root: Path | None = None,
            env: dict | None = None) -> list[dict]:
    """Execute chapter notebooks into the build's cache, each only if it is not cached already.

    The run is the build's own (a kernel in the notebook's folder, the profile's cell timeout,
    the build's environment, plus ``env``), in a separate process; the next :func:`build` takes these
    notebooks from the cache. Returns one ``{"path", "executed"[, "seconds"]}`` per notebook;
    raises :class:`ExecutionFailed` with the cell's traceback when one fails.
    """
    root = Path(root or Path.cwd()).resolve()
    name = _profile_name(profile)
    paths = [str(Path(p).resolve()) for p in notebooks]
    _prepare_cache(root, name)
    cmd = [sys.executable, "-m", "course_tools.site", "_execute", "--root", str(root),
           "--timeout", str(cell_timeout(name)), *paths]
    proc = subprocess.run(cmd, cwd=root, env=_kernel_env(name, env), capture_output=True, text=True)
    if proc.returncode != 0:
        raise ExecutionFailed(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr[-4000:]}")
    done = json.loads(proc.stdout.strip().splitlines()[-1])
    for item in done:
        if item.get("error"):
            raise ExecutionFailed(f"{item['path']} failed in profile {name}:\n{item['error']}")
    return done


def cached_notebook(root: Path, notebook: Path):
    """``(executed notebook, seconds it took)`` from the build's cache, or None when not there."""
    import nbformat
    from jupyter_cache import get_cache

    cache_dir = Path(root) / BUILD_DIR / CACHE
    if not cache_dir.exists():
        return None
    cache = get_cache(str(cache_dir))
    try:
        pk, nb = cache.merge_match_into_notebook(nbformat.read(notebook, as_version=4))
    except KeyError:
        return None
    return nb, cache.get_cache_record(pk).data.get("execution_seconds")


# --- The build -----------------------------------------------------------------------------------

def effective_config(profile: str, strict: bool, root: Path) -> dict:
    """``_config.yml`` with the profile's cell timeout, the cache's place and the strict settings."""
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf8"))
    execute_config = config.setdefault("execute", {})
    execute_config["timeout"] = cell_timeout(profile)
    execute_config["cache"] = str(root / BUILD_DIR / CACHE)   # outside the staging folder: kept
    if strict:
        sphinx_config = config.setdefault("sphinx", {}).setdefault("config", {})
        sphinx_config["nb_execution_raise_on_error"] = False   # -W fails the build instead
    return config


def _publish(staged: Path, published: Path) -> None:
    """Replace ``published`` by a copy of ``staged`` (without error reports), swapped in by renames."""
    fresh, old = published.with_name(".html.new"), published.with_name(".html.old")
    for path in (fresh, old):
        shutil.rmtree(path, ignore_errors=True)
    shutil.copytree(staged, fresh, ignore=lambda d, names: ["reports"] if Path(d) == staged else [])
    if published.exists():
        published.rename(old)
    fresh.rename(published)
    shutil.rmtree(old, ignore_errors=True)


def _run(cmd: list[str], cwd: Path, env: dict, capture: bool, timeout: float | None) -> tuple[int, str]:
    """Run the build in its own process group, so that a timeout also ends its kernels."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, text=True, start_new_session=True,
                            stdout=subprocess.PIPE if capture else None,
                            stderr=subprocess.STDOUT if capture else None)
    try:
        out, _ = proc.communicate(timeout=timeout)
        return proc.returncode, out or ""
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
        return 124, (out or "") + f"\nsite build stopped after its timeout of {timeout:.0f} s\n"
    except BaseException:   # Ctrl-C: take the kernels down with the build
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise


def build(profile: str | None = None, strict: bool = True, root: Path | None = None,
          capture: bool = False, check: bool = True, all_pages: bool = False,
          timeout: float | None = None, env: dict | None = None) -> BuildResult:
    """Run ``jupyter-book build`` for the project at ``root`` in ``profile``; publish only success.

    ``all_pages`` re-reads every page (each notebook is then looked up in the execution cache
    and executed only when it is not there); ``capture`` collects the build output in
    ``BuildResult.log`` instead of streaming it; ``timeout`` (seconds) stops the whole build;
    ``env`` adds to the environment of the build and its kernels; ``check`` raises ``subprocess.CalledProcessError`` when the build fails.
    """
    root = Path(root or Path.cwd()).resolve()
    name = _profile_name(profile)
    build_dir = root / BUILD_DIR
    cache_cleared = _prepare_cache(root, name)

    config_path = build_dir / "_config.effective.yml"
    config_path.write_text(yaml.safe_dump(effective_config(name, strict, root), sort_keys=False))

    # Sphinx does not re-read a page whose source is unchanged, even if its notebook failed to
    # execute last time: after a failed (or interrupted) build, re-read every page, or the
    # next build would succeed and publish the broken page. Cached notebooks are not re-run.
    incomplete = build_dir / ".course_build_incomplete"
    retry = incomplete.exists()
    incomplete.touch()
    staging = build_dir / STAGING
    staged = staging / "_build" / "html"
    shutil.rmtree(staged / "reports", ignore_errors=True)   # stale error reports

    cmd = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(root),
           "--path-output", str(staging), "--config", str(config_path)]
    if strict:
        cmd += ["--warningiserror", "--keep-going"]
    if cache_cleared or all_pages or retry:
        cmd.append("--all")   # Sphinx would otherwise keep pages rendered from the old outputs

    start = time.perf_counter()
    returncode, log = _run(cmd, root, _kernel_env(name, env), capture, timeout)
    result = BuildResult(html=build_dir / "html", returncode=returncode,
                         seconds=time.perf_counter() - start, cache_cleared=cache_cleared,
                         log=log, staged=staged)
    if result.ok and not (staged / "index.html").exists():
        result.returncode, result.log = 1, log + f"\nno {staged / 'index.html'}: nothing to publish\n"
    if result.ok:
        _publish(staged, result.html)
        incomplete.unlink()
    if check and not result.ok:
        raise subprocess.CalledProcessError(result.returncode, cmd, output=result.log)
    return result


def copy_project(destination: Path, root: Path) -> Path:
    """Copy what a fresh clone of ``root`` would hold (tracked files and new ones git does not
    ignore) to ``destination``: a place to build without touching ``root/book/_build``."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                            cwd=root, check=True, capture_output=True, text=True).stdout
    for rel in filter(None, listed.split("\0")):
        if (root / rel).is_file():
            (destination / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / rel, destination / rel)
    return destination


# --- The Sphinx extension: pages that work offline and on a phone --------------------------------

MATHJAX_BUNDLE = "tex-mml-chtml.js"   # what Sphinx loads from its CDN by default
WIDGET_VIEW = '<script type="application/vnd.jupyter.widget-view+json">'


def _mathjax_source() -> Path | None:
    """MathJax 3's browser build as installed by pip (django-static-mathjax ships it, no Django needed)."""
    spec = importlib.util.find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        return None
    es5 = Path(next(iter(spec.submodule_search_locations))) / "static" / "mathjax" / "es5"
    return es5 if (es5 / MATHJAX_BUNDLE).exists() else None


def _serve_mathjax_locally(app, config) -> None:
    """Load MathJax from the site itself, not from a CDN (readers offline would see raw TeX)."""
    from sphinx.ext.mathjax import MATHJAX_URL
    from sphinx.util import logging

    if config.mathjax_path != MATHJAX_URL:
        return   # the project chose its own
    source = _mathjax_source()
    if source is None:
        logging.getLogger(__name__).warning(
            "MathJax is not installed (pip install django-static-mathjax): formulas would load it "
            "from a CDN and show as raw TeX offline", type="course", subtype="mathjax")
        return
    config.mathjax_path = f"mathjax/{MATHJAX_BUNDLE}"   # relative to _static/
    app.course_mathjax = source


def _copy_mathjax(app, exception) -> None:
    source = getattr(app, "course_mathjax", None)
    if exception is not None or source is None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"

    def skip(folder, names):
        # The other combined bundles and the SVG output are never loaded by this one.
        if Path(folder) == source:
            return [n for n in names if n.endswith(".js") and n != MATHJAX_BUNDLE]
        return ["svg", "svg.js"] if Path(folder) == source / "output" else []
    if not (target / MATHJAX_BUNDLE).exists():
        shutil.copytree(source, target, ignore=skip, dirs_exist_ok=True)


def _drop_saved_widgets(app, doctree) -> None:
    """Remove saved ipywidgets (tqdm's notebook progress bars) from a page.

    A static page cannot drive them: they would load require.js and the widget manager from a
    CDN (errors offline) to show a frozen "98% 39/40". The text a chapter prints stays.
    """
    from docutils import nodes

    for raw in list(doctree.findall(nodes.raw)):
        if raw.astext().lstrip().startswith(WIDGET_VIEW):
            parent = raw.parent
            parent.remove(raw)
            while isinstance(parent, nodes.container) and not parent.children and parent.parent:
                parent, child = parent.parent, parent
                parent.remove(child)
    js_files = getattr(app.env, "nb_metadata", {}).get(app.env.docname, {}).get("js_files", {})
    for key in [k for k in js_files if k.startswith("ipywidgets")]:
        del js_files[key]


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


def _repository(config) -> tuple[str, str]:
    options = config.html_theme_options
    return options.get("repository_url", "").rstrip("/"), options.get("repository_branch") or "main"


def launch_urls(config, path: str) -> dict[str, str]:
    """Colab and Binder links for a notebook at ``path`` in the repository (``_config.yml``)."""
    url, branch = _repository(config)
    providers = config.html_theme_options.get("launch_buttons", {})
    github = url.removeprefix("https://github.com/")
    links = {}
    if providers.get("colab_url") and github != url:
        links["Colab"] = f"{providers['colab_url'].rstrip('/')}/github/{github}/blob/{branch}/{path}"
    if providers.get("binderhub_url") and github != url:
        links["Binder"] = (f"{providers['binderhub_url'].rstrip('/')}/v2/gh/{github}/{branch}"
                           f"?urlpath=lab/tree/{path}")
    return links


def _released_notebook(app, pagename, doctree):
    """``(repository path, built download path)`` of the notebook a page offers, if it offers one."""
    from sphinx import addnodes

    for ref in (doctree.findall(addnodes.download_reference) if doctree is not None else ()):
        if ref.get("reftarget", "").endswith(".ipynb") and ref.get("filename"):
            page_dir = posixpath.dirname(app.env.doc2path(pagename, base=False))
            path = posixpath.normpath(posixpath.join(page_dir, ref["reftarget"]))
            return path, f"_downloads/{ref['filename']}"
    return None


def _notebook_buttons(app, pagename, templatename, context, doctree) -> None:
    """On a page that offers a notebook (an assignment), the header's download button offers that
    notebook instead of the page's Markdown source, and launch buttons open it in Colab/Binder."""
    found = _released_notebook(app, pagename, doctree)
    buttons = context.get("header_buttons")
    if not found or buttons is None:
        return
    path, download = found
    name = posixpath.basename(path)
    for group in buttons:
        if group.get("label") == "download-buttons":
            group["buttons"] = [{"type": "link", "url": context["pathto"](download, 1), "text": name,
                                 "tooltip": f"Download {name}", "icon": "fas fa-code",
                                 "label": "download-notebook-button"}] + [
                b for b in group["buttons"] if b.get("label") == "download-pdf-button"]
    links = launch_urls(app.config, path)
    if links and not any(g.get("label") == "launch-buttons" for g in buttons):
        icons = {"Colab": "_static/images/logo_colab.png", "Binder": "_static/images/logo_binder.svg"}
        buttons.insert(0, {"type": "group", "tooltip": "Launch interactive content",
                           "icon": "fas fa-rocket", "label": "launch-buttons",
                           "buttons": [{"type": "link", "text": text, "url": url,
                                        "tooltip": f"Open {name} in {text}", "icon": icons[text]}
                                       for text, url in links.items()]})


def _colab_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """``{colab}`assignments/a1_vgg/a1_vgg.ipynb``` -> an "Open in Colab" link built from _config.yml."""
    from docutils import nodes

    config = inliner.document.settings.env.config
    url = launch_urls(config, text.strip()).get("Colab")
    if url is None:
        message = inliner.reporter.error(f"no Colab link for {text}: launch_buttons.colab_url and a "
                                         "GitHub repository.url are needed in _config.yml", line=lineno)
        return [inliner.problematic(rawtext, rawtext, message)], [message]
    return [nodes.reference(rawtext, "Open in Colab", refuri=url, classes=["colab-link"])], []


def record_line(name: str, profile: str) -> str:
    """What a page says about the recorded run ``name`` in ``profile``: time, device, accuracy."""
    from course_utils import records
    record = records.load(name, profile)
    if record is None:
        return f"not measured yet (no {profile}-profile record)"
    epochs = f"{record.epochs} epoch{'s' if record.epochs != 1 else ''}"
    return (f"{epochs} in {record.wall_s:,.0f} s on {record.device}: "
            f"{100 * record.test_accuracy:.1f} % ({record.date[:10]}, {record.data_variant})")


def _record_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """``{record}`a1_vgg/cpu``` -> the recorded reference run's time, device and accuracy."""
    from docutils import nodes

    run, _, profile = text.strip().partition("/")
    try:
        line = record_line(run, profile)
    except ValueError as error:
        message = inliner.reporter.error(f"{{record}}`{text}`: {error}", line=lineno)
        return [inliner.problematic(rawtext, rawtext, message)], [message]
    return [nodes.inline(rawtext, line, classes=["course-record"])], []


def _check_install_lines(app) -> None:
    """Every notebook's ``%pip install`` line must name the repository of ``_config.yml``."""
    from sphinx.util import logging

    from course_tools import repo_url
    url, branch = _repository(app.config)
    if not url:
        return
    for path, found, expected in repo_url.disagreements(Path(app.srcdir), url, branch):
        logging.getLogger(__name__).warning(
            f"{path}: the install line names {found!r}, but _config.yml's repository is {expected!r} "
            "(python -m course_tools.repo_url set URL rewrites every notebook)",
            type="course", subtype="repo_url")


def setup(app):
    """A Sphinx extension: fixes and additions for the built pages (see each function)."""
    app.connect("config-inited", _serve_mathjax_locally)
    app.connect("builder-inited", _check_install_lines)
    app.connect("doctree-read", _drop_saved_widgets)
    app.connect("html-page-context", _drop_duplicate_scripts)
    app.connect("html-page-context", _notebook_buttons, priority=510)   # after sphinx-book-theme's
    app.connect("build-finished", _copy_mathjax)
    app.add_role("colab", _colab_role)
    app.add_role("record", _record_role)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m course_tools.site",
                                     description="Build the course site into book/_build/html.")
    commands = parser.add_subparsers(dest="command", required=True)
    build_cmd = commands.add_parser("build", help="build the site; publish it only if complete")
    execute_cmd = commands.add_parser("execute", help="run chapters into the build's execution cache")
    for sub in (build_cmd, execute_cmd):
        sub.add_argument("--profile", help="smoke | cpu | full (default: $COURSE_PROFILE, else full on CUDA / cpu)")
    build_cmd.add_argument("--no-strict", action="store_true", help="do not turn warnings into errors")
    build_cmd.add_argument("--timeout", type=float, help="stop the whole build after this many seconds")
    execute_cmd.add_argument("notebooks", nargs="+", type=Path)
    internal = commands.add_parser("_execute")   # the process execute() starts
    internal.add_argument("--root", type=Path, required=True)
    internal.add_argument("--timeout", type=int, required=True)
    internal.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    if args.command == "_execute":
        print(json.dumps(_execute_into_cache(args.root, args.notebooks, args.timeout)))
        return
    if args.command == "execute":
        try:
            for item in execute(args.notebooks, args.profile):
                print(f"{item['path']}: " + (f"executed in {item['seconds']:.0f} s" if item["executed"]
                                             else "already in the cache"))
        except ExecutionFailed as exc:
            sys.exit(str(exc))
        return
    try:
        result = build(args.profile, strict=not args.no_strict, timeout=args.timeout)
    except subprocess.CalledProcessError as exc:
        sys.exit(f"site build failed (exit {exc.returncode}); nothing was published; see the log above")
    print(f"site built in {result.seconds:.0f} s: {result.html / 'index.html'}")


if __name__ == "__main__":
    main()
