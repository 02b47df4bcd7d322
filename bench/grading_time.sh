#!/bin/bash
# Grade N copies of one executed submission with one worker, in the smoke profile, in a fresh
# course folder; prints seconds per submission. Used side by side under farm-bench to compare two
# trees (before/after a grader change):
#   farm-bench -n 3 --vs bench/grading_time.sh OLD_TREE course_utils.grading a1_vgg 3 REF \
#                  -- bench/grading_time.sh NEW_TREE course_grader.cli a1_vgg 3 REF
# TREE: a checkout; CLI: its grader module; REF: a folder with the executed notebook and weights;
# CONFIG (optional): a line added to the course's nbgrader_config.py, e.g. "c.JudgeExecute.warm = False"
# to compare a setting within one tree.
set -euo pipefail
TREE=$1; CLI=$2; AID=$3; N=$4; REF=$5; CONFIG=${6:-}
PYTHON=${PYTHON:-$TREE/.venv/bin/python}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/course/solutions"
cp "$TREE/nbgrader_config.py" "$WORK/course/"
if [ -n "$CONFIG" ]; then printf '\n%s\n' "$CONFIG" >> "$WORK/course/nbgrader_config.py"; fi
cp -r "$TREE/solutions/$AID" "$WORK/course/solutions/"
rm -f "$WORK/course/solutions/$AID"/*.pt
cd "$WORK/course"
export PYTHONPATH=$TREE COURSE_PROFILE=smoke COURSE_OFFLINE=1
# the grader before course_grader (bbe9ee3) let its sandbox see TREE only through these
export COURSE_SANDBOX_RO_PATHS=$TREE COURSE_SANDBOX_ENV=PYTHONPATH
"$PYTHON" -m "$CLI" release "$AID" > /dev/null 2>&1
for i in $(seq 1 "$N"); do mkdir -p "submitted/s$i/$AID"; cp "$REF"/* "submitted/s$i/$AID/"; done
start=$(date +%s.%N)
"$PYTHON" -m "$CLI" grade "$AID" --workers 1 > "$WORK/grade.log" 2>&1 || true
end=$(date +%s.%N)
python3 -c "print(f'$AID: {($end - $start) / $N:.1f} s per submission ($N copies, 1 worker)')"
