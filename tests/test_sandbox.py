"""The grading sandbox (course_grader/sandbox): each malicious submission fails at its attack and
still gets a grade; honest students graded beside the attackers get theirs; nothing of the
grader, the course or the other students changes (content or mode).

One toy cohort (roundtrip.square_source) is graded in two runs: first an honest student (alice),
then the attackers of tests/sandbox_attacks/ together with a second honest student (bob), with
two workers. Between the runs every file of the course (content and mode) and every gradebook row
is recorded; the attackers' run may add their own rows and the grader's outputs, and nothing else.
The unit tests at the end need neither root nor bubblewrap.
"""
from __future__ import annotations

import hashlib
import json
import os
import runpy
import socket
import sqlite3
import stat
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
HONEST = ("alice", "bob")
# Limits of the graded cohort: small, so that the hogs hit them fast.
CPU_S, MEM_GB, TMP_MB, CELL_S = 8, 1.5, 64, 10
LIMITS = (f"\nc.JudgeExecute.cpu_seconds = {CPU_S}\nc.JudgeExecute.memory_gb = {MEM_GB}\n"
          f"c.JudgeExecute.tmp_mb = {TMP_MB}\nc.JudgeExecute.cell_timeout = {CELL_S}\n")

SANDBOX_OK, SANDBOX_WHY = sandbox.available()
needs_sandbox = pytest.mark.skipif(not SANDBOX_OK, reason=f"grading sandbox unavailable here: {SANDBOX_WHY}")


def load_attack(name: str, fill: dict[str, str]) -> dict:
    ns = runpy.run_path(str(ATTACKS_DIR / f"{name}.py"))

    def filled(text: str) -> str:
        for key, value in fill.items():
            text = text.replace(f"@{key}@", value)
        return text

    return {"SQUARE": ns["SQUARE"], "CELLS": [filled(c) for c in ns["CELLS"]], "SCORE": ns["SCORE"],
            "REFUSED": [filled(t) for t in ns["REFUSED"]], "FEEDBACK": [filled(t) for t in ns["FEEDBACK"]],
            "NEVER": [filled(t) for t in ns["NEVER"]]}


RECORDED = """\
import contextlib, io
_out = io.StringIO()
try:
    with contextlib.redirect_stdout(_out):
{body}
    _seen.append(_out.getvalue()[:2000])
except BaseException as _exc:  # the refusal, whatever its kind
    _seen.append(_out.getvalue()[:2000] + f"{{type(_exc).__name__}}: {{_exc}}")
"""


def attacker_submission(attack: dict, release: Path, solutions: Path) -> nbformat.NotebookNode:
    """The release filled in, each attack cell recording how it ended, and (for an attacker who
    answers correctly) a `square` that is right only if every expected refusal happened."""
    cells = {"square": attack["SQUARE"]} if attack["SQUARE"] else None
    nb = roundtrip.make_submission(AID, cells, release=release, solutions=solutions)
    at = 1 + next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "square")
    added = ["_seen = []"]
    for src in attack["CELLS"]:
        body = "\n".join("        " + line for line in src.splitlines())
        added.append(RECORDED.format(body=body))
    if attack["SQUARE"] is None:
        added.append(f"_refused = all(any(r in s for s in _seen) for r in {attack['REFUSED']!r})\n"
                     "def square(x):\n    return x * x if _refused else x + x")
    nb.cells[at:at] = [new_code_cell(src) for src in added]
    return nb


def file_states(course: Path) -> dict[str, tuple[str, int]]:
    """Every file and folder of the course: content digest (files) and mode, links not followed."""
    states = {}
    for p in sorted(course.rglob("*")):
        st = p.lstat()
        digest = hashlib.sha256(p.read_bytes()).hexdigest() if stat.S_ISREG(st.st_mode) else ""
        states[p.relative_to(course).as_posix()] = (digest, stat.S_IMODE(st.st_mode))
    return states


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


