"""The published site: built once per session in smoke, then checked as files, over HTTP and in Chromium.

The build goes to book/_build (what ``make site`` produces) through ``course_tools.site.build``;
its execution cache persists between sessions, so only changed chapters execute again.
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
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlparse

import nbformat
import pytest
import yaml
from bs4 import BeautifulSoup

from course_tools import site

pytestmark = pytest.mark.timeout(3600)   # the first test waits for the whole smoke build

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / site.BUILD_DIR / "html"
SCREENSHOTS = ROOT / site.BUILD_DIR / "screenshots"
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
ANSI = re.compile(r"\x1b\[[0-9;]*m")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


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


def source_of(page: str) -> Path:
    return next(ROOT / f"{page}{s}" for s in (".ipynb", ".md") if (ROOT / f"{page}{s}").exists())


def soup(page: str) -> BeautifulSoup:
    return BeautifulSoup((HTML / f"{page}.html").read_text(encoding="utf8"), "html.parser")


@functools.cache
def build_site_once() -> site.BuildResult:
    """The smoke build every site test looks at (test_leaks.py scans it too)."""
    result = site.build("smoke", root=ROOT, capture=True, check=False)
    log = ANSI.sub("", result.log)
    print(f"\nsite build (smoke): {result.seconds:.0f} s, exit {result.returncode}, "
          f"cache cleared: {result.cache_cleared}")
    result.log = log
    return result


@pytest.fixture(scope="session")
def built() -> site.BuildResult:
    result = build_site_once()
    if not (result.html / "index.html").exists():
        pytest.fail("the site was not built at all:\n" + result.log[-6000:])
    return result


def problems(log: str) -> str:
    return "\n".join(line for line in log.splitlines()
                     if re.search(r"WARNING|ERROR|Error|failed", line) and "IPKernelApp" not in line)


def test_site_builds_without_warnings_or_errors(built):
    assert built.ok, f"jupyter-book build exited {built.returncode}:\n{problems(built.log)[-8000:]}"
    assert not (built.html / "reports").exists(), "execution error reports were written"


def test_toc_has_chapters_assignments_and_instructor_guide():
    captions = [p["caption"] for p in TOC["parts"]]
    assert captions == ["Chapters", "Assignments", "Instructor guide"]
    assert len(CHAPTERS) == 5
    assert [Path(p).name for p in toc_part("Assignments")[1:]] == ["a1_vgg", "a2_finetune", "a3_inception", "a4_resnet"]
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


@pytest.mark.parametrize("page", CHAPTERS)
def test_chapter_page_has_launch_and_download_buttons(built, page):
    doc = soup(page)
    hrefs = {a.get("href", "") for a in doc.select("a")}
    repo = urlparse(CONFIG["repository"]["url"]).path.strip("/")
    branch = CONFIG["repository"]["branch"]
    colab = f"https://colab.research.google.com/github/{repo}/blob/{branch}/{page}.ipynb"
    assert colab in hrefs, f"{page}: no Colab launch button ({colab})"
    binder = [h for h in hrefs if h.startswith(f"https://mybinder.org/v2/gh/{repo}/{branch}?urlpath=")]
    assert binder and binder[0].endswith(f"{page}.ipynb"), f"{page}: no Binder launch button"
    download = [h for h in hrefs if h.endswith(f"_sources/{page}.ipynb")]
    assert download, f"{page}: no download button for the notebook"
    notebook = nbformat.read((built.html / page).parent / download[0], as_version=4)
    assert notebook.cells[0].source == nbformat.read(source_of(page), as_version=4).cells[0].source


def test_pages_with_formulas_load_mathjax(built):
    """Formulas are written $...$ / $$...$$ and rendered by MathJax."""
    with_math = []
    for page in PAGES:
        doc = soup(page)
        if doc.select(".math"):
            with_math.append(page)
            scripts = [s.get("src", "") for s in doc.select("script")]
            assert any("mathjax" in s.lower() for s in scripts), f"{page} has formulas but no MathJax script"
        for literal in doc.select("article code, article pre, article .math, article .cell_output"):
            literal.decompose()   # `$TORCH_HOME` in code is not a formula
        text = "\n".join(t.get_text() for t in doc.select("article p"))
        assert not re.search(r"\$[^$\s][^$]*\$", text), f"{page}: a $formula$ was not parsed as math"
    assert with_math, "no page has a formula (chapters use $...$ for the output-size formula, H(x) = F(x) + x ...)"


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
                    continue   # external (repository, Colab, Binder, CDN): not ours to serve
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


def cache_records(build_dir: Path) -> list[tuple]:
    from jupyter_cache import get_cache
    return sorted((r.pk, r.uri, r.created) for r in get_cache(build_dir / ".jupyter_cache").list_cache_records())


def test_unchanged_rebuild_takes_every_chapter_from_the_execution_cache(built):
    assert built.ok, "the first build failed (see test_site_builds_without_warnings_or_errors)"
    before = cache_records(ROOT / site.BUILD_DIR)
    rebuild = site.build("smoke", root=ROOT, capture=True, check=False, all_pages=True)   # re-reads every page
    log = ANSI.sub("", rebuild.log)
    print(f"\ncached rebuild of all pages: {rebuild.seconds:.1f} s (first build {built.seconds:.1f} s)")
    assert rebuild.ok, problems(log)
    assert not rebuild.cache_cleared
    assert "Executing notebook" not in log, "an unchanged chapter was executed again"
    for page in CHAPTERS:
        assert re.search(rf"{re.escape(str(source_of(page)))}: Using cached notebook", log), page
    assert cache_records(ROOT / site.BUILD_DIR) == before


def _broken_project(tmp_path: Path) -> Path:
    """A two-chapter copy of the book (this _config.yml), one chapter raising an exception."""
    project = tmp_path / "project"
    (project / "book").mkdir(parents=True)
    shutil.copy(ROOT / "_config.yml", project)
    (project / "_toc.yml").write_text(yaml.safe_dump({
        "format": "jb-book", "root": "book/intro",
        "chapters": [{"file": "book/fine"}, {"file": "book/broken"}]}))
    (project / "book" / "intro.md").write_text("# Intro\n\nA deliberately broken copy of the course.\n")
    for name, code in (("fine", "print('this chapter runs')"),
                       ("broken", "print('before the error')\n1 / 0")):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# The {name} chapter"),
                                             nbformat.v4.new_code_cell(code)])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, project / "book" / f"{name}.ipynb")
    return project


def test_a_failing_chapter_fails_the_build(tmp_path):
    project = _broken_project(tmp_path)
    # Strict (what make site runs): the build goes on, reports the broken chapter, exits non-zero.
    strict = site.build("smoke", root=project, capture=True, check=False)
    log = ANSI.sub("", strict.log)
    assert not strict.ok, "a notebook that raises was published without failing the build"
    assert re.search(r"broken\.ipynb: WARNING: Executing notebook failed", log), log[-3000:]
    assert "ZeroDivisionError" in log
    assert (strict.html / "book" / "fine.html").exists()
    # Building again with nothing changed must not pass and publish the broken page.
    again = site.build("smoke", root=project, capture=True, check=False)
    assert not again.ok, "the second build of an unchanged broken chapter succeeded"
    assert "broken.ipynb: Executing notebook" in ANSI.sub("", again.log)
    # A plain `jupyter-book build` with _config.yml as committed fails too (nb_execution_raise_on_error).
    shutil.rmtree(project / "book" / "_build")
    plain = subprocess.run([str(Path(sys.executable).parent / "jupyter-book"), "build", str(project)],
                           capture_output=True, text=True, env={**os.environ, "COURSE_PROFILE": "smoke"})
    assert plain.returncode != 0, plain.stdout[-3000:]


# --- In a real browser ------------------------------------------------------------------------

def chromium_executable() -> str:
    """Debian's chromium, installed with apt-get when missing; skip only when it cannot be had."""
    def found():
        return next((p for p in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser"))
                     if p and os.path.exists(p)), None)
    if found():
        return found()
    if not shutil.which("apt-get"):
        pytest.skip("chromium is not installed and there is no apt-get to install it")
    sudo = [] if os.geteuid() == 0 else (["sudo", "-n"] if shutil.which("sudo") else None)
    if sudo is None:
        pytest.skip("chromium is not installed, and installing it needs root (apt-get install chromium)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}

    def candidate() -> bool:
        policy = subprocess.run(["apt-cache", "policy", "chromium"], capture_output=True, text=True).stdout
        return "Candidate:" in policy and "Candidate: (none)" not in policy
    if not candidate():
        subprocess.run(sudo + ["apt-get", "update", "-q"], env=env, capture_output=True, timeout=600)
    if not candidate():
        pytest.skip("the chromium package is not available from apt (apt-cache policy chromium)")
    print("\ninstalling Debian's chromium (apt-get install -y chromium) ...")
    install = subprocess.run(sudo + ["apt-get", "install", "-y", "-q", "chromium"], env=env,
                             capture_output=True, text=True, timeout=1200)
    assert install.returncode == 0 and found(), f"apt-get install chromium failed:\n{install.stdout[-3000:]}{install.stderr[-3000:]}"
    return found()


@pytest.fixture(scope="module")
def browser():
    executable = chromium_executable()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


MATHJAX_STUB = "window.__courseMathJaxRequested = true;"


def open_page(browser, url: str):
    """A new tab on ``url``: only the local server is reached; the MathJax CDN gets a stub."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    server = url[: url.index("/", len("http://"))]

    def route(r):
        if r.request.url.startswith(server):
            r.continue_()
        elif "mathjax" in r.request.url.lower():
            r.fulfill(status=200, content_type="application/javascript", body=MATHJAX_STUB)
        else:
            r.abort()   # no network here; a page must not depend on one to render
    page.route("**/*", route)
    response = page.goto(url, wait_until="load", timeout=60_000)
    return context, page, response, errors


@pytest.mark.browser
@pytest.mark.parametrize("name", PAGES)
def test_page_renders_in_chromium(built, server, browser, name):
    context, page, response, errors = open_page(browser, urljoin(server, f"{name}.html"))
    try:
        assert response.status == 200
        assert page.locator("article h1").first.is_visible(), f"{name}: no visible title"
        assert page.title().strip()
        assert page.locator("nav.bd-docs-nav a").count() >= len(PAGES) - 1
        assert page.locator(".cell_output .traceback").count() == 0
        if name in CHAPTERS:
            sizes = page.eval_on_selector_all(
                ".cell_output img", "imgs => imgs.map(i => [i.complete, i.naturalWidth, i.getBoundingClientRect().width])")
            assert any(done and natural > 0 and shown > 0 for done, natural, shown in sizes), \
                f"{name}: no plot image rendered ({sizes})"
        if page.locator(".math").count():
            assert page.evaluate("window.__courseMathJaxRequested === true"), f"{name}: MathJax was not loaded"
        assert not errors, f"{name}: JavaScript errors {errors}"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shot = SCREENSHOTS / f"{name.replace('/', '__')}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert png_size(shot)[0] >= 1000
    finally:
        context.close()


@pytest.mark.browser
def test_search_finds_a_chapter_in_chromium(built, server, browser):
    context, page, _, errors = open_page(browser, urljoin(server, "search.html?q=CIFAR"))
    try:
        results = page.locator("ul.search li")
        results.first.wait_for(timeout=30_000)
        assert results.count() >= 1
        assert not errors, errors
        page.screenshot(path=str(SCREENSHOTS / "search.png"))
    finally:
        context.close()
