"""The layout shows three products with one seam: the teaching library (course_utils) that
every notebook imports, the grader (course_grader) and the site and tools (course_tools).
Imports go tools → grader → teaching library, never back; the student install (no nbgrader,
no Jupyter Book) imports everything the chapters and the released assignments import."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ORDER = ("course_utils", "course_grader", "course_tools")     # each may import only those before it
INSTRUCTOR_ONLY = ("nbgrader", "jupyter_book", "sphinx", "nbclient", "nbconvert", "myst_nb", "traitlets",
                   "jupyter_client", "ipykernel")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


@pytest.mark.parametrize("package", ORDER)
def test_a_package_imports_only_the_products_below_it(package):
    allowed = set(ORDER[:ORDER.index(package) + 1])
    for path in sorted((ROOT / package).rglob("*.py")):
        for module in imported_modules(path):
            top = module.split(".")[0]
            assert top not in set(ORDER) - allowed, f"{path.relative_to(ROOT)} imports {module}"


def test_no_module_of_the_grader_or_tools_finds_the_course_root_from_its_own_path():
    for package in ("course_grader", "course_tools"):
        for path in sorted((ROOT / package).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            assert "parent.parent / \"solutions\"" not in text and "ROOT = Path(__file__)" not in text, path


def test_the_student_install_needs_none_of_the_instructor_tools():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    base = " ".join(project["dependencies"]).lower()
    for tool in ("nbgrader", "jupyter-book", "sphinx", "nbclient"):
        assert tool not in base, tool
    instructor = " ".join(project["optional-dependencies"]["instructor"]).lower()
    assert "nbgrader" in instructor and "jupyter-book" in instructor


def notebook_imports() -> set[str]:
    """Every course_utils module a chapter or a released assignment imports."""
    found = set()
    for nb in [*sorted((ROOT / "book").glob("*.ipynb")), *sorted((ROOT / "assignments").glob("*/*.ipynb"))]:
        for cell in json.loads(nb.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"])
            code = "\n".join("" if l.lstrip().startswith(("%", "!")) else l for l in source.splitlines())
            try:
                tree = ast.parse(code)
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("course_utils"):
                    found.add(node.module)
                    found |= {f"{node.module}.{a.name}" for a in node.names
                              if (ROOT / node.module.replace(".", "/") / f"{a.name}.py").exists()
                              or (ROOT / node.module.replace(".", "/") / a.name).is_dir()}
                elif isinstance(node, ast.Import):
                    found |= {a.name for a in node.names if a.name.startswith("course_utils")}
    return found


def test_every_notebook_import_works_without_the_instructor_tools():
    modules = sorted(notebook_imports())
    assert "course_utils.data" in modules and "course_utils.train" in modules
    blocker = f'''
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {INSTRUCTOR_ONLY!r}:
            raise ModuleNotFoundError(f"{{name}} is not part of the student install")
sys.meta_path.insert(0, Block())
import matplotlib
matplotlib.use("Agg")
for name in {modules!r}:
    __import__(name)
print("imported", len({modules!r}))
'''
    proc = subprocess.run([sys.executable, "-c", blocker], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_the_grader_modules_import_without_a_cycle():
    modules = sorted(p.relative_to(ROOT).with_suffix("").as_posix().replace("/", ".")
                     for p in (ROOT / "course_grader").rglob("*.py") if p.name != "__main__.py")
    # Each imported first, with no grader module loaded (a cycle fails one of them); torch and
    # the teaching library stay loaded between them, which is what makes this one process fast.
    script = f"""
import sys
failed = []
for name in {modules!r}:
    for loaded in [m for m in sys.modules if m == "course_grader" or m.startswith("course_grader.")]:
        del sys.modules[loaded]
    try:
        __import__(name)
    except Exception as error:
        failed.append(f"{{name}}: {{type(error).__name__}}: {{error}}")
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-1500:]
