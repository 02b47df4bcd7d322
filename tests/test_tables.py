"""Tables the chapters show: aligned text and HTML from the same rows, VGG's stages from the
table in specs, the architectures side by side from run records ("no record yet" where none
exists), and the sweep Chapter 3 runs."""
import pytest

from course_utils import experiments, records, specs, tables


def test_table_aligns_text_and_renders_html_from_the_same_rows():
    t = tables.Table(["network", "parameters"], [["a <b>", 1234567], ["c", 89]], title="T",
                     notes=["a note"])
    lines = str(t).splitlines()
    assert lines[0] == "T" and lines[-1] == "a note"
    assert lines[3].endswith("1,234,567") and lines[4].endswith("       89")   # numbers right
    html = t._repr_html_()
    assert "<td>a &lt;b&gt;</td>" in html and '<td style="text-align:right">89</td>' in html
    assert t.column("parameters") == ["1,234,567", "89"]
    with pytest.raises(ValueError):
        tables.Table(["one"], [["a", "b"]])


def test_vgg_stages_lists_layers_and_shapes_at_each_size():
    cfg = specs.VGG_CFGS["vgg11"]
    t = tables.vgg_stages(cfg, sizes=(224, 32))
    assert t.column("layers")[3] == "conv3-256, conv3-256, maxpool"
    assert t.column("output at 224×224") == [str(s) for s in specs.vgg_stage_shapes(cfg, 224)]
    assert t.column("output at 32×32")[-1] == "(512, 1, 1)"


def record(name, accuracy=0.9123, **extra):
    return records.Record(name=name, profile="full", device="NVIDIA H100 80GB HBM3",
                          data_variant="cifar10-jpeg-q75", test_accuracy=accuracy,
                          test_images=10_000, test_set="test split, all 10,000 images",
                          epochs=30, wall_s=125.0, history={}, torch="2.x", commit="abc",
                          date="2026-01-01T00:00:00+00:00", command="make results", extra=extra)


def test_compare_runs_reads_records_and_says_where_there_is_none(tmp_path):
    records.save(record("ch2_vgg11"), tmp_path)
    records.save(record("ch5_resnet20", 0.915, params=272_474), tmp_path)
    t = tables.compare_runs([*tables.CHAPTER_RUNS, "ch5_resnet20"], root=tmp_path,
                            params={"ch2_vgg11": 128_812_810})
    vgg, googlenet, resnet = t.rows
    assert vgg[:3] == ["VGG-11 (Chapter 2)", "128,812,810", "91.2 %"]
    assert vgg[4:] == ["2.1 min", "NVIDIA H100 80GB HBM3"]
    assert googlenet[0] == "CIFAR GoogLeNet (Chapter 4)" and googlenet[2] == tables.NO_RECORD
    assert resnet[1] == "272,474"                      # from the record when it carries it
    assert "data: cifar10-jpeg-q75" in t.notes


def test_sweep_times_every_method_at_every_value_and_compares_them(capsys):
    result = experiments.sweep({"(a) one": lambda n: n / 100, "(b) two": lambda n: 0.5},
                               [10, 50, 90])
    assert result.accuracy == {"(a) one": [0.1, 0.5, 0.9], "(b) two": [0.5, 0.5, 0.5]}
    assert capsys.readouterr().out.count("N = ") == 3
    assert result.compare("(a) one", "(b) two") == (
        "(a) one vs (b) two: ahead at 1 of 3 values of N, by -40.0 to +40.0 points")
    seconds = f"{result.seconds['(b) two']:.0f} s"
    assert result.table().column("(b) two") == ["50.0 %"] * 3 + [seconds]
    fig = result.plot(xlabel="N", chance=0.2)
    assert len(fig.axes[0].lines) == 3
