"""What is committed: clean notebooks, ignored build products, no dataset, a release without solutions."""
import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip("not a git checkout")
    return out.stdout.split()


def committed_notebooks() -> list[Path]:
    return [ROOT / f for f in tracked_files() if f.endswith(".ipynb")]


def test_notebooks_are_committed_without_outputs_or_execution_counts():
    dirty = []
    for path in committed_notebooks():
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count")):
                dirty.append(str(path.relative_to(ROOT)))
                break
    assert not dirty, f"strip outputs from: {dirty}"


@pytest.mark.parametrize("path", [".venv/x", "book/_build/html/index.html", "_build/x", "gradebook.db",
                                  "submitted/s1/a1_vgg/a1_vgg.ipynb", "autograded/s1/a1_vgg/x.ipynb",
                                  "feedback/s1/a1_vgg/a1_vgg.html", "a1_vgg_model.pt",
                                  "solutions/a1_vgg/a1_vgg_model.pt"])
def test_build_and_grading_products_are_ignored(path):
    result = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT)
    assert result.returncode == 0, f"{path} is not ignored by .gitignore"


def test_no_dataset_or_large_files_are_committed():
    files = tracked_files()
    assert not [f for f in files if f.endswith((".jpg", ".png")) and "cifar" in f.lower()]
    large = [f for f in files if (ROOT / f).is_file() and (ROOT / f).stat().st_size > 5_000_000]
    assert not large, f"files over 5 MB are committed: {large}"


def test_release_notebooks_carry_no_solution_or_hidden_test_markers():
    for path in (ROOT / "assignments").rglob("*.ipynb"):
        text = path.read_text()
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text, path
