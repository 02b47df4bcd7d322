#!/usr/bin/env bash
# One device call on a GPU machine: Chapter 6's ladder (every rung, seeds while the budget
# lasts) and the final recipe beside airbench94, as run records under $OUT.
#
# Here, once (both land in bench/_build/, an ignored path that the call carries):
#   .venv/bin/python -m course_tools.pack_data          # -> bench/_build/cifar10-jpeg.tar.gz
#   .venv/bin/pip wheel --no-deps airbench==0.1.8 -w bench/_build/wheels
# Then one device call:
#   command: bash bench/ladder_session.sh <commit>       (git rev-parse HEAD here)
#   carry:   ["bench/_build"]        timeout_s: 600
# What comes back: device.txt, ladder.log and records.tar.gz; unpack the records with
#   tar xzf <files_at>/records.tar.gz -C course_utils/records
set -uo pipefail
COMMIT=${1:-unknown}
OUT=${OUT:-$PWD/bench/_build/out}
BUDGET_S=${BUDGET_S:-540}            # the call's 600 s, less unpacking and packing up
START=$SECONDS
mkdir -p "$OUT/records"
export COURSE_DATA_DIR=/tmp/course-data/cifar10 COURSE_CACHE_DIR=/tmp/course-cache COURSE_OFFLINE=1
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 COURSE_COMMIT=$COMMIT

{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; python -c \
  'import torch, sys; print("torch", torch.__version__, "python", sys.version.split()[0])'; nproc; } \
  > "$OUT/device.txt" 2>&1
python -m pip install --quiet --no-index --no-deps bench/_build/wheels/airbench-*.whl \
  >> "$OUT/device.txt" 2>&1 || echo "airbench not installed: the ladder runs without it" >> "$OUT/device.txt"
python -m course_tools.pack_data --unpack bench/_build/cifar10-jpeg.tar.gz /tmp/course-data
python -c 'from course_utils import data; data.load_tensors(True); data.load_tensors(False)'  # decode once
echo "data ready after $((SECONDS - START)) s" | tee -a "$OUT/device.txt"

LEFT=$((BUDGET_S - (SECONDS - START)))
timeout "$((LEFT + 20))" python -m bench.airbench ladder --out "$OUT/records" --seeds 3 \
  --budget-s "$LEFT" > "$OUT/ladder.log" 2>&1
echo "ladder exit $? after $((SECONDS - START)) s" >> "$OUT/ladder.log"
tar czf "$OUT/records.tar.gz" -C "$OUT/records" . && rm -rf "$OUT/records"
