# Sourced by the device-session scripts (bench/*_session.sh): $OUT, the environment, a note of
# the machine in $OUT/device.txt, and CIFAR-10 unpacked from bench/_build/cifar10-jpeg.tar.gz
# (made here by `python -m course_tools.pack_data`) and decoded once. Sets START and COMMIT.
COMMIT=${1:-unknown}
OUT=${OUT:-$PWD/bench/_build/out}
START=$SECONDS
mkdir -p "$OUT/records"
export COURSE_DATA_DIR=/tmp/course-data/cifar10 COURSE_CACHE_DIR=/tmp/course-cache COURSE_OFFLINE=1
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1

{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; python -c \
  'import torch, sys; print("torch", torch.__version__, "python", sys.version.split()[0])'; nproc; } \
  > "$OUT/device.txt" 2>&1
python -m course_tools.pack_data --unpack bench/_build/cifar10-jpeg.tar.gz /tmp/course-data
python -c 'from course_utils import data; data.load_tensors(True); data.load_tensors(False)'  # decode once
echo "data ready after $((SECONDS - START)) s" | tee -a "$OUT/device.txt"
