"""The grading sandbox (course_grader/sandbox): each malicious submission fails at its attack and
still gets a grade; nothing of the grader, the course or the other students changes.

One toy cohort (roundtrip.square_source) is graded in two runs: first an honest student (alice),
then the attackers of tests/sandbox_attacks/. Between the runs every file of
the course and every gradebook row is recorded; the attackers' run may add their own rows and
files, and nothing else. The unit tests at the end need neither root nor bubblewrap.
"""
from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import runpy
import socket
import sqlite3
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from nbformat.v4 import new_code_cell
from traitlets.config import Config

import roundtrip
from course_grader import cli, gradebook
from course_grader.course import Course
from course_grader.sandbox import bwrap as sandbox

AID = roundtrip.SQUARE
ATTACKS_DIR = Path(__file__).parent / "sandbox_attacks"
ATTACKS = sorted(p.stem for p in ATTACKS_DIR.glob("x*.py"))
HONEST = ("alice",)
# Limits of the graded cohort: small, so that the hogs hit them fast.
CPU_S, MEM_GB, TMP_MB = 8, 1.5, 64
# What nbgrader_config.py must contain for the sandbox (the repository's copy may already have it).
CONFIG_HOOK = "\nfrom course_grader.sandbox import bwrap as _sandbox\n_sandbox.configure(c)\n"

SANDBOX_OK, SANDBOX_WHY = sandbox.available()
needs_sandbox = pytest.mark.skipif(not SANDBOX_OK, reason=f"grading sandbox unavailable here: {SANDBOX_WHY}")


def load_attack(name: str, fill: dict[str, str]) -> dict:
    ns = runpy.run_path(str(ATTACKS_DIR / f"{name}.py"))

    def filled(text: str) -> str:
        for key, value in fill.items():
            text = text.replace(f"@{key}@", value)
        return text

    return {"SQUARE": ns["SQUARE"], "CELLS": [filled(c) for c in ns["CELLS"]], "SCORE": ns["SCORE"],
            "REFUSED": [filled(t) for t in ns["REFUSED"]], "NEVER": [filled(t) for t in ns["NEVER"]]}


def attacker_submission(attack: dict, release: Path, solutions: Path) -> nbformat.NotebookNode:
    """The release filled in (square: the attack's or the reference's), the attack cells after it."""
    cells = {"square": attack["SQUARE"]} if attack["SQUARE"] else None
    nb = roundtrip.make_submission(AID, cells, release=release, solutions=solutions)
    at = 1 + next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "square")
    nb.cells[at:at] = [new_code_cell(src) for src in attack["CELLS"]]
    return nb


def file_hashes(course: Path) -> dict[str, str]:
    return {p.relative_to(course).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(course.rglob("*")) if p.is_file()}


def gradebook_rows(db: Path) -> dict[str, set[tuple]]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: set(con.execute(f'SELECT * FROM "{t}"')) for t in tables}
    finally:
        con.close()


