"""Test-wide settings: the smoke profile, and the offline CIFAR-10 copy when it exists."""
import functools
import os
import re
from fnmatch import fnmatch
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data" / "cifar10"

# Set before anything imports course_utils, and inherited by every kernel a test starts.
os.environ["COURSE_PROFILE"] = "smoke"
os.environ.setdefault("COURSE_OFFLINE", "1")  # tests never download: CI has no network
if "COURSE_DATA_DIR" not in os.environ and SHARED_DATA.is_dir():
    os.environ["COURSE_DATA_DIR"] = str(SHARED_DATA)
# Under `make test`'s two workers every kernel keeps torch's default threads: a smoke training's
# result depends on the thread count, and the mutant banks' expected losses were measured with it
# (A4's batchnorm_missing reaches its threshold exactly with one thread). Idle OpenMP threads
# sleep instead of spinning on the other worker's core.
if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# Plots in this process draw off-screen; kernels started by tests keep Jupyter's inline backend
# (an exported MPLBACKEND would reach them and their figures would never become outputs).
import matplotlib  # noqa: E402

matplotlib.use("Agg")


@functools.cache
def have_cifar10() -> bool:
    from course_utils.data import data_root, layout
    return layout(data_root()) is not None


# Looked for when a marked test is set up, not when this file is imported.
requires_cifar10 = pytest.mark.requires_cifar10
NO_CIFAR10 = "CIFAR-10 is not on disk (set COURSE_DATA_DIR)"


def pytest_runtest_setup(item):
    if item.get_closest_marker("requires_cifar10") and not have_cifar10():
        pytest.skip(NO_CIFAR10)


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


# --- One copy of the course per test run: chapters executed once, the site built there ---------
# The tests never execute or build in the repository itself: its book/_build holds the
# instructor's `make course` build and execution cache, which a smoke build would replace.
# A chapter test asks for its notebook (executed_notebook); the site tests build the whole book
# (course_copy.build()). Both go through course_tools.site's execution cache in the copy, so
# whichever comes first executes a chapter and the other reads the outputs back.

class CourseCopy:
    """A temporary copy of the project, made on first use and removed when the session ends."""

    PROFILE = "smoke"

    def __init__(self):
        self._root: Path | None = None
        self._build = None
        self.executions: dict[str, int] = {}   # chapter (relative path) -> times executed
        self.failures: dict[str, Exception] = {}

    @property
    def root(self) -> Path:
        if self._root is None:
            import tempfile

            from course_tools import site
            self._root = site.copy_project(Path(tempfile.mkdtemp(prefix="course-tests-")) / "course", ROOT)
            (self._root / ".torch-home").mkdir()
        return self._root

    @property
    def env(self) -> dict:
        # The chapters run with the course's own backbone and an empty weights cache, as on a
        # machine that has never downloaded ImageNet weights (CI).
        return {"COURSE_BACKBONE": "course", "TORCH_HOME": str(self.root / ".torch-home")}

    def notebook(self, chapter: Path):
        """``(executed notebook, seconds)`` of ``chapter`` (a path in the repository), run once."""
        from course_tools import site
        rel = Path(chapter).resolve().relative_to(ROOT).as_posix()
        if rel in self.failures:
            raise self.failures[rel]
        path = self.root / rel
        cached = site.cached_notebook(self.root, path)   # the copy does not change during a session
        if cached is not None:
            return cached
        try:
            [done] = site.execute([path], self.PROFILE, self.root, env=self.env)
        except site.ExecutionFailed as exc:
            self.executions[rel] = self.executions.get(rel, 0) + 1
            self.failures[rel] = exc
            raise
        self.executions[rel] = self.executions.get(rel, 0) + done["executed"]
        return site.cached_notebook(self.root, path)

    def build(self):
        """The smoke build of the whole site in the copy (once per session); see test_site.py."""
        if self._build is None:
            import re

            from course_tools import site
            result = site.build(self.PROFILE, root=self.root, capture=True, check=False, env=self.env)
            result.log = re.sub(r"\x1b\[[0-9;]*m", "", result.log)
            for rel in re.findall(rf"{re.escape(str(self.root))}/(\S+\.ipynb): Executing notebook", result.log):
                self.executions[rel] = self.executions.get(rel, 0) + 1
            print(f"\nsite build ({self.PROFILE}, in {self.root}): {result.seconds:.0f} s, "
                  f"exit {result.returncode}")
            self._build = result
        return self._build

    def remove(self) -> None:
        if self._root is not None:
            import shutil
            shutil.rmtree(self._root.parent, ignore_errors=True)


course_copy = CourseCopy()


