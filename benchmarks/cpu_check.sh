#!/usr/bin/env bash
# Every CPU benchmark of issue #11 on this machine, into one folder: what a new kind of
# machine (an Intel AVX-512 VM, another Zen) needs for its column of README.md's tables.
#
#   bash benchmarks/cpu_check.sh OUTDIR        e.g. benchmarks/results/intel-spr
#
# In order: `minigan bench train` (every workload, beside PyTorch, with the profile of any
# that misses its target), `bench_conv.py --profile --plans` (the conv GAN's convolutions),
# `minigan bench ops`, `minigan bench matmul`, `bench_adam.py`, and `bench_layers.py` for the
# batch-64 MNIST GAN, DCGAN-MNIST and the conv CelebA GAN. About 40 minutes on a 2-core VM
# (39 on the Zen 4); each benchmark waits for a quiet CPU itself and names the CPU, BLAS and
# kernels in its JSON.
# NumPy's OpenBLAS picks its own kernels for this run: OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE,
# which some machine images set to force older ones, are unset for it (benchmarks/README.md,
# "Which BLAS kernels ran"); KEEP_OPENBLAS_ENV=1 keeps them. QUICK=1 passes every
# benchmark's --quick (a smoke test of this script: tests/test_bench.py).
set -u -o pipefail
if [ $# -ne 1 ]; then
  echo "usage: bash benchmarks/cpu_check.sh OUTDIR   (e.g. benchmarks/results/<cpu-name>)" >&2
  exit 2
fi
out=$1
mkdir -p "$out"
export PYTHONUNBUFFERED=1
py=${PYTHON:-python}
quick=${QUICK:+--quick}
if [ -z "${KEEP_OPENBLAS_ENV:-}" ]; then
  unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
fi

step() {  # step TITLE COMMAND...: run one benchmark; a failure is logged and the rest go on
  echo "== $1"
  shift
  "$@" || echo "!! failed (exit $?): $*"
}
# shellcheck disable=SC2086  # $quick is empty or one flag
{
  step "bench train" "$py" -m minigan bench train $quick --out "$out"
  step "bench_conv" "$py" benchmarks/bench_conv.py --profile --plans $quick --out "$out"
  step "bench ops" "$py" -m minigan bench ops $quick --out "$out"
  step "bench matmul" "$py" -m minigan bench matmul $quick --out "$out"
  step "bench_adam" "$py" benchmarks/bench_adam.py $quick --out "$out"
  step "bench_layers mnist-gan" "$py" benchmarks/bench_layers.py --model mnist-gan --batch 64 $quick --out "$out"
  step "bench_layers dcgan-mnist" "$py" benchmarks/bench_layers.py --model dcgan-mnist --batch 64 $quick --out "$out"
  step "bench_layers conv-celeba-gan" "$py" benchmarks/bench_layers.py --model conv-celeba-gan $quick --out "$out"
} 2>&1 | tee "$out/cpu_check.log"
status=0
grep -q "^!! failed" "$out/cpu_check.log" && status=1
echo "results in $out (exit status $status: 0 when every benchmark finished)"
exit "$status"