def processes_mentioning(word: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if word in text:
            found.append(f"{cmdline.parent.name}: {text}")
    return found


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sandbox")
    course, solutions = roundtrip.toy_course(tmp, {AID: roundtrip.square_source()})
    config = course / "nbgrader_config.py"
    if "sandbox.configure(c)" not in config.read_text():  # until the repository's config has the hook
        config.write_text(config.read_text() + CONFIG_HOOK)
    release = course / "assignments"
    marker = uuid.uuid4().hex[:12]
    fill = {"COURSE": str(course), "MARKER": marker, "ALICE": f"alice-private-{marker}",
            "SLEEP": str(900_000 + int(marker[:5], 16) % 99_999), "CPU_S": f"{CPU_S:g}", "MEM_GB": f"{MEM_GB:g}"}
    listener = socket.create_server(("127.0.0.1", 0))  # stands in for any port of the grader's machine
    listener.setblocking(False)
    fill["PORT"] = str(listener.getsockname()[1])
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(sandbox.MODE_ENV, raising=False)
        mp.setenv(sandbox.CPU_ENV, str(CPU_S))
        mp.setenv("COURSE_KERNEL_MEMORY_GB", str(MEM_GB))
        mp.setenv(sandbox.TMP_ENV, str(TMP_MB))
        mp.setenv("COURSE_WORKERS", "2")
        honest = {
            "alice": roundtrip.write_unexecuted(roundtrip.make_submission(
                AID, {"square": f"def square(x):\n    # {fill['ALICE']}\n    return x * x"},
                release=release, solutions=solutions), tmp / "w" / "alice", AID),
        }
        first = roundtrip.grade_cohort(AID, honest, course)
        files_before = file_hashes(course)
        rows_before = gradebook_rows(course / "gradebook.db")
        dump_before = roundtrip.gradebook_dump(Course(course).db_url, AID)
        attacks = {name: load_attack(name, fill) for name in ATTACKS}
        subs = {name: roundtrip.write_unexecuted(attacker_submission(a, release, solutions), tmp / "w" / name, AID)
                for name, a in attacks.items()}
        start = time.monotonic()
        cohort = roundtrip.grade_cohort(AID, subs, course)
        seconds = time.monotonic() - start
    try:
        listener.accept()
        reached = True
    except BlockingIOError:
        reached = False
    finally:
        listener.close()
    return SimpleNamespace(course=course, first=first, cohort=cohort, attacks=attacks, marker=marker, fill=fill,
                           files_before=files_before, files_after=file_hashes(course),
                           rows_before=rows_before, rows_after=gradebook_rows(course / "gradebook.db"),
                           dump_before=dump_before, dump_after=roundtrip.gradebook_dump(Course(course).db_url, AID),
                           listener_reached=reached, seconds=seconds)


def is_attackers(path: str) -> bool:
    return any(name in path for name in ATTACKS)


@needs_sandbox
def test_an_honest_student_is_graded_as_usual_in_the_sandbox(graded):
    assert graded.first.scores["alice"] == graded.first.max_scores == {"test_square": 2.0}


@needs_sandbox
def test_course_grade_records_and_reports_that_the_sandbox_was_on(graded):
    states = graded.course / "reports" / AID / "grading"
    assert {json.loads(p.read_text())["sandbox"] for p in states.glob("*.json")} == {"on"}
    cli.write_report(Course(graded.course), AID, quiet=True)
    page = (graded.course / "reports" / AID / "report.html").read_text()
    assert "on (course_grader/sandbox)" in page and "Graded without the grading sandbox" not in page


@needs_sandbox
@pytest.mark.parametrize("name", ATTACKS)
def test_attack_fails_and_the_attacker_still_gets_a_grade(graded, name):
    attack, cohort = graded.attacks[name], graded.cohort
    expected = attack["SCORE"] if attack["SCORE"] is not None else sum(cohort.max_scores.values())
    assert cohort.total(name) == expected, f"{name}: score {cohort.scores.get(name)}"
    text = roundtrip.visible_text(cohort.feedback(name))
    for said in attack["REFUSED"]:
        assert said in text, f"{name}: the feedback does not say {said!r}"
    for leaked in attack["NEVER"]:
        assert leaked not in text, f"{name}: the feedback shows {leaked!r}"


@needs_sandbox
def test_no_file_outside_the_attackers_own_folders_changed(graded):
    before, after = graded.files_before, graded.files_after
    changed = {p for p in before if before[p] != after.get(p)}
    # The grader's own outputs may change; a file naming an honest student may not.
    grader_outputs = {p for p in changed if p == "gradebook.db"
                      or (p.startswith("reports/") and not any(h in p for h in HONEST))}
    assert changed - grader_outputs == set()
    new = {p for p in set(after) - set(before) if not is_attackers(p) and not p.startswith("reports/")}
    assert new == set()
    assert not any(graded.marker in p and not is_attackers(p) for p in after)


@needs_sandbox
def test_gradebook_rows_of_everyone_else_are_unchanged(graded):
    for table, rows in graded.rows_before.items():
        assert rows <= graded.rows_after[table], f"rows of {table} changed or vanished"
    for student in HONEST:
        assert graded.dump_after[student] == graded.dump_before[student]
    con = sqlite3.connect(graded.course / "gradebook.db")
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()


@needs_sandbox
def test_nothing_reached_the_network_the_host_tmp_or_the_environment(graded):
    assert not graded.listener_reached
    marker = graded.marker
    assert not Path(f"/tmp/evil-{marker}").exists()
    import site
    assert not any(Path(p, f"evil-{marker}.pth").exists() for p in site.getsitepackages())
    mine = graded.course / "autograded" / "x5_write_outside" / AID / f"mine-{marker}.txt"
    assert mine.read_text() == "the working copy is writable"          # its own folder stays writable
    assert mine.stat().st_uid == (graded.course / "gradebook.db").stat().st_uid  # and is given back


@needs_sandbox
def test_processes_forked_by_a_kernel_are_gone_after_grading(graded):
    heartbeat = graded.course / "autograded" / "x6_fork_survivor" / AID / f"heartbeat-{graded.marker}.txt"
    assert heartbeat.exists(), "the daemon never ran, so this test proves nothing"
    size = heartbeat.stat().st_size
    time.sleep(1.0)
    assert heartbeat.stat().st_size == size
    assert processes_mentioning(graded.fill["SLEEP"]) == []


@needs_sandbox
def test_private_sandbox_directories_are_removed(graded):
    """Each kernel's private directory goes with it (the grading workers that made them have exited)."""
    import tempfile
    left = []
    for path in Path(tempfile.gettempdir()).glob("course-sandbox-*-*"):
        pid = path.name.split("-")[2]
        if pid.isdigit() and not Path("/proc", pid).exists():
            left.append(path.name)
    assert left == []


# --- unit tests: no root, no bubblewrap needed ------------------------------------------------------

@pytest.fixture
def fresh_probe():
    sandbox.available.cache_clear()
    yield
    sandbox.available.cache_clear()


def test_available_says_why_not_as_an_ordinary_user(monkeypatch, fresh_probe):
    monkeypatch.setattr(sandbox.os, "geteuid", lambda: 1000)
    ok, why = sandbox.available()
    assert not ok and "root" in why


def test_available_says_why_without_bubblewrap(monkeypatch, fresh_probe):
    monkeypatch.setattr(sandbox.os, "geteuid", lambda: 0)
    monkeypatch.setenv(sandbox.BWRAP_ENV, "/nonexistent/bwrap")
    ok, why = sandbox.available()
    assert not ok and "apt-get install -y bubblewrap" in why


def test_available_says_why_when_namespaces_are_refused(monkeypatch, fresh_probe, tmp_path):
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: Creating new namespace failed: Operation not permitted' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(sandbox.os, "geteuid", lambda: 0)
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: str(fake) if "bwrap" in name else "/usr/bin/setpriv")
    ok, why = sandbox.available()
    assert not ok and "Creating new namespace failed: Operation not permitted" in why


