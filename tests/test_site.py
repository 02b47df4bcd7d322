"""The published site: built once per session in smoke, then checked as files, over HTTP and in
Chromium (offline, at a phone's and a desktop's width).

The build goes to a temporary copy of the project (conftest's ``course_copy``), never to the
repository's own book/_build, and shares each chapter's execution with the chapter tests.
Tests that build tiny projects of their own show what a failed build publishes: nothing.
"""
from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import struct
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlparse

import nbformat
import pytest
import yaml
from bs4 import BeautifulSoup

from conftest import REPOSITORY_BUILD_AT_START, build_state, course_copy
from course_tools import repo_url, site

pytestmark = pytest.mark.timeout(3600)   # the first test waits for the whole smoke build

ROOT = Path(__file__).resolve().parent.parent
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
ANSI = re.compile(r"\x1b\[[0-9;]*m")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"]
PHONE, DESKTOP = {"width": 390, "height": 844}, {"width": 1280, "height": 900}


def _entries(items):
    for item in items or []:
        yield item["file"]
        yield from _entries(item.get("sections"))


def toc_pages() -> list[str]:
    """Every page of the toc, in reading order, as 'book/01_cnn_basics' (no suffix)."""
    pages = [TOC["root"]]
    for part in TOC.get("parts", []):
        pages += _entries(part["chapters"])
    return pages + list(_entries(TOC.get("chapters")))


def toc_part(caption: str) -> list[str]:
    part = next(p for p in TOC["parts"] if p["caption"] == caption)
    return list(_entries(part["chapters"]))


PAGES = toc_pages()
CHAPTERS = toc_part("Chapters")
ASSIGNMENT_PAGES = toc_part("Assignments")[1:]


def source_of(page: str) -> Path:
    return next(ROOT / f"{page}{s}" for s in (".ipynb", ".md") if (ROOT / f"{page}{s}").exists())


def build_site_once() -> site.BuildResult:
    """The smoke build every site test looks at (test_leaks.py scans it too)."""
    return course_copy.build()


def soup(page: str) -> BeautifulSoup:
    return BeautifulSoup((build_site_once().html / f"{page}.html").read_text(encoding="utf8"), "html.parser")


@pytest.fixture(scope="session")
def built() -> site.BuildResult:
    result = build_site_once()
    if not (result.html / "index.html").exists():
        pytest.fail("the site was not built at all:\n" + result.log[-6000:])
    return result


def built_project(result: site.BuildResult) -> Path:
    """The project a build read (its html is project/book/_build/html)."""
    return result.html.parents[len(site.BUILD_DIR.parts)]


def problems(log: str) -> str:
    return "\n".join(line for line in log.splitlines()
                     if re.search(r"WARNING|ERROR|Error|failed", line) and "IPKernelApp" not in line)


def test_site_builds_without_warnings_or_errors(built):
    assert built.ok, f"jupyter-book build exited {built.returncode}:\n{problems(built.log)[-8000:]}"
    assert not (built.html / "reports").exists(), "execution error reports were published"
    assert built.html.resolve().is_relative_to(course_copy.root), "the tests built outside their copy"


def test_toc_has_chapters_assignments_and_instructor_guide():
    captions = [p["caption"] for p in TOC["parts"]]
    assert captions[:3] == ["Chapters", "Assignments", "Instructor guide"]
    assert len(CHAPTERS) >= 5
    assert [Path(p).name for p in ASSIGNMENT_PAGES] == ["a1_vgg", "a2_finetune", "a3_inception", "a4_resnet"]
    assert not [p for p in PAGES if not p.startswith("book/")], "every page lives under book/"


@pytest.mark.parametrize("page", PAGES)
def test_every_toc_page_has_a_source_and_is_built(built, page):
    assert source_of(page).exists()
    assert (built.html / f"{page}.html").stat().st_size > 0


