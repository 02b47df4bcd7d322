"""assignments/ is exactly what nbgrader generates from solutions/ (regenerated and diffed)."""
from pathlib import Path

import nbformat
import pytest

import roundtrip
from course_grader.course import Course

ROOT = Path(__file__).resolve().parent.parent
AIDS = Course(ROOT).assignment_names()


def comparable(path: Path) -> list[tuple]:
    nb = nbformat.read(path, as_version=4)
    return [(c.cell_type, c.source, c.metadata.get("nbgrader")) for c in nb.cells]


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    return roundtrip.new_course(tmp_path_factory.mktemp("release"), AIDS) / "assignments"


@pytest.mark.parametrize("aid", AIDS)
def test_committed_release_matches_a_fresh_generate_assignment(aid, regenerated):
    fresh = sorted(p.relative_to(regenerated / aid) for p in (regenerated / aid).rglob("*") if p.is_file())
    committed = sorted(p.relative_to(ROOT / "assignments" / aid) for p in (ROOT / "assignments" / aid).rglob("*")
                       if p.is_file() and ".ipynb_checkpoints" not in p.parts)
    assert committed == fresh, "run `make release` and commit assignments/"
    for rel in fresh:
        a, b = regenerated / aid / rel, ROOT / "assignments" / aid / rel
        if rel.suffix == ".ipynb":
            assert comparable(a) == comparable(b), f"{rel} is out of date: run `make release`"
        else:
            assert a.read_bytes() == b.read_bytes(), f"{rel} is out of date: run `make release`"


def test_every_assignment_has_a_release():
    assert AIDS, "no assignments under solutions/"
    assert sorted(p.name for p in (ROOT / "assignments").iterdir() if p.is_dir()) == AIDS
