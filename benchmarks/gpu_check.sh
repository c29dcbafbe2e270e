#!/usr/bin/env bash
# The GPU checks of issue #11, as one prepared run for a machine with a CUDA GPU and CuPy:
#
#   1. the CUDA tests (`pytest -m cuda`: every op, layer, loss, convolution plan and optimiser
#      on CuPy against NumPy and PyTorch - the tests that CPU-only machines skip);
#   2. `minigan bench train` on the GPU: the book's training loops, minigan-on-CuPy beside
#      PyTorch on CUDA;
#   3. `minigan bench matmul` on both devices: minigan-on-CuPy against raw CuPy at n = 4096
#      float32 (the bar: within 5 %), and the book's 600 x 600 CPU-vs-GPU table (its 150x);
#   4. `minigan bench train` on the same machine's CPU, for each loop's GPU/CPU speed-up.
#
# Usage, from the repository root:   bash benchmarks/gpu_check.sh [OUTDIR]
# (default OUTDIR: benchmarks/results/gpu). Nothing is installed: the checkout runs in place
# (PYTHONPATH), with the NumPy, CuPy, PyTorch, pytest and hypothesis the machine has. Each
# stage has its own time limit in seconds (the variables below; 580 s together), the stages
# run in the order of what matters most, and each writes its files as it ends, so a stage
# that runs out of time costs only itself. Everything lands in OUTDIR: gpu.txt (the GPU and
# the versions), cuda_tests.log, cuda/training.{json,csv,png}, matmul.{json,csv,png},
# cpu/training.{json,csv,png}. Commit them under a folder that names the GPU, and quote them
# in README.md's results. Exit status 0 only if a GPU was usable and every stage finished.
set -u -o pipefail
out=${1:-benchmarks/results/gpu}
TESTS_S=${TESTS_S:-240}
MATMUL_S=${MATMUL_S:-100}
TRAIN_S=${TRAIN_S:-120}   # each of the two training runs; all four limits: 580 s
TESTS_FIRST=${TESTS_FIRST:-"tests --ignore=tests/test_cuda.py"}  # pytest's paths, first pass
TESTS_OPS=${TESTS_OPS:-"tests/test_cuda.py"}                       # and second pass
QUICK=${QUICK:-}          # QUICK=1: the benchmarks' --quick (a smoke test of this script)
WORKLOADS=${WORKLOADS:-"gan1010 mnist_gan mnist_gan_b64 mnist_gan_b256 conv_gan dcgan_mnist_b64 vae_b128"}
mkdir -p "$out/cuda" "$out/cpu"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
py=${PYTHON:-python3}
quick=${QUICK:+--quick}

{
  date -u +"%Y-%m-%dT%H:%M:%SZ"
  git rev-parse HEAD 2>/dev/null || echo "(not a git checkout)"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1
  "$py" -c "import minigan; print('minigan CUDA:', minigan.cuda.is_available() or minigan.cuda.unavailable_reason())"
  "$py" -c "import sys, numpy; print('python', sys.version.split()[0], 'numpy', numpy.__version__)"
  "$py" -c "import cupy; print('cupy', cupy.__version__, 'CUDA runtime', cupy.cuda.runtime.runtimeGetVersion())" 2>&1
  "$py" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" 2>&1
} | tee "$out/gpu.txt"

status=0
if ! "$py" -c "import sys, minigan; sys.exit(0 if minigan.cuda.is_available() else 1)"; then
  echo "NO USABLE CUDA GPU: the CUDA tests will skip and the cuda rows say why (exit status 1)"
  status=1
fi
echo "== 1. CUDA tests (limit ${TESTS_S} s)"
# the layer, loss and optimiser tests first, then the op-by-op tests of test_cuda.py (most of
# them); -v writes each result as it comes, so a run cut short still says how far it got
timeout "$TESTS_S" bash -c '
  "$0" -m pytest -v -m cuda -p no:cacheprovider --tb=short -rfE $1; first=$?
  "$0" -m pytest -v -m cuda -p no:cacheprovider --tb=short -rfE $2 || exit
  exit $first' "$py" "$TESTS_FIRST" "$TESTS_OPS" 2>&1 | tee "$out/cuda_tests.log" || status=1

train() {  # bench train on one device, into OUTDIR/DEVICE
  # shellcheck disable=SC2086  # WORKLOADS is a list of names, $quick empty or one flag
  timeout "$TRAIN_S" "$py" -m minigan bench train --devices "$1" --workloads $WORKLOADS \
    --repeats 5 --conv-samples 3 --no-profile-misses --no-wait-quiet $quick --out "$out/$1" || status=1
}
echo "== 2. bench train on the GPU (limit ${TRAIN_S} s)"
train cuda
echo "== 3. bench matmul, CPU and GPU (limit ${MATMUL_S} s)"
# shellcheck disable=SC2086
timeout "$MATMUL_S" "$py" -m minigan bench matmul --no-wait-quiet $quick --out "$out" || status=1
echo "== 4. bench train on this machine's CPU, for the GPU/CPU speed-ups (limit ${TRAIN_S} s)"
train cpu
echo "results in $out (exit status $status: 0 when every stage finished and passed)"
exit "$status"