def test_grading_refuses_without_the_flag_and_the_report_says_so_with_it(monkeypatch):
    monkeypatch.setattr(sandbox, "available", lambda: (False, "simulated: bubblewrap is missing"))
    with pytest.raises(sandbox.SandboxUnavailable, match="--unsafe-no-sandbox") as refused:
        sandbox.grading_mode()
    assert "simulated: bubblewrap is missing" in str(refused.value)
    mode = sandbox.grading_mode(unsafe_no_sandbox=True)
    assert not mode.sandboxed and mode.env == {sandbox.MODE_ENV: "off"}
    assert "WITHOUT A SANDBOX" in mode.note and "simulated: bubblewrap is missing" in mode.note


def test_course_grade_refuses_where_the_sandbox_cannot_run_and_grades_nothing(monkeypatch, tmp_path, capsys):
    course, solutions = roundtrip.toy_course(tmp_path, {AID: roundtrip.square_source()})
    nb = roundtrip.make_submission(AID, release=course / "assignments", solutions=solutions)
    roundtrip.submit(course, AID, "s1", roundtrip.write_unexecuted(nb, tmp_path / "w" / "s1", AID))
    monkeypatch.setattr(sandbox, "available", lambda: (False, "simulated: not root"))
    with pytest.raises(SystemExit) as exited:
        cli.main(["--root", str(course), "grade", AID])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "refusing to grade" in err and "simulated: not root" in err and "--unsafe-no-sandbox" in err
    assert not (course / "autograded").exists() and not (course / "reports" / AID / "grading").exists()