def honest_submission(name: str, fill: dict, release: Path, solutions: Path, tmp: Path) -> Path:
    nb = roundtrip.make_submission(AID, {"square": f"def square(x):\n    # {fill['ALICE']}\n    return x * x"},
                                   release=release, solutions=solutions)
    return roundtrip.write_unexecuted(nb, tmp / "w" / name, AID)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sandbox")
    course, solutions = roundtrip.toy_course(tmp, {AID: roundtrip.square_source()})
    config = course / "nbgrader_config.py"
    config.write_text(config.read_text() + LIMITS)
    release = course / "assignments"
    marker = uuid.uuid4().hex[:12]
    fill = {"COURSE": str(course), "MARKER": marker, "ALICE": f"alice-private-{marker}",
            "SLEEP": str(900_000 + int(marker[:5], 16) % 99_999)}
    listener = socket.create_server(("127.0.0.1", 0))  # stands in for any port of the grader's machine
    listener.setblocking(False)
    fill["PORT"] = str(listener.getsockname()[1])
    secret = Path("/etc/shadow")
    shadow_before = (secret.stat().st_mode, hashlib.sha256(secret.read_bytes()).hexdigest()) if secret.exists() else None
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(sandbox.MODE_ENV, raising=False)
        first = roundtrip.grade_cohort(AID, {"alice": honest_submission("alice", fill, release, solutions, tmp)},
                                       course, workers=1)
        files_before = file_states(course)
        rows_before = gradebook_rows(course / "gradebook.db")
        dump_before = roundtrip.gradebook_dump(Course(course).db_url, AID)
        attacks = {name: load_attack(name, fill) for name in ATTACKS}
        subs = {name: roundtrip.write_unexecuted(attacker_submission(a, release, solutions), tmp / "w" / name, AID)
                for name, a in attacks.items()}
        subs["bob"] = honest_submission("bob", fill, release, solutions, tmp)
        start = time.monotonic()
        cohort = roundtrip.grade_cohort(AID, subs, course, workers=2)
        seconds = time.monotonic() - start
    try:
        listener.accept()
        reached = True
    except BlockingIOError:
        reached = False
    finally:
        listener.close()
    shadow_after = (secret.stat().st_mode, hashlib.sha256(secret.read_bytes()).hexdigest()) if secret.exists() else None
    return SimpleNamespace(course=course, first=first, cohort=cohort, attacks=attacks, marker=marker, fill=fill,
                           files_before=files_before, files_after=file_states(course),
                           rows_before=rows_before, rows_after=gradebook_rows(course / "gradebook.db"),
                           dump_before=dump_before, dump_after=roundtrip.gradebook_dump(Course(course).db_url, AID),
                           listener_reached=reached, seconds=seconds, shadow=(shadow_before, shadow_after))


def is_attackers(path: str) -> bool:
    return any(name in path for name in ATTACKS)


@needs_sandbox
def test_an_honest_student_is_graded_as_usual_in_the_sandbox(graded):
    assert graded.first.scores["alice"] == graded.first.max_scores == {"test_square": 2.0}


@needs_sandbox
def test_an_honest_student_graded_beside_the_attackers_gets_full_marks(graded):
    assert graded.cohort.scores["bob"] == {"test_square": 2.0}
    assert "tampering" not in roundtrip.visible_text(graded.cohort.feedback("bob"))


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
    for said in attack["FEEDBACK"]:
        assert said in text, f"{name}: the feedback does not say {said!r}"
    for leaked in attack["NEVER"]:
        assert leaked not in text, f"{name}: the feedback shows {leaked!r}"


@needs_sandbox
def test_no_file_outside_the_grader_outputs_changed_content_or_mode(graded):
    before, after = graded.files_before, graded.files_after
    changed = {p for p in before if before[p] != after.get(p)}
    # The grader's own outputs may change; a file naming an honest student who was graded before may not.
    grader_outputs = {p for p in changed if p == "gradebook.db"
                      or (p.startswith("reports/") and "alice" not in p)}
    assert changed - grader_outputs == set()
    new = {p for p in set(after) - set(before)
           if not is_attackers(p) and "bob" not in p and not p.startswith("reports/")}
    assert new == set()
    assert not any(graded.marker in p for p in after)           # nothing written by student code
    links = [p for p in graded.course.rglob("*") if p.is_symlink()]
    assert links == []
    assert graded.shadow[0] == graded.shadow[1]                 # a root-only file kept content and mode


@needs_sandbox
def test_feedback_folders_hold_only_the_feedback_page(graded):
    for folder in (graded.course / "feedback").glob(f"*/{AID}"):
        assert sorted(p.name for p in folder.iterdir()) == [f"{AID}.html"], folder
        assert (folder / f"{AID}.html").stat().st_size < 2 * 1024 ** 2


