"""No answer leaks: the release, the chapters, the built site and generated feedback never show
a solution block or a hidden test (course_utils.leaks), and the scanner demonstrably catches one."""
from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import nbformat
import pytest
from nbconvert import HTMLExporter
from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

from course_grader.leaks import Secrets, assert_no_leaks, is_trivial, normalise, scan

try:
    from test_site import build_site_once
except ImportError:   # tests/ imported as a package
    from tests.test_site import build_site_once

pytestmark = pytest.mark.timeout(3600)   # the site scans wait for the smoke build of test_site.py

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
ASSIGNMENTS = ROOT / "assignments"
SOURCES = sorted(p for p in SOLUTIONS.glob("*/*.ipynb"))
ASSIGNMENT_IDS = sorted({p.parent.name for p in SOURCES})
requires_solutions = pytest.mark.skipif(not SOURCES, reason="no assignment source notebooks under solutions/ yet")


# --- The rules ------------------------------------------------------------------------------

@pytest.mark.parametrize("line", [
    "", "   ", "# a comment", "    ### BEGIN SOLUTION", "import torch", "from torch import nn",
    "import torch.nn.functional as F", "pass", "else:", "return x", "return self", ")", "]),",
    '"""', "raise NotImplementedError()", "@property", "x", "break"])
def test_lines_without_an_answer_are_trivial(line):
    assert is_trivial(line)


@pytest.mark.parametrize("line", [
    "x = y", "return self.head(x.flatten(1))", "self.stem = nn.Conv2d(3, 12, 5)",
    "nn.ReLU(inplace=True),", "def forward(self, x):", "assert out.shape == (1, 7)",
    "Global average pooling removes the spatial grid"])
def test_lines_with_content_are_not_trivial(line):
    assert not is_trivial(line)


def test_normalise_ignores_every_kind_of_whitespace():
    assert normalise("  self.fc = nn.Linear( 12,\tn )\n") == normalise("self.fc=nn.Linear(12,n)")


# --- A toy course shaped like ours (always available) ----------------------------------------

def _nbgrader(grade_id, solution=False, grade=False, locked=False, points=None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


TOY_SOLUTION = """\
class TinyNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        ### BEGIN SOLUTION
        self.stem = nn.Conv2d(3, 12, kernel_size=5, padding=2)
        self.pool = nn.AdaptiveAvgPool2d(1)

        # why: one number per channel, whatever the image size
        self.head = nn.Linear(12, num_classes)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        x = self.pool(torch.relu(self.stem(x)))
        return self.head(x.flatten(1))
        ### END SOLUTION"""

TOY_TEST = """\
model = TinyNet()
assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
### BEGIN HIDDEN TESTS
import sys
for _m in [m for m in sys.modules if m.split(".")[0] == "course_utils"]: del sys.modules[_m]
out = TinyNet(num_classes=7)(torch.zeros(1, 3, 16, 16))
assert out.shape == (1, 7), f"expected (1, 7), got {tuple(out.shape)}"
n_params = sum(p.numel() for p in TinyNet().parameters())
assert n_params == 1066, n_params
### END HIDDEN TESTS"""

TOY_WRITTEN = """\
Global average pooling removes the spatial grid, so the head
sees one value per channel whatever the image size;
that is why the network accepts 16x16 inputs too."""


def toy_source() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Toy assignment\n\nWrite `TinyNet`."),
        nbformat.v4.new_code_cell("import torch\nfrom torch import nn", metadata=_nbgrader("imports", locked=True)),
        nbformat.v4.new_code_cell(TOY_SOLUTION, metadata=_nbgrader("tiny_net", solution=True)),
        nbformat.v4.new_code_cell(TOY_TEST, metadata=_nbgrader("test_tiny_net", grade=True, locked=True, points=2)),
        nbformat.v4.new_markdown_cell(TOY_WRITTEN, metadata=_nbgrader("written_pooling", solution=True,
                                                                       grade=True, points=1)),
    ]
    return nb