@pytest.mark.parametrize("page", PAGES)
def test_page_has_no_traceback_or_error_output(built, page):
    doc = soup(page)
    tracebacks = doc.select(".cell_output .traceback, .cell_output .output.error")
    assert not tracebacks, f"{page}: error output cell:\n{tracebacks[0].get_text()[:2000]}"
    for stream in doc.select(".cell_output .stderr"):
        text = stream.get_text()
        assert not re.search(r"Traceback|\w+(Error|Exception):", text), f"{page}: error on stderr:\n{text[:2000]}"
    assert "Traceback (most recent call last)" not in doc.get_text()


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize("page", CHAPTERS)
def test_chapter_page_shows_a_plot(built, page):
    images = [img for img in soup(page).select(".cell_output img") if img["src"].endswith(".png")]
    assert images, f"{page}: no plot in any cell output (every chapter shows at least one)"
    for img in images:
        width, height = png_size((built.html / page).parent / img["src"])
        assert width > 50 and height > 50, f"{page}: {img['src']} is {width}x{height}"


def repository() -> tuple[str, str]:
    return urlparse(CONFIG["repository"]["url"]).path.strip("/"), CONFIG["repository"]["branch"]


@pytest.mark.parametrize("page", CHAPTERS)
def test_chapter_page_has_launch_and_download_buttons(built, page):
    doc = soup(page)
    hrefs = {a.get("href", "") for a in doc.select("a")}
    repo, branch = repository()
    colab = f"https://colab.research.google.com/github/{repo}/blob/{branch}/{page}.ipynb"
    assert colab in hrefs, f"{page}: no Colab launch button ({colab})"
    binder = [h for h in hrefs if h.startswith(f"https://mybinder.org/v2/gh/{repo}/{branch}?urlpath=")]
    assert binder and binder[0].endswith(f"{page}.ipynb"), f"{page}: no Binder launch button"
    download = [h for h in hrefs if h.endswith(f"_sources/{page}.ipynb")]
    assert download, f"{page}: no download button for the notebook"
    notebook = nbformat.read((built.html / page).parent / download[0], as_version=4)
    source = built_project(built) / source_of(page).relative_to(ROOT)
    assert notebook.cells[0].source == nbformat.read(source, as_version=4).cells[0].source


@pytest.mark.parametrize("page", ASSIGNMENT_PAGES)
def test_assignment_page_opens_and_downloads_the_released_notebook(built, page):
    """Colab (body and header) and download buttons for assignments/aK/aK.ipynb, not the .md."""
    name = Path(page).name
    release = f"assignments/{name}/{name}.ipynb"
    doc = soup(page)
    hrefs = [a.get("href", "") for a in doc.select("a")]
    repo, branch = repository()
    colab = f"https://colab.research.google.com/github/{repo}/blob/{branch}/{release}"
    assert hrefs.count(colab) >= 2, f"{page}: no Colab button for {release} in the page and its header"
    header = [a.get("href", "") for a in doc.select(".dropdown-download-buttons a, .dropdown-launch-buttons a")]
    assert not [h for h in header if h.endswith(".md")], f"{page}: the header offers the Markdown source {header}"
    downloads = [h for h in hrefs if re.search(rf"_downloads/\w+/{name}\.ipynb$", h)]
    assert downloads and any(h in header for h in downloads), f"{page}: no download of {name}.ipynb in the header"
    for href in set(downloads):
        assert ((built.html / page).parent / href).read_bytes() == (built_project(built) / release).read_bytes()
    text = " ".join(doc.select_one("article").get_text().split())
    assert "%env COURSE_PROFILE=" in text, f"{page}: does not say how to choose a profile"
    from course_tools.site import record_line
    for profile in ("smoke", "cpu", "full"):   # the measured training time, from the records
        assert record_line(name, profile) in text, f"{page}: no {profile} record line"


def test_assignments_index_says_how_to_choose_a_profile_and_what_each_costs(built):
    text = " ".join(soup("book/assignments/index").select_one("article").get_text().split())
    assert "%env COURSE_PROFILE=cpu" in text
    for profile in ("smoke", "cpu", "full"):
        assert re.search(rf"\b{profile}\b", text), profile