@needs_sandbox
def test_gradebook_rows_of_everyone_else_are_unchanged(graded):
    for table, rows in graded.rows_before.items():
        assert rows <= graded.rows_after[table], f"rows of {table} changed or vanished"
    assert graded.dump_after["alice"] == graded.dump_before["alice"]
    con = sqlite3.connect(graded.course / "gradebook.db")
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()


@needs_sandbox
def test_nothing_reached_the_network_the_host_tmp_or_the_environment(graded):
    assert not graded.listener_reached
    marker = graded.marker
    assert not Path(f"/tmp/evil-{marker}").exists() and not Path(f"/tmp/heartbeat-{marker}.txt").exists()
    import site
    assert not any(Path(p, f"evil-{marker}.pth").exists() for p in site.getsitepackages())


@needs_sandbox
def test_no_process_of_a_student_outlives_grading(graded):
    assert processes_mentioning(graded.fill["SLEEP"]) == []
    assert processes_mentioning(f"course_grader.worker {graded.course}") == []


@needs_sandbox
def test_staging_folders_of_the_judge_are_removed(graded):
    files = graded.course / "reports" / AID / "judge" / "files"
    assert [p for p in files.iterdir() if any(p.iterdir())] == [] if files.exists() else True


# --- one warm sandbox, students in turn -----------------------------------------------------------
# With one worker, the students below are graded in this order by judges forked from one warm judge
# (course_grader/judge/zygote.py): what each leaves behind must be gone for the next.

LEFT_BEHIND = """\
import os
for place in ('/tmp', '/dev/shm'):
    with open(f'{place}/left-@MARKER@', 'w') as f:
        f.write('for the next student')
os.makedirs('/tmp/locked-@MARKER@/inner')
open('/tmp/locked-@MARKER@/inner/file', 'w').close()
os.chmod('/tmp/locked-@MARKER@/inner', 0)
os.chmod('/tmp/locked-@MARKER@', 0)
with open('/tmp/json.py', 'w') as f:
    f.write('raise SystemExit(\"imported from /tmp\")')
print('planted')"""
LOOK_AROUND = """\
import os
planted = ['/tmp/left-@MARKER@', '/dev/shm/left-@MARKER@', '/tmp/locked-@MARKER@', '/tmp/json.py']
seen = [p for p in planted if os.path.lexists(p)]
others = []
for pid in os.listdir('/proc'):
    if pid.isdigit() and int(pid) not in (os.getpid(), os.getppid()):
        with open(f'/proc/{pid}/status') as f:
            if any(line.split()[1] == str(os.getuid()) for line in f if line.startswith('Uid:')):
                others.append(pid)
print('nothing left:', not seen and not others, seen, others)"""
IN_TURN = {
    "t1_killer": {"SQUARE": None, "REFUSED": [], "CELLS": [
        runpy.run_path(str(ATTACKS_DIR / "x12_read_judge_memory.py"))["SPAWN"]
        + "spawn(['/bin/kill', '-KILL', str(os.getppid())])\nimport time\ntime.sleep(5)"]},
    "t2_planter": {"SQUARE": None, "REFUSED": ["planted"], "CELLS": [LEFT_BEHIND]},
    "t3_spy": {"SQUARE": None, "REFUSED": ["nothing left: True"], "CELLS": [LOOK_AROUND]},
}