def build_state(build_dir: Path) -> dict:
    """Every file under ``build_dir`` with its size and mtime (to show that nothing wrote there)."""
    if not build_dir.exists():
        return {}
    return {str(p.relative_to(build_dir)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in build_dir.rglob("*") if p.is_file()}


REPOSITORY_BUILD_AT_START: dict = {}   # the repository's book/_build when the session started


def pytest_sessionstart(session):
    REPOSITORY_BUILD_AT_START.update(build_state(ROOT / "book" / "_build"))
    # Locally a missing dataset skips the tests that need it; CI must not pass by skipping them.
    if os.environ.get("CI", "").lower() in ("1", "true", "yes") and not have_cifar10():
        raise pytest.UsageError(f"CI=true but {NO_CIFAR10}: the chapters, round trips and "
                                "thresholds would be skipped, not tested")


@pytest.fixture(scope="session")
def executed_notebook():
    """``executed_notebook(path) -> (notebook, seconds)``: a chapter executed once per test run
    (in the smoke profile, in the course copy), shared with the site build."""
    return course_copy.notebook


@pytest.fixture(scope="module")
def executed(request, executed_notebook):
    """The test module's ``CHAPTER`` executed: ``(notebook, its outputs as text, seconds)``."""
    from notebook_runner import outputs_text
    if not have_cifar10():
        pytest.skip(NO_CIFAR10)
    nb, seconds = executed_notebook(request.module.CHAPTER)
    return nb, outputs_text(nb), seconds


def pytest_sessionfinish(session, exitstatus):
    course_copy.remove()


# --- Tiers ---------------------------------------------------------------------------------
# `make test` runs everything but the slow suites; `make test-fast` is the unit tier, what is
# left after -m "not notebook and not roundtrip and not browser and not slow and not postgres".
# A test that executes a chapter or builds the site (through one of these fixtures, or listed)
# is a notebook test wherever it is; round trips are whole modules of nbgrader and kernel runs.
NOTEBOOK_FIXTURES = {"executed_notebook", "built", "built_page"}
NOTEBOOK_TESTS = ("tests/test_leaks.py::test_built_site_has_no_leaks",)
ROUNDTRIP_MODULES = ("tests/test_roundtrips.py", "tests/test_grading_pipeline.py", "tests/test_cohort_*.py",
                     "tests/test_sandbox.py", "tests/test_release_sync.py", "tests/test_integrity.py",
                     "tests/test_grader_faults.py")


def pytest_collection_modifyitems(config, items):
    for item in items:
        module = item.nodeid.split("::")[0]
        notebook = (NOTEBOOK_FIXTURES & set(getattr(item, "fixturenames", ()))
                    or item.nodeid.split("[")[0] in NOTEBOOK_TESTS)
        if notebook:
            item.add_marker(pytest.mark.notebook)
            if work_unit(item.nodeid) != COURSE_COPY:
                raise pytest.UsageError(f"{item.nodeid} uses the course copy: add its module to "
                                        "COURSE_COPY_MODULES in tests/conftest.py")
        if any(fnmatch(module, pattern) for pattern in ROUNDTRIP_MODULES):
            item.add_marker(pytest.mark.roundtrip)
    # The longest work units first, so that two workers finish together.
    rank = {unit: i for i, unit in enumerate(FIRST)}
    items.sort(key=lambda item: rank.get(work_unit(item.nodeid), len(FIRST)))


# --- Parallel runs: which tests must share a worker -----------------------------------------
# `make test` runs `pytest -n 2 --dist loadscope`: xdist hands each worker whole work units,
# and a session fixture lives once per worker. So every test of the course copy (one execution
# of each chapter, one site build) is one unit, each assignment's round-trip cohort is one
# unit, and every other module is its own.
COURSE_COPY = "course-copy"
COURSE_COPY_MODULES = ("tests/test_ch0*.py", "tests/test_chapters_executed.py", "tests/test_site.py",
                       "tests/test_leaks.py", "tests/test_book_pages.py")
COHORT_MODULE = "tests/test_roundtrips.py"
FIRST = [COURSE_COPY] + [f"{COHORT_MODULE}::{aid}" for aid in ("a3_inception", "a1_vgg", "a4_resnet", "a2_finetune")] + [
    "tests/test_cohort_grading.py", "tests/test_sandbox.py", "tests/test_integrity.py", "tests/test_grader_faults.py",
    "tests/test_cohort_postgres.py", "tests/test_collect_hostile.py", "tests/test_release_sync.py"]


def work_unit(nodeid: str) -> str:
    module = nodeid.split("::")[0]
    if any(fnmatch(module, pattern) for pattern in COURSE_COPY_MODULES):
        return COURSE_COPY
    cohort = re.search(r"\[(a\d_[a-z]+)", nodeid) if module == COHORT_MODULE else None
    return f"{module}::{cohort.group(1)}" if cohort else module


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadScopeScheduling

    class ByWorkUnit(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    return ByWorkUnit(config, log)