def test_pages_with_formulas_load_mathjax_from_the_site(built):
    """Formulas are written $...$ / $$...$$ and rendered by MathJax, served by the site itself."""
    with_math = []
    for page in PAGES:
        doc = soup(page)
        if doc.select(".math"):
            with_math.append(page)
            scripts = [s.get("src", "") for s in doc.select("script")]
            mathjax = [s for s in scripts if "mathjax" in s.lower()]
            assert mathjax, f"{page} has formulas but no MathJax script"
            assert not [s for s in mathjax if "://" in s], f"{page} loads MathJax from elsewhere: {mathjax}"
            assert ((built.html / page).parent / mathjax[0].split("?")[0]).is_file()
        for literal in doc.select("article code, article pre, article .math, article .cell_output"):
            literal.decompose()   # `$TORCH_HOME` in code is not a formula
        text = "\n".join(t.get_text() for t in doc.select("article p"))
        assert not re.search(r"\$[^$\s][^$]*\$", text), f"{page}: a $formula$ was not parsed as math"
    assert with_math, "no page has a formula (chapters use $...$ for the output-size formula, H(x) = F(x) + x ...)"


def test_pages_load_no_widget_scripts(built):
    """Saved progress-bar widgets are not published: no require.js, no widget manager, no state."""
    for page in PAGES:
        html = (built.html / f"{page}.html").read_text(encoding="utf8")
        for needle in ("require.min.js", "embed-amd.js", "application/vnd.jupyter.widget"):
            assert needle not in html, f"{page}: {needle}"


def test_site_never_contains_solution_notebooks(built):
    solution_sources = [p.read_bytes() for p in (ROOT / "solutions").rglob("*.ipynb")]
    for path in built.html.rglob("*"):
        relative = path.relative_to(built.html)
        assert "solutions" not in relative.parts, f"published: {relative}"
        if path.is_file() and path.suffix == ".ipynb":
            assert path.read_bytes() not in solution_sources, f"{relative} is a solutions/ notebook"
    assert not [p for p in PAGES if p.startswith(("solutions", "assignments"))]
    assert {"solutions", "assignments"} <= set(CONFIG["exclude_patterns"])


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def server(built):
    """The built site served by http.server on 127.0.0.1 (an ephemeral port)."""
    handler = functools.partial(_QuietHandler, directory=str(built.html))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def test_every_page_is_served_and_every_internal_link_resolves(built, server):
    """HTTP 200 for each page and for everything it links to or loads; #anchors exist."""
    targets: dict[str, str] = {}   # url (no fragment) -> a page that links to it
    anchors: list[tuple[str, str, str]] = []
    for page in PAGES:
        url = urljoin(server, f"{page}.html")
        status, body = fetch(url)
        assert status == 200, f"{url}: HTTP {status}"
        doc = BeautifulSoup(body, "html.parser")
        nav = {urljoin(url, a["href"]) for a in doc.select("nav.bd-docs-nav a[href]")}
        missing = [p for p in PAGES[1:] if urljoin(server, f"{p}.html") not in nav]
        assert not missing, f"{page}: the sidebar does not list {missing}"
        for tag, attr in (("a", "href"), ("img", "src"), ("link", "href"), ("script", "src")):
            for element in doc.find_all(tag):
                ref = element.get(attr)
                if not ref or ref.startswith(("mailto:", "javascript:", "data:")):
                    continue
                target, fragment = urldefrag(urljoin(url, ref))
                if not target.startswith(server):
                    continue   # external (repository, Colab, Binder): not ours to serve
                targets.setdefault(target.split("?")[0], page)
                if fragment and target.endswith(".html"):
                    anchors.append((target, fragment, page))
    broken = [f"{t} (linked from {p})" for t, p in targets.items() if fetch(t)[0] != 200]
    assert not broken, "links that do not resolve:\n" + "\n".join(broken)
    ids: dict[str, set] = {}
    for target, fragment, page in anchors:
        if target not in ids:
            ids[target] = {e["id"] for e in BeautifulSoup(fetch(target)[1], "html.parser").select("[id]")}
        assert fragment in ids[target], f"{page} links to {target}#{fragment}, which has no such anchor"
    assert len(targets) > len(PAGES)


def test_prev_and_next_links_follow_the_toc(built):
    for before, page, after in zip(PAGES, PAGES[1:], PAGES[2:] + [None]):
        doc = soup(page)
        prev = doc.select_one("a.left-prev")
        assert prev and (built.html / page).parent.joinpath(prev["href"]).resolve() == (built.html / f"{before}.html").resolve()
        if after:
            nxt = doc.select_one("a.right-next")
            assert nxt and (built.html / page).parent.joinpath(nxt["href"]).resolve() == (built.html / f"{after}.html").resolve()


# --- Executions and caches ------------------------------------------------------------------------