@pytest.fixture(scope="module")
def graded_in_turn(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("in-turn")
    course, solutions = roundtrip.toy_course(tmp, {AID: roundtrip.square_source()})
    release = course / "assignments"
    marker = uuid.uuid4().hex[:12]
    subs = {name: roundtrip.write_unexecuted(
                attacker_submission({**a, "CELLS": [c.replace("@MARKER@", marker) for c in a["CELLS"]]},
                                    release, solutions), tmp / "w" / name, AID)
            for name, a in IN_TURN.items()}
    subs["t4_honest"] = honest_submission("t4_honest", {"ALICE": marker}, release, solutions, tmp)
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(sandbox.MODE_ENV, raising=False)
        cohort = roundtrip.grade_cohort(AID, subs, course, workers=1)
    judged = {p.stem: json.loads(p.read_text()) for p in (course / "reports" / AID / "judge").glob("*.json")}
    return SimpleNamespace(cohort=cohort, judged=judged, marker=marker, course=course)


@needs_sandbox
def test_students_graded_in_turn_by_one_warm_judge_find_nothing_of_the_ones_before(graded_in_turn):
    scores, judged = graded_in_turn.cohort.scores, graded_in_turn.judged
    assert set(scores) == {*IN_TURN, "t4_honest"}                      # everyone has a grade
    for student in ("t2_planter", "t3_spy", "t4_honest"):
        assert scores[student] == {"test_square": 2.0}, (student, scores[student])
    assert [judged[s]["warm"]["judge"] for s in ("t2_planter", "t3_spy", "t4_honest")] == [1, 2, 3]
    assert len({judged[s]["warm"]["sandbox"] for s in ("t2_planter", "t3_spy", "t4_honest")}) == 1


@needs_sandbox
def test_a_student_who_kills_the_warm_judge_loses_only_their_own_checks(graded_in_turn):
    scores, judged = graded_in_turn.cohort.scores, graded_in_turn.judged
    assert scores["t1_killer"] == {"test_square": 0.0}
    assert "was not run" in roundtrip.visible_text(graded_in_turn.cohort.feedback("t1_killer"))
    assert judged["t1_killer"]["warm"]["sandbox"] != judged["t2_planter"]["warm"]["sandbox"]
    assert judged["t1_killer"]["exit_code"] != 0
    assert processes_mentioning(str(graded_in_turn.course)) == []       # no sandbox outlives grading


@needs_sandbox
def test_a_fresh_sandbox_per_submission_grades_the_same(tmp_path):
    course, solutions = roundtrip.toy_course(tmp_path, {AID: roundtrip.square_source()})
    config = course / "nbgrader_config.py"
    config.write_text(config.read_text() + "\nc.JudgeExecute.warm = False\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(sandbox.MODE_ENV, raising=False)
        cohort = roundtrip.grade_cohort(AID, {"alice": honest_submission("alice", {"ALICE": "a"}, course / "assignments",
                                                                        solutions, tmp_path)}, course, workers=1)
    assert cohort.scores["alice"] == {"test_square": 2.0}
    summary = json.loads((course / "reports" / AID / "judge" / "alice.json").read_text())
    assert summary["warm"] is None and summary["exit_code"] == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="making a folder of another uid needs root")
def test_clearing_a_warm_sandbox_removes_what_its_uid_wrote_and_leaves_the_mount_points(tmp_path):
    """Read-only paths under /tmp (a checkout in /tmp) are mount points of root in the sandbox's
    /tmp: clearing must leave them, and still remove everything of its own uid."""
    from course_grader.judge import zygote
    locked = tmp_path / "locked" / "inner"
    locked.mkdir(parents=True)
    (locked / "file").write_text("left for the next student")
    os.chmod(locked, 0)
    os.chmod(locked.parent, 0)
    (tmp_path / "json.py").write_text("raise SystemExit")
    (tmp_path / "link").symlink_to("/etc")
    mount_point = tmp_path / "fresh"
    (mount_point / ".venv").mkdir(parents=True)
    os.chown(mount_point, 12345, 12345)
    zygote._empty(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh"]
    assert (mount_point / ".venv").is_dir()


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
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None if "bwrap" in name else "/usr/bin/setpriv")
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
    assert len(err.strip().splitlines()) == 1
    assert not (course / "autograded").exists() and not (course / "reports" / AID / "grading").exists()


def test_unsafe_no_sandbox_grades_and_the_report_says_so(monkeypatch, tmp_path):
    course, solutions = roundtrip.toy_course(tmp_path, {AID: roundtrip.square_source()})
    nb = roundtrip.make_submission(AID, release=course / "assignments", solutions=solutions)
    roundtrip.submit(course, AID, "s1", roundtrip.write_unexecuted(nb, tmp_path / "w" / "s1", AID))
    monkeypatch.setattr(sandbox, "available", lambda: (False, "simulated: not root"))
    cli.main(["--root", str(course), "grade", AID, "--unsafe-no-sandbox", "--workers", "1"])
    assert gradebook.scores(Course(course).db_url, AID) == {"s1": {"test_square": 2.0}}
    state = json.loads((course / "reports" / AID / "grading" / "s1.json").read_text())
    assert state["sandbox"] == "off"
    cli.write_report(Course(course), AID, quiet=True)
    page = (course / "reports" / AID / "report.html").read_text()
    assert "Graded without the grading sandbox" in page and "OFF (--unsafe-no-sandbox)" in page


def test_configure_replaces_nbgrader_execute_by_the_judge(monkeypatch):
    from nbgrader.preprocessors import Execute
    for mode in ("on", "off"):
        monkeypatch.setenv(sandbox.MODE_ENV, mode)
        c = Config()
        sandbox.configure(c)
        sandbox.configure(c)  # idempotent
        pps = c.Autograde.autograde_preprocessors
        assert pps[0] == sandbox.JUDGE_EXECUTE and len(pps) == len(set(map(str, pps)))
        assert Execute not in pps


def test_judge_command_shows_only_the_files_and_passes_an_allow_listed_environment(tmp_path):
    course = tmp_path / "course"
    files = tmp_path / "staged"
    files.mkdir()
    (course / "solutions").mkdir(parents=True)
    settings = sandbox.SandboxConfig(uid=61001, gid=61001, read_only=(tmp_path / "data",), bwrap="/usr/bin/bwrap",
                                     setpriv="/usr/bin/setpriv", tmp_mb=64)
    env = sandbox.judge_environment({"COURSE_PROFILE": "smoke", "COURSE_DB_URL": "postgresql://u:pw@h/db",
                                     "PGPASSWORD": "pw", "AWS_SECRET_ACCESS_KEY": "k", "LANG": "C.UTF-8",
                                     "COURSE_SMTP_PW": "mail", "GRADES_WEBHOOK": "https://hook", "COURSE_X": "y"})
    cmd = sandbox.judge_command(settings, files, env)
    text = " ".join(cmd)
    for flag in ("--unshare-net", "--unshare-pid", "--die-with-parent", "--clearenv", "--no-new-privs"):
        assert flag in cmd
    binds = [cmd[i + 1] for i, arg in enumerate(cmd) if arg in ("--bind", "--ro-bind", "--ro-bind-try", "--dev-bind")]
    assert str(files) in binds and str(tmp_path / "data") in binds and "--bind" not in cmd  # all read-only
    assert cmd[cmd.index(str(files)) + 1] == sandbox.FILES_AT       # not where it lies: no course path inside
    assert not any(Path(b) == course or Path(b) in course.parents for b in binds)
    for secret in ("pw", "postgresql", "AWS_SECRET", "mail", "hook", "COURSE_X", "COURSE_DB_URL"):
        assert secret not in text, secret
    assert ["--setenv", "COURSE_PROFILE", "smoke"] == cmd[cmd.index("COURSE_PROFILE") - 1:cmd.index("COURSE_PROFILE") + 2]
    assert cmd[cmd.index("--reuid") + 1] == "61001"


def test_each_worker_slot_has_a_uid_of_its_own():
    assert sandbox.slot_uid({sandbox.SLOT_ENV: "0"}) != sandbox.slot_uid({sandbox.SLOT_ENV: "1"})
    assert sandbox.slot_uid({sandbox.SLOT_ENV: "3"}) == sandbox.BASE_UID + 3


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
    """The judge grading the same correct submissions with and without the sandbox, alternating.

    Measure: .venv/bin/python -m pytest tests/test_sandbox.py -m slow -k cost -s -p no:cacheprovider
    """
    import statistics
    seconds: dict[str, list[float]] = {"off": [], "on": []}
    scores = {}
    for round_, mode in enumerate(["off", "on", "off", "on"]):
        course, solutions = roundtrip.toy_course(tmp_path / f"{round_}{mode}", {AID: roundtrip.square_source()})
        nb = roundtrip.make_submission(AID, release=course / "assignments", solutions=solutions)
        students = [f"s{i}" for i in range(3)]
        for s in students:
            roundtrip.submit(course, AID, s, roundtrip.write_unexecuted(nb, tmp_path / f"{round_}{mode}" / "w" / s, AID))
        start = time.monotonic()
        Course(course).nbgrader("autograde", AID, "--force", quiet=True, env={sandbox.MODE_ENV: mode})
        seconds[mode].append((time.monotonic() - start) / len(students))
        scores[mode] = gradebook.scores(Course(course).db_url, AID)
    print(f"\nnbgrader autograde through the judge, toy assignment, seconds per submission: "
          f"sandbox {statistics.median(seconds['on']):.2f} {seconds['on']}, "
          f"no sandbox {statistics.median(seconds['off']):.2f} {seconds['off']}")
    assert scores["on"] == scores["off"] == {s: {"test_square": 2.0} for s in ("s0", "s1", "s2")}
