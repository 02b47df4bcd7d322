"""bench/: the smoke run prints its table, and each course-level part handles what it finds.

Timings are not checked (noisy, and not CI's business); that every part runs and reports is.
The slow parts (real chapters, nbgrader, the Jupyter Book build) run here on stand-ins; their
real runs are covered by the notebook, round-trip and site tests.
"""
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

from conftest import ROOT, requires_cifar10

sys.path.insert(0, str(ROOT))   # bench/ is a top-level folder, not an installed package
import bench  # noqa: E402
import torch  # noqa: E402

from bench import course, throughput  # noqa: E402
from course_utils.config import get_profile  # noqa: E402

SMOKE = get_profile("smoke")


@requires_cifar10
def test_smoke_bench_prints_a_table_with_loader_and_fit_ratios(capsys):
    rows = bench.main(["--profile", "smoke", "--only", "loader,fit,gpu,speedrun"])
    gpu_rows = ["gpu"] * len(throughput.GPU_MODELS)   # one per course model, "n/a" rows without CUDA
    assert [r.part for r in rows] == ["loader", "fit", *gpu_rows, "speedrun"]
    table = capsys.readouterr().out.split("bench results", 1)[1]
    for part in ("loader", "fit"):
        [line] = [line for line in table.splitlines() if line.startswith(part + " ")]
        assert "×" in line and "img/s" in line, line
        assert float(line.split("×")[0].split()[-1]) > 0


def test_python_m_bench_is_the_command():
    proc = subprocess.run([sys.executable, "-m", "bench", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert all(part in proc.stdout for part in bench.PARTS)


def test_unknown_part_is_refused():
    with pytest.raises(SystemExit):
        bench.main(["--only", "loader,nonsense"])


def write_notebook(path: Path, markdown: str, *code: str) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(markdown)]
                                  + [nbformat.v4.new_code_cell(c) for c in code])
    nbformat.write(nb, path)
    return path


def test_chapters_are_timed_stubs_skipped_and_failures_reported(tmp_path):
    ready = write_notebook(tmp_path / "01_ready.ipynb", "# Ready", "x = 1", "y = x + 1", "print(y)")
    stub = write_notebook(tmp_path / "02_stub.ipynb", "*This chapter is being written.*", "x = 1", "print(x)")
    broken = write_notebook(tmp_path / "03_broken.ipynb", "# Broken", "x = 1", "y = 2", "1 / 0")
    rows = {name: (seconds, note) for name, seconds, note in course.chapter_times(SMOKE, [ready, stub, broken])}
    assert rows["01_ready"][0] > 0 and rows["01_ready"][1] == ""
    assert rows["02_stub"] == (None, "skipped: still a stub")
    assert rows["03_broken"][0] is None and "ZeroDivisionError" in rows["03_broken"][1]


def test_a_chapter_with_only_the_setup_cells_counts_as_a_stub():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Chapter"),
                                         nbformat.v4.new_code_cell("import course_utils"),
                                         nbformat.v4.new_code_cell("show_setup()")])
    assert course.is_stub(nb)
    nb.cells.append(nbformat.v4.new_code_cell("train()"))
    assert not course.is_stub(nb)


def test_autograde_is_not_available_without_the_round_trip_harness(tmp_path, monkeypatch):
    monkeypatch.setattr(course, "ROOT", tmp_path)
    monkeypatch.delitem(sys.modules, "roundtrip", raising=False)
    [(name, seconds, note)] = course.autograde_times(SMOKE)
    assert seconds is None and note.startswith("n/a")


def test_site_is_built_cold_then_cached_in_a_copy_of_the_project(monkeypatch):
    from course_tools import site
    calls = []

    def fake_build(profile=None, strict=True, root=None, capture=False, check=True):
        calls.append((profile, Path(root), (Path(root) / "_config.yml").exists(),
                      (Path(root) / "book" / "_build").exists()))
        return SimpleNamespace(ok=True, returncode=0, log="")
    monkeypatch.setattr(site, "build", fake_build)
    rows = course.site_times(SMOKE)
    assert [r[0] for r in rows] == ["cold build", "cached build"]
    assert all(seconds is not None for _, seconds, _ in rows)
    (p1, root1, config1, built1), (p2, root2, _, _) = calls
    assert p1 == p2 == "smoke" and root1 == root2 != ROOT
    assert config1 and not built1, "the cold build must start from a copy without book/_build"


def test_speedrun_needs_cuda_on_a_cpu_machine(monkeypatch):
    monkeypatch.setattr(course.torch.cuda, "is_available", lambda: False)
    assert course.speedrun_result(SMOKE) == ("n/a", "needs CUDA")


def test_speedrun_row_reports_accuracy_and_time_on_cuda(monkeypatch):
    from course_utils import speedrun
    result = SimpleNamespace(test_acc=0.9391, test_acc_tta=0.9412, wall_s=41.5, device="NVIDIA H100")
    calls = []
    monkeypatch.setattr(course.torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(speedrun, "speed_run", lambda profile, quiet=False: calls.append(profile) or (None, result))
    value, detail = course.speedrun_result(SMOKE)
    assert calls == [SMOKE]
    assert value == "94.12% in 41.5 s" and "NVIDIA H100" in detail


def test_table_aligns_columns():
    rows = [bench.Row("loader", "a", "12.0×", "detail"), bench.Row("chapter", "longer name", "3.0 s")]
    lines = bench.format_table(rows).splitlines()
    assert lines[0].split() == ["part", "what", "result", "detail"]
    assert len({line.index(r.value) + len(r.value) for line, r in zip(lines[1:], rows)}) == 1


def test_gpu_part_without_cuda_says_so_for_every_course_model(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    rows = bench.main(["--profile", "smoke", "--only", "gpu"])
    assert [r.what for r in rows] == [f"fit on {m}" for m in throughput.GPU_MODELS]
    assert {"ResNet-20 (A4)", "VGG-11-BN (A1)", "CifarGoogLeNet (A3)", "ResNet-9 (speed run)"} == set(throughput.GPU_MODELS)
    assert all(r.value == "n/a" and r.detail == "n/a: no CUDA" for r in rows)
    table = capsys.readouterr().out.split("bench results", 1)[1]
    assert table.count("n/a: no CUDA") == 4


def test_gpu_part_puts_eager_and_the_graph_path_side_by_side(monkeypatch):
    fake = [{"model": "ResNet-20 (A4)", "img_s": {"eager": 1000.0, "cuda graph": 2500.0, "cuda graph + bf16 + channels_last": 2000.0},
             "loss": {"eager": 1.2, "cuda graph": 1.2, "cuda graph + bf16 + channels_last": 1.25},
             "step": {"eager": "eager", "cuda graph": "cuda graph", "cuda graph + bf16 + channels_last": "cuda graph"}}]
    monkeypatch.setattr(throughput, "gpu_paths", lambda profile: fake)
    [row] = bench.measure(SMOKE, ("gpu",), report=lambda r: None)
    assert row.value == "2.50×"
    assert "eager 1,000 img/s" in row.detail and "cuda graph 2,500 img/s" in row.detail


def test_the_gpu_models_are_the_references_and_the_speed_run():
    from course_utils.config import get_profile
    for name in throughput.GPU_MODELS:
        model = throughput.course_model(name, get_profile("smoke"))
        assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10), name