def cache_records(build_dir: Path) -> list[tuple]:
    from jupyter_cache import get_cache
    return sorted((r.pk, r.uri, r.created) for r in get_cache(build_dir / site.CACHE).list_cache_records())


def test_unchanged_rebuild_takes_every_chapter_from_the_execution_cache(built):
    assert built.ok, "the first build failed (see test_site_builds_without_warnings_or_errors)"
    build_dir = course_copy.root / site.BUILD_DIR
    before = cache_records(build_dir)
    rebuild = site.build("smoke", root=course_copy.root, capture=True, check=False, all_pages=True,
                         env=course_copy.env)   # re-reads every page
    log = ANSI.sub("", rebuild.log)
    print(f"\ncached rebuild of all pages: {rebuild.seconds:.1f} s (first build {built.seconds:.1f} s)")
    assert rebuild.ok, problems(log)
    assert not rebuild.cache_cleared
    assert "Executing notebook" not in log, "an unchanged chapter was executed again"
    for page in CHAPTERS:
        copy = course_copy.root / source_of(page).relative_to(ROOT)
        assert re.search(rf"{re.escape(str(copy))}: Using cached notebook", log), page
    assert cache_records(build_dir) == before


def test_each_chapter_is_executed_once_per_test_run(built):
    """The chapter tests and the site build share one execution of each chapter."""
    assert built.ok
    executed = {rel: n for rel, n in course_copy.executions.items() if rel.startswith("book/")}
    assert set(executed) >= {f"{page}.ipynb" for page in CHAPTERS}, executed
    assert all(n == 1 for n in executed.values()), f"chapters executed more than once: {executed}"
    for page in CHAPTERS:   # a chapter test asking now reads back what the site shows
        nb, seconds = course_copy.notebook(ROOT / f"{page}.ipynb")
        assert seconds > 0 and any(c.get("outputs") for c in nb.cells if c.cell_type == "code")
    assert {rel: course_copy.executions[rel] for rel in executed} == executed, "a read-back executed again"


def test_the_tests_leave_the_repositorys_own_build_alone(built):
    """`make course` after `make test` executes nothing again: no test writes to book/_build."""
    assert build_state(ROOT / site.BUILD_DIR) == REPOSITORY_BUILD_AT_START, \
        "the test session changed the repository's book/_build (or another process built there meanwhile)"


# --- Builds of small projects: failure publishes nothing ------------------------------------------

def _small_project(tmp_path: Path, chapters: dict[str, str]) -> Path:
    """A copy of this _config.yml with one page per ``{name: code}``, each a one-cell notebook."""
    project = tmp_path / "project"
    (project / "book").mkdir(parents=True)
    shutil.copy(ROOT / "_config.yml", project)
    shutil.copytree(ROOT / "book" / "_static", project / "book" / "_static")
    (project / "_toc.yml").write_text(yaml.safe_dump({
        "format": "jb-book", "root": "book/intro", "chapters": [{"file": f"book/{n}"} for n in chapters]}))
    (project / "book" / "intro.md").write_text("# Intro\n\nA small copy of the course.\n")
    for name, code in chapters.items():
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# The {name} chapter"),
                                             nbformat.v4.new_code_cell(code)])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, project / "book" / f"{name}.ipynb")
    return project


@pytest.mark.notebook
def test_a_failing_chapter_fails_the_build_and_publishes_nothing(tmp_path):
    project = _small_project(tmp_path, {"fine": "print('this chapter runs')",
                                        "broken": "print('before the error')\n1 / 0"})
    # Strict (what make site runs): the build goes on, reports the broken chapter, exits non-zero.
    strict = site.build("smoke", root=project, capture=True, check=False)
    log = ANSI.sub("", strict.log)
    assert not strict.ok, "a notebook that raises was published without failing the build"
    assert re.search(r"broken\.ipynb: WARNING: Executing notebook failed", log), log[-3000:]
    assert "ZeroDivisionError" in log
    assert (strict.staged / "book" / "fine.html").exists(), "the build did not go on after the error"
    assert not strict.html.exists(), "a failed build published a site"
    # Building again with nothing changed must not pass and publish the broken page.
    again = site.build("smoke", root=project, capture=True, check=False)
    assert not again.ok, "the second build of an unchanged broken chapter succeeded"
    assert "broken.ipynb: Executing notebook" in ANSI.sub("", again.log)
    assert not again.html.exists()
    # A plain `jupyter-book build` with _config.yml as committed fails too (nb_execution_raise_on_error).
    shutil.rmtree(project / "book" / "_build")
    plain = subprocess.run([str(Path(sys.executable).parent / "jupyter-book"), "build", str(project)],
                           capture_output=True, text=True, env={**os.environ, "COURSE_PROFILE": "smoke"})
    assert plain.returncode != 0, plain.stdout[-3000:]


