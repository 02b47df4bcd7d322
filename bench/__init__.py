"""Benchmarks of the course kit: ``python -m bench`` (``make bench``) prints one table.

Rows: the batched loader against torchvision's per-image DataLoader, ``fit`` against a bare
loop, on CUDA ``fit``'s eager steps against its CUDA-graph path per course model (``gpu``;
"n/a: no CUDA" rows elsewhere) and Chapter 5's speed run, each chapter's execution time,
autograde time per submission, the site build (cold, then cached), and on CUDA Chapter 6's
final recipe beside airbench94 (bench/airbench.py; "n/a: why" elsewhere). Ratios are medians of
side-by-side pairs in one process; absolute times on a shared machine are noisy, so the header
prints the load average before and after. Not part of CI's pass/fail: CI runs
``python -m bench --profile smoke`` only to prove that it works.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import asdict, dataclass

PARTS = ("loader", "fit", "gpu", "speedrun", "airbench", "chapters", "autograde", "site")


@dataclass
class Row:
    part: str
    what: str
    value: str
    detail: str = ""


def _seconds(s: float | None) -> str:
    return "n/a" if s is None else f"{s:.1f} s"


def format_table(rows: list[Row], header: str = "") -> str:
    widths = [max(len(getattr(r, f)) for r in rows + [Row("part", "what", "result")])
              for f in ("part", "what", "value")]
    lines = [header] if header else []
    for r in [Row("part", "what", "result", "detail")] + rows:
        lines.append(f"{r.part:<{widths[0]}}  {r.what:<{widths[1]}}  {r.value:>{widths[2]}}  {r.detail}".rstrip())
    return "\n".join(lines)


def _sizes(profile) -> dict:
    """How much work each throughput part does: tiny in smoke, a few seconds a side otherwise."""
    if profile.name == "smoke":
        return {"repeats": 1, "fit_repeats": 1, "loader_images": 2 * profile.batch_size,
                "fit_images": 2 * profile.batch_size, "width": 8}
    # fit: 40 batches a side (about 2 s) show a per-step overhead; pairs of ~1 s runs gave medians
    # from 0.94x to 1.005x on an idle machine, so fit takes 11 pairs (measured 2026-11-23).
    return {"repeats": 5, "fit_repeats": 11, "loader_images": 10_000, "fit_images": 40 * profile.batch_size,
            "width": 32}


def measure(profile, parts=PARTS, report=print) -> list[Row]:
    """Run the selected parts; ``report`` receives each row as soon as it is measured."""
    from . import course, throughput
    rows: list[Row] = []
    sizes = _sizes(profile)

    def add(*args):
        rows.append(Row(*args))
        report(rows[-1])

    if "loader" in parts:
        r = throughput.loader_ratio(profile, sizes["repeats"], sizes["loader_images"])
        add("loader", "TensorLoader vs DataLoader, img/s", f"{r['ratio']:.1f}×",
            f"{r['tensor_img_s']:,.0f} vs {r['torchvision_img_s']:,.0f} img/s; crop+flip+normalize, "
            f"{r['images']:,} images, batch {r['batch_size']}, {r['workers']} workers, CPU, "
            f"median of {r['repeats']}")
    if "fit" in parts:
        r = throughput.fit_overhead(profile, sizes["fit_repeats"], images=sizes["fit_images"],
                                    width=sizes["width"])
        add("fit", "fit vs bare loop, img/s", f"{r['ratio']:.2f}×",
            f"{r['fit_img_s']:,.0f} vs {r['bare_img_s']:,.0f} img/s (per CPU second: {r['cpu_ratio']:.2f}×); "
            f"small CNN (width {r['width']}), {r['images']:,} images, batch {r['batch_size']}, "
            f"{r['device']}, bar+history on, median of {r['repeats']}")
    if "gpu" in parts:
        for r in throughput.gpu_paths(profile):
            if r["img_s"] is None:
                add("gpu", f"fit on {r['model']}", "n/a", r["note"])
                continue
            base, paths = r["img_s"]["eager"], list(r["img_s"])
            add("gpu", f"fit on {r['model']}", f"{r['img_s'][paths[1]] / base:.2f}×",
                "; ".join(f"{p} {v:,.0f} img/s (loss {r['loss'][p]:.3f}, {r['step'][p]})"
                          for p, v in r["img_s"].items()) + f"; batch {profile.batch_size}, last of 2 epochs")
    if "speedrun" in parts:
        add("speedrun", "Chapter 6 speed run (final recipe)", *course.speedrun_result(profile))
    if "airbench" in parts:   # Chapter 6's final recipe beside airbench94 (bench/airbench.py)
        from . import airbench
        for what, value, detail in airbench.bench_rows(profile):
            add("airbench", what, value, detail)
    if "chapters" in parts:
        for name, seconds, note in course.chapter_times(profile):
            add("chapter", name, _seconds(seconds), note)
    if "autograde" in parts:
        for name, seconds, note in course.autograde_times(profile, submissions=1 if profile.name == "smoke" else 2):
            add("autograde", name, "n/a" if seconds is None else f"{seconds:.1f} s/sub", note)
    if "site" in parts:
        for name, seconds, note in course.site_times(profile):
            add("site", name, _seconds(seconds), note)
    return rows


def _parts(text: str) -> tuple[str, ...]:
    names = tuple(p.strip() for p in text.split(",") if p.strip())
    unknown = set(names) - set(PARTS)
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown part(s) {sorted(unknown)}; choose from {', '.join(PARTS)}")
    return names


def main(argv=None) -> list[Row]:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", help="smoke | cpu | full (default: $COURSE_PROFILE, else full on CUDA / cpu)")
    parser.add_argument("--only", type=_parts, default=PARTS, help=f"comma-separated parts: {', '.join(PARTS)}")
    parser.add_argument("--skip", type=_parts, default=(), help="comma-separated parts to leave out")
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's choice); "
                        "on a machine shared with other jobs, 1 can be several times faster")
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args(argv)
    import torch   # after parsing: --help and argument errors answer at once

    from course_utils.config import get_profile
    profile = get_profile(args.profile)
    if args.threads:
        torch.set_num_threads(args.threads)
    parts = [p for p in args.only if p not in args.skip]
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    load = os.getloadavg()[0]
    print(f"bench: profile {profile.name}, {device}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; parts: {', '.join(parts)}", flush=True)
    print("measuring (rows appear as they finish) ...", flush=True)
    start = time.perf_counter()
    rows = measure(profile, parts, report=lambda r: print(f"  {r.part}: {r.what}: {r.value}", flush=True))
    header = (f"\nbench results (profile {profile.name}; load average {load:.1f} → {os.getloadavg()[0]:.1f} "
              f"on {os.cpu_count()} cores; {time.perf_counter() - start:.0f} s in all)")
    print(format_table(rows, header))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"profile": profile.name, "device": device, "rows": [asdict(r) for r in rows]}, f, indent=1)
    return rows
