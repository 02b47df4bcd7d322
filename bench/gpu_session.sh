#!/usr/bin/env bash
# One device call on a GPU machine: fit's GPU path measured per course model, then every
# full-profile run record (`make results`), everything written under $OUT.
#
# Here, once (the data travel as one ~19 MB file under an ignored path):
#   .venv/bin/python -m course_tools.pack_data          # -> bench/_build/cifar10-jpeg.tar.gz
# Then one device call:
#   command: bash bench/gpu_session.sh <commit>          (git rev-parse HEAD here; .git may not travel)
#   carry:   ["bench/_build"]        timeout_s: 600
# It needs torch, torchvision, matplotlib and tqdm there (no Jupyter, nbgrader or torchsummary).
# What comes back (at most 8 files): device.txt, bench_gpu.log/.json, results.log and
# records.tar.gz; unpack the records with
#   tar xzf <files_at>/records.tar.gz -C course_utils/records
set -uo pipefail
BUDGET_S=${BUDGET_S:-570}            # the call's 600 s, less packing the results up
source "$(dirname "$0")/device_prelude.sh"

# fit: eager steps against the CUDA-graph path on each course model (about a minute).
timeout 150 python -m bench --profile full --only gpu --json "$OUT/bench_gpu.json" > "$OUT/bench_gpu.log" 2>&1

# Every run of the book and the assignments, assignments first; a run cut off by the budget
# leaves the records already written.
LEFT=$((BUDGET_S - (SECONDS - START))); LEFT=$((LEFT > 10 ? LEFT : 10))
timeout "$LEFT" python -m course_tools.results --profile full --out "$OUT/records" --commit "$COMMIT" \
  > "$OUT/results.log" 2>&1
echo "results exit $? after $((SECONDS - START)) s" >> "$OUT/results.log"
tar czf "$OUT/records.tar.gz" -C "$OUT/records" . && rm -rf "$OUT/records"