@pytest.mark.notebook
def test_a_timed_out_build_keeps_the_site_published_before(tmp_path, monkeypatch):
    project = _small_project(tmp_path, {"slow": "import time\nprint('started')"})
    first = site.build("smoke", root=project, capture=True, check=False)
    assert first.ok, problems(ANSI.sub("", first.log))
    published = build_state(first.html)
    assert "book/slow.html" in published and not [p for p in published if p.startswith("reports")]
    # The chapter now hangs: first a cell timeout stops it, then the whole build's timeout.
    nb = nbformat.read(project / "book" / "slow.ipynb", as_version=4)
    nb.cells[1].source = "import time\nprint('started')\ntime.sleep(600)"
    nbformat.write(nb, project / "book" / "slow.ipynb")
    monkeypatch.setenv("COURSE_CELL_TIMEOUT", "5")
    cell_timeout = site.build("smoke", root=project, capture=True, check=False)
    assert not cell_timeout.ok and "CellTimeoutError" in cell_timeout.log, cell_timeout.log[-3000:]
    assert list((cell_timeout.staged / "reports").rglob("*.err.log")), "no error report was staged"
    assert build_state(cell_timeout.html) == published, "a timed-out build changed the published site"
    monkeypatch.setenv("COURSE_CELL_TIMEOUT", "900")
    whole = site.build("smoke", root=project, capture=True, check=False, timeout=15)
    assert whole.returncode == 124, whole.log[-3000:]
    assert build_state(whole.html) == published, "an interrupted build changed the published site"


@pytest.mark.notebook
def test_a_notebook_naming_another_repository_fails_the_build(tmp_path):
    project = _small_project(tmp_path, {"setup": '%pip install --quiet "cnn-course @ git+https://github.com/someone/else"'})
    result = site.build("smoke", root=project, capture=True, check=False)
    assert not result.ok and not result.html.exists()
    assert re.search(r"WARNING: \S*setup\.ipynb: the install line names .*someone/else", ANSI.sub("", result.log))


def test_publishing_swaps_in_a_complete_copy_without_error_reports(tmp_path):
    staged, published = tmp_path / "staging" / "html", tmp_path / "html"
    (staged / "reports").mkdir(parents=True)
    (staged / "reports" / "chapter.err.log").write_text("/abs/path/chapter.ipynb: Traceback")
    (staged / "index.html").write_text("new")
    published.mkdir()
    (published / "index.html").write_text("old")
    (published / "gone.html").write_text("old")
    site._publish(staged, published)
    assert sorted(p.name for p in published.iterdir()) == ["index.html"]
    assert (published / "index.html").read_text() == "new"
    assert (staged / "reports" / "chapter.err.log").exists(), "the staging folder is kept for the next build"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["html", "staging"]


# --- One repository URL ---------------------------------------------------------------------------

def test_every_install_line_names_the_repository_of_config():
    url, branch = repo_url.read_config(ROOT)
    assert (url, branch) == (CONFIG["repository"]["url"], CONFIG["repository"]["branch"])
    lines = {p: repo_url.install_specs(p) for p in repo_url.notebooks(ROOT)}
    with_lines = [p.relative_to(ROOT).as_posix() for p, specs in lines.items() if specs]
    for folder in repo_url.NOTEBOOK_FOLDERS:   # chapters, assignment sources, the release
        assert [p for p in with_lines if p.startswith(f"{folder}/")], f"no install line in {folder}/"
    assert repo_url.disagreements(ROOT) == []


