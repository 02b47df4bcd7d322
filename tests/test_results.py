"""course_tools.results (`make results`) and course_tools.pack_data, on the CPU in smoke.

A few runs go to a temporary directory: the package's own records are never touched here.
"""
import filecmp
import subprocess
import sys

import nbformat
import pytest

from conftest import ROOT, requires_cifar10
from course_tools import pack_data, results
from course_utils import records


def snapshot(folder):
    return {p: p.stat().st_mtime_ns for p in folder.rglob("*")}


@pytest.mark.notebook   # trains the reference solutions' and chapters' code (a minute or two)
@requires_cifar10
def test_smoke_results_write_marked_records_and_leave_the_package_alone(tmp_path, capsys):
    before = snapshot(records.RECORDS_DIR)
    names = ["a4_resnet", "a2_finetune", "ch5_plain20", "ch4_googlenet", "speedrun"]
    assert results.main(["--profile", "smoke", "--only", ",".join(names), "--out", str(tmp_path),
                         "--commit", "test", "--root", str(ROOT)]) == 0
    assert snapshot(records.RECORDS_DIR) == before
    written = records.all_records(tmp_path)
    assert sorted(r.name for r in written) == sorted(names)
    for r in written:
        assert r.profile == "smoke" and r.commit == "test" and r.device.startswith("cpu")
        assert r.data_variant == "cifar10-jpeg-q75" and r.epochs >= 1 and r.wall_s > 0
        assert r.command == f"python -m course_tools.results --profile smoke --only {r.name}"
        assert r.checkpoint is None   # weights are kept for the full profile only
    a4 = records.load("a4_resnet", "smoke", tmp_path)
    assert a4.test_images == 200 and "grading subset" in a4.test_set   # what the hidden test evaluates
    assert records.load("a2_finetune", "smoke", tmp_path).test_images == 100   # the five target classes
    out = capsys.readouterr().out
    assert "results: profile smoke" in out and "smoke profile, recorded on cpu" in out


def test_every_run_name_has_a_run_and_list_names_them(capsys):
    assert list(results.RUNS)[:4] == ["a4_resnet", "a1_vgg", "a3_inception", "a2_finetune"]
    assert set(results.RUNS) == set(records.RUN_NAMES)
    assert results.main(["--list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in records.RUN_NAMES)


def test_unknown_runs_are_refused():
    with pytest.raises(SystemExit):
        results.main(["--only", "a4_resnet,a5_transformer"])


def test_make_results_calls_the_tool():
    proc = subprocess.run(["make", "-n", "-o", ".venv/.installed", "results", "PROFILE=smoke", "ONLY=a4_resnet"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "-m course_tools.results --profile smoke --only a4_resnet" in proc.stdout


def test_the_reference_is_read_from_its_solution_cells_without_markers_or_hidden_tests():
    from course_utils.config import get_profile
    ns = results.reference_namespace("a4_resnet", ROOT, get_profile("smoke"))
    assert {"BasicBlock", "make_stage", "ResNetCIFAR", "train_model"} <= set(ns)
    assert "accuracy" not in ns and "_accuracy" not in ns   # no hidden test ran
    model = ns["ResNetCIFAR"](20)
    assert sum(p.numel() for p in model.parameters()) == 272_474


def test_chapter_definitions_take_only_the_named_definitions(tmp_path):
    (tmp_path / "book").mkdir()
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("%pip install something\nimport math"),
        nbformat.v4.new_code_cell("def wanted(x):\n    return math.sqrt(x) + OFFSET\n\nraise RuntimeError('not run')"),
        nbformat.v4.new_code_cell("OFFSET = 1\nother = 2"),
    ])
    nbformat.write(nb, tmp_path / "book" / "ch.ipynb")
    ns = results.chapter_definitions("ch", ("wanted", "OFFSET"), tmp_path)
    assert ns["wanted"](4) == 3 and "other" not in ns
    with pytest.raises(KeyError, match="no longer defines"):
        results.chapter_definitions("ch", ("wanted", "gone"), tmp_path)


def test_the_chapters_still_define_what_the_runs_read():
    results.chapter_definitions("04_googlenet", ("make_googlenet", "cifar_stem", "quarter_table"), ROOT)
    results.chapter_definitions("05_resnet", ("PlainBlock", "make_stage", "he_init", "cifar_net",
                                              "train_pair_member"), ROOT, profile=None, device="cpu")


# --- packing the data for a GPU machine ------------------------------------------------------

def small_copy(root, per_class=2):
    from PIL import Image
    for split in ("train", "test"):
        for i, cls in enumerate(("airplane", "automobile")):
            d = root / split / cls
            d.mkdir(parents=True)
            for k in range(per_class + 1):
                Image.new("RGB", (32, 32), (40 * i, 20 * k, 90)).save(d / f"{k:04d}.jpg", quality=75)
    (root / "README.md").write_text("a copy\n")
    return root


def test_pack_and_unpack_give_back_the_same_files(tmp_path):
    data = small_copy(tmp_path / "data")
    archive = tmp_path / "out" / "pack.tar.gz"
    digest = pack_data.pack(data, archive)
    assert pack_data.pack(data, tmp_path / "again.tar.gz") == digest   # reproducible bytes
    unpacked = pack_data.unpack(archive, tmp_path / "there")
    compared = filecmp.dircmp(data, unpacked)
    assert not compared.left_only and not compared.right_only and not compared.diff_files
    for split in ("train", "test"):
        for cls in ("airplane", "automobile"):
            match, mismatch, errors = filecmp.cmpfiles(data / split / cls, unpacked / split / cls,
                                                       [p.name for p in (data / split / cls).iterdir()],
                                                       shallow=False)
            assert len(match) == 3 and not mismatch and not errors
    assert records.data_variant(unpacked) == "cifar10-jpeg-q75"


def test_per_class_packs_the_first_images_of_each_class(tmp_path):
    data = small_copy(tmp_path / "data")
    pack_data.pack(data, tmp_path / "p.tar.gz", per_class=1)
    unpacked = pack_data.unpack(tmp_path / "p.tar.gz", tmp_path / "there")
    assert sorted(p.name for p in (unpacked / "test" / "automobile").iterdir()) == ["0000.jpg"]


def test_pack_data_runs_as_a_command(tmp_path):
    data = small_copy(tmp_path / "data")
    out = tmp_path / "x.tar.gz"
    proc = subprocess.run([sys.executable, "-m", "course_tools.pack_data", str(out), "--data", str(data)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "sha256" in proc.stdout and out.exists()
    proc = subprocess.run([sys.executable, "-m", "course_tools.pack_data", "--unpack", str(out), str(tmp_path / "u")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and (tmp_path / "u" / "cifar10" / "train" / "airplane" / "0000.jpg").exists()


def test_the_gpu_session_script_uses_the_packed_data_and_the_two_tools():
    script = (ROOT / "bench" / "gpu_session.sh").read_text()
    assert str(pack_data.DEFAULT_OUT) in script
    assert "python -m bench --profile full --only gpu" in script
    assert "python -m course_tools.results --profile full" in script
    proc = subprocess.run(["bash", "-n", str(ROOT / "bench" / "gpu_session.sh")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