def nbgrader_release(source: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """What generate_assignment does to the cells: nbgrader's own preprocessors."""
    resources = {"language": "python"}
    release, resources = ClearSolutions().preprocess(copy.deepcopy(source), resources)
    release, resources = ClearHiddenTests().preprocess(release, resources)
    return release


@pytest.fixture
def toy(tmp_path):
    solutions = tmp_path / "solutions"
    (solutions / "toy").mkdir(parents=True)
    source = toy_source()
    nbformat.write(source, solutions / "toy" / "toy.ipynb")
    (tmp_path / "release").mkdir()
    release = tmp_path / "release" / "toy.ipynb"
    nbformat.write(nbgrader_release(source), release)
    return solutions, release


def test_blocks_markers_and_public_lines_are_read_from_the_source(toy):
    solutions, _ = toy
    secrets = Secrets.from_dir(solutions)
    kinds = sorted((b.kind, b.origin.split("cell ")[1]) for b in secrets.blocks)
    assert kinds == [("hidden", "test_tiny_net"), ("solution", "tiny_net"), ("solution", "tiny_net"),
                     ("solution", "written_pooling (whole cell)")]
    assert normalise("class TinyNet(nn.Module):") in secrets.public
    assert normalise("model = TinyNet()") in secrets.public
    assert normalise("self.pool = nn.AdaptiveAvgPool2d(1)") not in secrets.public
    # forward() has two significant lines: only its markers are recognisable, and it is reported
    assert [len(b.lines) for b in secrets.short_blocks] == [2]


def test_a_proper_release_has_no_leaks(toy):
    solutions, release = toy
    assert assert_no_leaks(release, solutions) == 1


def test_the_source_notebook_itself_is_caught(toy):
    solutions, _ = toy
    leaks, _ = scan(solutions, solutions)
    assert sorted({leak.kind for leak in leaks}) == ["hidden", "marker", "solution"]
    assert sum(leak.kind == "marker" for leak in leaks) == 6
    assert any("written_pooling" in leak.origin for leak in leaks)


def plant_in_notebook(notebook: Path, lines: list[str]) -> None:
    """Append the lines as a new code cell, re-indented and with a comment slipped in."""
    nb = nbformat.read(notebook, as_version=4)
    body = [" " * 8 + line.strip() for line in lines]
    body.insert(2, "        # (a comment that must not hide the copy)")
    nb.cells.append(nbformat.v4.new_code_cell("\n".join(body)))
    nbformat.write(nb, notebook)


@pytest.mark.parametrize("lines, found", [
    (TOY_SOLUTION.splitlines()[4:9], r"solution from .*cell tiny_net"),
    (TOY_TEST.splitlines()[5:9], r"hidden from .*cell test_tiny_net"),
], ids=["solution block", "hidden test"])
def test_a_block_planted_in_a_release_is_caught(toy, tmp_path, lines, found):
    solutions, release = toy
    planted = tmp_path / "planted.ipynb"
    shutil.copy(release, planted)
    plant_in_notebook(planted, lines)
    with pytest.raises(AssertionError, match=found):
        assert_no_leaks(planted, solutions)


def test_two_lines_of_a_block_are_not_a_leak(toy, tmp_path):
    """A chapter may teach a line that also occurs in an answer; it may not show the block."""
    solutions, release = toy
    planted = tmp_path / "planted.ipynb"
    shutil.copy(release, planted)
    plant_in_notebook(planted, ["self.stem = nn.Conv2d(3, 12, kernel_size=5, padding=2)",
                                "self.pool = nn.AdaptiveAvgPool2d(1)", "self.other = nn.Linear(3, 4)"])
    assert assert_no_leaks(planted, solutions) == 1


def test_a_marker_alone_is_a_leak(toy, tmp_path):
    solutions, _ = toy
    page = tmp_path / "page.txt"
    page.write_text("some text\n    ### END HIDDEN TESTS\n")
    with pytest.raises(AssertionError, match="marker"):
        assert_no_leaks(page, solutions)


def plant_in_html(page: Path, code: str) -> None:
    """Insert the code as Sphinx renders a code cell: pygments-highlighted spans."""
    block = highlight(code, PythonLexer(), HtmlFormatter(cssclass="highlight"))
    html = page.read_text(encoding="utf8")
    cut = html.index("</article>") if "</article>" in html else html.index("</body>")
    page.write_text(html[:cut] + f'<div class="cell_input docutils container">{block}</div>' + html[cut:],
                    encoding="utf8")


@pytest.fixture(scope="module")
def built_page() -> Path:
    """A page of the smoke-built site (the build is shared with test_site.py)."""
    result = build_site_once()
    pages = sorted((result.html / "book").glob("*.html"))
    if not pages:
        pytest.fail("the site was not built:\n" + result.log[-4000:])
    return pages[0]


def test_a_solution_block_planted_in_an_html_page_is_caught(toy, built_page, tmp_path):
    solutions, _ = toy
    page = tmp_path / built_page.name
    shutil.copy(built_page, page)
    assert assert_no_leaks(page, solutions) == 1          # the page as built is clean ...
    plant_in_html(page, "\n".join(TOY_SOLUTION.splitlines()[3:10]))
    with pytest.raises(AssertionError, match=r"solution from .*cell tiny_net"):
        assert_no_leaks(page, solutions)                  # ... and the planted copy is not


def feedback_html(tmp_path: Path, notebook: nbformat.NotebookNode) -> Path:
    """An nbconvert HTML rendering in a feedback/ directory, as generate_feedback writes it."""
    path = tmp_path / "feedback" / "student1" / "toy" / "toy.html"
    path.parent.mkdir(parents=True)
    body, _ = HTMLExporter().from_notebook_node(notebook)
    path.write_text(body, encoding="utf8")
    return path


def test_feedback_showing_hidden_tests_is_caught_but_the_students_own_answer_is_not(toy, tmp_path):
    solutions, _ = toy
    graded = toy_source()   # a student who wrote the reference answer; hidden tests shown unmarked
    for cell in graded.cells:
        cell.source = "\n".join(x for x in cell.source.splitlines() if "### " not in x)
    feedback = feedback_html(tmp_path, graded)
    with pytest.raises(AssertionError, match=r"hidden from .*cell test_tiny_net") as caught:
        assert_no_leaks(feedback.parent.parent, solutions)
    assert "solution from" not in str(caught.value)      # their own code is theirs to see
    feedback.unlink()
    stripped = nbgrader_release(toy_source())
    stripped.cells[2].source = "\n".join(x for x in TOY_SOLUTION.splitlines() if "### " not in x)
    feedback = feedback_html(tmp_path / "clean", stripped)
    assert assert_no_leaks(feedback, solutions) == 1


def test_the_scanner_refuses_to_pass_vacuously(tmp_path, toy):
    solutions, release = toy
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="nothing to look for"):
        scan(release, tmp_path / "empty")
    with pytest.raises(AssertionError, match="no files to scan"):
        assert_no_leaks(tmp_path / "empty", solutions)