def test_repo_url_set_rewrites_the_config_and_every_install_line(tmp_path):
    shutil.copy(ROOT / "_config.yml", tmp_path)
    for path in repo_url.notebooks(ROOT):
        (tmp_path / path.relative_to(ROOT)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, tmp_path / path.relative_to(ROOT))
    before = {p: nbformat.read(p, as_version=4) for p in repo_url.notebooks(tmp_path)}
    changed = repo_url.set_repository(tmp_path, "https://github.com/someone/fork/", branch="spring")
    config = yaml.safe_load((tmp_path / "_config.yml").read_text())
    assert config["repository"]["url"] == "https://github.com/someone/fork"
    assert config["repository"]["branch"] == "spring"
    assert "# The one place that names the repository" in (tmp_path / "_config.yml").read_text(), "comments kept"
    assert changed and repo_url.disagreements(tmp_path) == []
    for path in changed:
        assert repo_url.install_specs(path) == ["cnn-course @ git+https://github.com/someone/fork@spring"]
        after = nbformat.read(path, as_version=4)
        changed_cells = [i for i, (a, b) in enumerate(zip(before[path].cells, after.cells)) if a != b]
        assert len(changed_cells) == 1 and "%pip install" in after.cells[changed_cells[0]].source
    fake = type("Config", (), {"html_theme_options": {
        "repository_url": config["repository"]["url"], "repository_branch": "spring",
        "launch_buttons": CONFIG["launch_buttons"]}})
    assert site.launch_urls(fake, "assignments/a1_vgg/a1_vgg.ipynb")["Colab"] == (
        "https://colab.research.google.com/github/someone/fork/blob/spring/assignments/a1_vgg/a1_vgg.ipynb")


# --- In a real browser, offline ---------------------------------------------------------------------

def chromium_executable() -> str:
    """Debian's chromium (`make sysdeps` installs it); the browser tests skip without it."""
    found = next((p for p in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser"))
                  if p and os.path.exists(p)), None)
    if found is None:
        pytest.skip("chromium is not installed (make sysdeps installs it)")
    return found


@pytest.fixture(scope="module")
def browser():
    executable = chromium_executable()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


class Tab:
    """A page opened with the network blocked: only the local server answers; every console error,
    uncaught exception and blocked request is recorded."""

    def __init__(self, browser, url: str, viewport: dict):
        self.context = browser.new_context(viewport=viewport)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.blocked: list[str] = []
        server = url[: url.index("/", len("http://"))]
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))

        def route(r):
            if r.request.url.startswith(server):
                r.continue_()
            else:
                self.blocked.append(r.request.url)
                r.abort()
        self.page.route("**/*", route)
        self.response = self.page.goto(url, wait_until="load", timeout=60_000)

    def typeset(self) -> None:
        """Wait until MathJax (if the page loads it) has typeset the page."""
        self.page.wait_for_function("() => !document.querySelector('.math') || "
                                    "(window.MathJax && MathJax.startup && MathJax.startup.promise)", timeout=30_000)
        self.page.evaluate("() => window.MathJax && MathJax.startup && MathJax.startup.promise")

    def sidebar_link_state(self, selector: str) -> str:
        """'open' when the first link of ``selector`` is on screen and not covered, else 'hidden'."""
        return self.page.evaluate("""sel => {
          const a = document.querySelector(sel);
          if (!a) return 'missing';
          const r = a.getBoundingClientRect();
          if (r.width === 0 || r.right <= 0 || r.left >= innerWidth || r.bottom <= 0) return 'hidden';
          const e = document.elementFromPoint(r.left + Math.min(r.width / 2, 20), r.top + r.height / 2);
          return e && (e === a || a.contains(e)) ? 'open' : 'hidden';
        }""", selector)

    def close(self) -> None:
        self.context.close()