def test_unsafe_no_sandbox_grades_and_the_report_says_so(monkeypatch, tmp_path):
    course, solutions = roundtrip.toy_course(tmp_path, {AID: roundtrip.square_source()})
    nb = roundtrip.make_submission(AID, release=course / "assignments", solutions=solutions)
    roundtrip.submit(course, AID, "s1", roundtrip.write_unexecuted(nb, tmp_path / "w" / "s1", AID))
    monkeypatch.setattr(sandbox, "available", lambda: (False, "simulated: not root"))
    monkeypatch.setenv("COURSE_WORKERS", "1")
    cli.main(["--root", str(course), "grade", AID, "--unsafe-no-sandbox"])
    assert gradebook.scores(Course(course).db_url, AID) == {"s1": {"test_square": 2.0}}
    state = json.loads((course / "reports" / AID / "grading" / "s1.json").read_text())
    assert state["sandbox"] == "off"
    cli.write_report(Course(course), AID, quiet=True)
    page = (course / "reports" / AID / "report.html").read_text()
    assert "Graded without the grading sandbox" in page and "OFF (--unsafe-no-sandbox)" in page


def test_a_kernel_never_starts_outside_the_sandbox_when_it_cannot_run(monkeypatch, tmp_path):
    """So plain `nbgrader autograde` with the config hook fails loudly instead of running unconfined."""
    monkeypatch.setenv(sandbox.BWRAP_ENV, "/nonexistent/bwrap")
    km = sandbox.SandboxKernelManager(kernel_name="python3")
    with pytest.raises(sandbox.SandboxUnavailable, match="root|bubblewrap"):
        asyncio.run(km.start_kernel(cwd=str(tmp_path)))
    assert not km.has_kernel


def test_configure_swaps_nbgrader_execute_unless_switched_off(monkeypatch):
    c = Config()
    monkeypatch.delenv(sandbox.MODE_ENV, raising=False)
    sandbox.configure(c)
    sandbox.configure(c)  # idempotent
    pps = c.Autograde.autograde_preprocessors
    assert pps[0] == sandbox.SANDBOXED_EXECUTE and len(pps) == len(set(map(str, pps)))
    from nbgrader.preprocessors import Execute
    assert Execute not in pps
    monkeypatch.setenv(sandbox.MODE_ENV, "off")
    c = Config()
    sandbox.configure(c)
    assert "autograde_preprocessors" not in c.Autograde


def test_kernel_command_shows_only_the_working_copy_and_no_secrets(tmp_path):
    course = tmp_path / "course"
    work = course / "autograded" / "s1" / AID
    work.mkdir(parents=True)
    (course / "solutions").mkdir()
    private = tmp_path / "private"
    settings = sandbox.SandboxConfig(uid=65534, gid=65534, limits=sandbox.Limits(10, 1, 64, 1, 100),
                                read_only=(tmp_path / "data",), bwrap="/usr/bin/bwrap", setpriv="/usr/bin/setpriv")
    env = sandbox.kernel_environment({"COURSE_PROFILE": "smoke", "COURSE_DB_URL": "postgresql://u:pw@h/db",
                                      "PGPASSWORD": "pw", "AWS_SECRET_ACCESS_KEY": "k", "LANG": "C.UTF-8"})
    cmd = sandbox.kernel_command(settings, ["python", "-m", "ipykernel_launcher", "-f", "x.json"], work, private, env)
    text = " ".join(cmd)
    for flag in ("--unshare-net", "--unshare-pid", "--die-with-parent", "--clearenv", "--no-new-privs"):
        assert flag in cmd
    binds = [cmd[i + 1] for i, arg in enumerate(cmd) if arg in ("--bind", "--ro-bind", "--ro-bind-try", "--dev-bind")]
    assert str(work) in binds and str(tmp_path / "data") in binds
    assert not any(Path(b) in work.parents for b in binds)  # nothing that holds the course is visible
    assert "pw" not in cmd and "postgresql" not in text and "AWS_SECRET" not in text
    assert ["--setenv", "COURSE_PROFILE", "smoke"] == cmd[cmd.index("COURSE_PROFILE") - 1:cmd.index("COURSE_PROFILE") + 2]
    assert cmd[cmd.index("--reuid") + 1] == "65534"
    exposing = dataclasses.replace(settings, read_only=(course,))
    with pytest.raises(sandbox.SandboxUnavailable, match="whole course"):
        sandbox.kernel_command(exposing, ["python"], work, private, env)