# --- The real course ------------------------------------------------------------------------

def test_chapter_sources_have_no_leaks():
    if not SOURCES:
        pytest.skip("no assignment source notebooks under solutions/ yet")
    chapters = [p for p in (ROOT / "book").rglob("*") if p.is_file() and "_build" not in p.parts]
    assert_no_leaks(chapters, SOLUTIONS)


@requires_solutions
def test_release_has_no_leaks():
    released = {p.name for p in ASSIGNMENTS.iterdir() if p.is_dir()}
    assert set(ASSIGNMENT_IDS) <= released, "run `course release`: some assignments have no release"
    assert_no_leaks(ASSIGNMENTS, SOLUTIONS)


@requires_solutions
def test_built_site_has_no_leaks():
    result = build_site_once()
    scanned = assert_no_leaks(result.html, SOLUTIONS)
    assert scanned > 20


@pytest.mark.parametrize("aid", ASSIGNMENT_IDS)
def test_every_assignment_has_recognisable_blocks_and_a_planted_copy_is_caught(aid, tmp_path):
    secrets = Secrets.from_dir(SOLUTIONS)
    mine = [b for b in secrets.blocks if b.origin.startswith(f"solutions/{aid}/")]
    for kind in ("solution", "hidden"):
        blocks = [b for b in mine if b.kind == kind and b not in secrets.short_blocks]
        assert blocks, f"{aid}: no {kind} block of >= 3 significant lines: the scanner cannot recognise a copy"
        release = sorted((ASSIGNMENTS / aid).glob("*.ipynb"))
        assert release, f"{aid}: no release notebook (run `course release {aid}`)"
        planted = tmp_path / f"{kind}.ipynb"
        shutil.copy(release[0], planted)
        block = max(blocks, key=lambda b: len(secrets.significant(b.lines)))
        plant_in_notebook(planted, [line for _, line in
                                    ((i, block.lines[i]) for i, _ in secrets.significant(block.lines))])
        with pytest.raises(AssertionError, match=rf"{kind} from solutions/{aid}/"):
            assert_no_leaks(planted, SOLUTIONS)
    short = [b.origin for b in secrets.short_blocks if b in mine]
    if short:
        print(f"\n{aid}: blocks with < 3 significant lines (only their markers are recognisable): {short}")


def test_generated_feedback_has_no_hidden_tests():
    dirs = [d for d in (ROOT / "feedback",) if d.is_dir() and any(d.rglob("*.html"))]
    if not dirs or not SOURCES:
        pytest.skip("no generated feedback (course feedback writes feedback/) or no solutions yet")
    assert_no_leaks(dirs, SOLUTIONS)   # feedback/: hidden tests and their markers only


def test_leak_report_is_readable(toy, tmp_path):
    solutions, release = toy
    planted = tmp_path / "planted.ipynb"
    shutil.copy(release, planted)
    plant_in_notebook(planted, TOY_TEST.splitlines()[5:9])
    leaks, _ = scan(planted, solutions)
    (leak,) = leaks
    assert leak.path == str(planted) and leak.line > 1
    assert "out = TinyNet(num_classes=7)" in str(leak)
    json.dumps(leak.__dict__)   # plain data, e.g. for a CI artefact