@pytest.mark.browser
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_every_page_renders_offline_without_console_errors(built, server, browser, viewport, tmp_path):
    """Every page at 390 and 1280 px with the network blocked: no console error, nothing fetched
    from elsewhere, every formula typeset, plots drawn, nothing wider than the screen. A page
    with a problem is kept as a screenshot, named in the failure message."""
    failures = []
    for name in PAGES:
        tab = Tab(browser, urljoin(server, f"{name}.html"), viewport)
        found = len(failures)
        try:
            page = tab.page
            assert tab.response.status == 200
            assert page.locator("article h1").first.is_visible(), f"{name}: no visible title"
            assert page.title().strip()
            assert page.locator("nav.bd-docs-nav a").count() >= len(PAGES) - 1
            assert page.locator(".cell_output .traceback").count() == 0
            tab.typeset()
            raw = page.eval_on_selector_all(".math", "els => els.filter(e => !e.querySelector('mjx-container'))"
                                                     ".map(e => e.textContent.slice(0, 60))")
            if raw:
                failures.append(f"{name} at {viewport['width']} px: formulas not typeset: {raw[:3]}")
            if name in CHAPTERS:
                sizes = page.eval_on_selector_all(
                    ".cell_output img", "imgs => imgs.map(i => [i.complete, i.naturalWidth, i.getBoundingClientRect().width])")
                if not any(done and natural > 0 and shown > 0 for done, natural, shown in sizes):
                    failures.append(f"{name}: no plot image rendered ({sizes})")
            wide = page.evaluate("""() => {
              const W = document.documentElement.clientWidth;
              const tables = [...document.querySelectorAll('article table')].filter(   // outputs scroll in their box
                t => !t.closest('.cell_output') && t.getBoundingClientRect().width > t.parentElement.clientWidth + 1);
              return [document.documentElement.scrollWidth - W, tables.map(t => t.textContent.trim().slice(0, 40))];
            }""")
            if wide[0] > 0 or wide[1]:
                failures.append(f"{name} at {viewport['width']} px scrolls sideways by {wide[0]} px; "
                                f"tables wider than the page: {wide[1]}")
            page.wait_for_timeout(200)   # late errors (deferred scripts)
            if tab.errors or tab.blocked:
                failures.append(f"{name} at {viewport['width']} px: console errors {tab.errors}, "
                                f"requests off the site {tab.blocked}")
            if len(failures) > found:
                shot = tmp_path / f"{name.replace('/', '__')}-{viewport['width']}.png"
                page.screenshot(path=str(shot), full_page=True)
                failures.append(f"  (screenshot: {shot})")
        finally:
            tab.close()
    assert not failures, "\n".join(failures)


@pytest.mark.browser
@pytest.mark.parametrize("page_name", ["book/01_cnn_basics", "book/assignments/a1_vgg"])
def test_the_table_of_contents_toggles_work_on_a_phone_and_a_desktop(built, server, browser, page_name):
    url = urljoin(server, f"{page_name}.html")
    site_nav, page_toc = "nav.bd-docs-nav a.reference", "#pst-page-toc-nav a.nav-link"
    # Phone: both sidebars start off-screen; each visible toggle brings its sidebar in.
    for toggle, links in ((".primary-toggle", site_nav), (".secondary-toggle", page_toc)):
        tab = Tab(browser, url, PHONE)
        try:
            assert tab.sidebar_link_state(links) == "hidden", f"{links} is on screen before any click"
            visible = tab.page.locator(f"{toggle}:visible")
            assert visible.count() == 1, f"{toggle}: {visible.count()} visible buttons at 390 px"
            visible.click()
            tab.page.wait_for_timeout(600)
            assert tab.sidebar_link_state(links) == "open", f"{toggle} did not open {links} at 390 px"
            assert not tab.errors, tab.errors
        finally:
            tab.close()
    # Desktop: the site navigation is shown; the toggle hides it and shows it again.
    tab = Tab(browser, url, DESKTOP)
    try:
        assert tab.page.locator("input[type=search]:visible, .search-button-field:visible").count() <= 1, \
            "more than one search box at 1280 px"
        assert tab.sidebar_link_state(site_nav) == "open"
        visible = tab.page.locator(".primary-toggle:visible")
        assert visible.count() == 1, f"{visible.count()} visible primary toggles at 1280 px"
        for expected in ("hidden", "open"):
            visible.click()
            tab.page.wait_for_timeout(600)
            assert tab.sidebar_link_state(site_nav) == expected, f"the toggle did not make the sidebar {expected}"
        assert not tab.errors, tab.errors
    finally:
        tab.close()


@pytest.mark.browser
def test_search_finds_a_chapter_in_chromium(built, server, browser):
    tab = Tab(browser, urljoin(server, "search.html?q=CIFAR"), DESKTOP)
    try:
        results = tab.page.locator("ul.search li")
        results.first.wait_for(timeout=30_000)
        assert results.count() >= 1
        assert not tab.errors and not tab.blocked, (tab.errors, tab.blocked)
    finally:
        tab.close()