def test_data_paths_agree_with_course_utils_data():
    from course_utils import data
    paths = sandbox.data_paths()
    if "COURSE_DATA_DIR" in paths:
        assert paths["COURSE_DATA_DIR"] == data.data_root().resolve()
    assert paths["COURSE_CACHE_DIR"] == data.cache_dir().resolve()


# --- cost (not in CI) ----------------------------------------------------------------------------

@needs_sandbox
@pytest.mark.slow
def test_sandbox_cost_per_submission(tmp_path):
    """nbgrader autograde of the same correct submissions with and without the sandbox, alternating.

    Measure: .venv/bin/python -m pytest tests/test_sandbox.py -m slow -k cost -s -p no:cacheprovider
    """
    import statistics
    seconds: dict[str, list[float]] = {"off": [], "on": []}
    scores = {}
    for round_, mode in enumerate(["off", "on", "off", "on"]):
        course, solutions = roundtrip.toy_course(tmp_path / f"{round_}{mode}", {AID: roundtrip.square_source()})
        config = course / "nbgrader_config.py"
        if "sandbox.configure(c)" not in config.read_text():
            config.write_text(config.read_text() + CONFIG_HOOK)
        nb = roundtrip.make_submission(AID, release=course / "assignments", solutions=solutions)
        students = [f"s{i}" for i in range(3)]
        for s in students:
            roundtrip.submit(course, AID, s, roundtrip.write_unexecuted(nb, tmp_path / f"{round_}{mode}" / "w" / s, AID))
        start = time.monotonic()
        Course(course).nbgrader("autograde", AID, "--force", quiet=True, env={sandbox.MODE_ENV: mode})
        seconds[mode].append((time.monotonic() - start) / len(students))
        scores[mode] = gradebook.scores(Course(course).db_url, AID)
    print(f"\nnbgrader autograde, toy assignment, stock python3 kernel, seconds per submission: "
          f"sandbox {statistics.median(seconds['on']):.2f} {seconds['on']}, "
          f"no sandbox {statistics.median(seconds['off']):.2f} {seconds['off']}")
    assert scores["on"] == scores["off"] == {s: {"test_square": 2.0} for s in ("s0", "s1", "s2")}


@needs_sandbox
@pytest.mark.slow
def test_sandbox_cost_per_kernel(tmp_path, monkeypatch):
    """Start a kernel, run one cell, shut it down: with and without the sandbox, alternating.

    Measure: .venv/bin/python -m pytest tests/test_sandbox.py -m slow -k cost -s -p no:cacheprovider
    """
    import statistics
    from jupyter_client.manager import AsyncKernelManager
    from course_grader.sandbox import kernel
    kernel.write_kernelspec(tmp_path / "jupyter", 4.0)
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))

    async def once(manager_class, name: str) -> float:
        work = tmp_path / uuid.uuid4().hex
        work.mkdir()
        start = time.monotonic()
        km = manager_class(kernel_name=name)
        await km.start_kernel(cwd=str(work), extra_arguments=["--HistoryManager.hist_file=:memory:"])
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=300)
            reply = await kc._async_execute_interactive("x = sum(range(10))", timeout=60)
            assert reply["content"]["status"] == "ok"
        finally:
            kc.stop_channels()
            await km.shutdown_kernel()
        return time.monotonic() - start

    for name in ("python3", kernel.KERNEL_NAME):
        runs = {"no sandbox": [], "sandbox": []}
        for _ in range(3):
            runs["no sandbox"].append(asyncio.run(once(AsyncKernelManager, name)))
            runs["sandbox"].append(asyncio.run(once(sandbox.SandboxKernelManager, name)))
        print(f"\n{name} kernel, start + one cell + shutdown, median of 3: "
              + ", ".join(f"{k} {statistics.median(v):.2f} s" for k, v in runs.items()))
