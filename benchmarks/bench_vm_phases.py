#!/usr/bin/env python
"""Slow phases of a shared VM: which work slows down, and for how long (issue #11).

    python benchmarks/bench_vm_phases.py [--seconds 75] [--interval 2] [--out DIR]

On the 2-core VMs of these sessions NumPy's ratios to PyTorch sometimes moved by 20-40 %
between runs with nothing to see in /proc/stat. This samples, every ``--interval`` seconds:

* the BLAS probe (``minigan.bench.machine.blas_probe``: one stacked product of 256 small
  matrices, the shape of the Winograd weight transform), two OpenBLAS threads;
* a 512 x 512 float32 product with two threads (this process) and with one (a worker
  process started with ``OPENBLAS_NUM_THREADS=1``);
* a pure-Python loop (no NumPy at all).

If only the two-thread figures move, the second CPU is what slows down (on the Zen 4: one
thread and Python steady, two-thread products 1.33 -> 1.85 ms and the probe 7.5 -> 17 ms for
~20 s at a time). That is why ``bench train`` and ``bench_conv.py`` bracket their
measurements with the probe (``minigan.bench.machine.PhaseWatch``). Writes
``vm_phases.json`` (the machine and every sample).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # this checkout's minigan

WORKER = r"""
import sys, time
import numpy as np
a = np.random.default_rng(0).standard_normal((512, 512)).astype(np.float32)
for line in sys.stdin:
    a @ a
    t0 = time.perf_counter()
    for _ in range(20):
        a @ a
    product = (time.perf_counter() - t0) / 20 * 1e3
    t0 = time.perf_counter()
    s = 0
    for i in range(200000):
        s += i
    python = (time.perf_counter() - t0) * 1e3
    print(f"{product} {python}", flush=True)
"""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=75.0)
    ap.add_argument("--interval", type=float, default=2.0)
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--no-save", action="store_true")
    args = ap.parse_args(argv)

    import numpy as np

    from minigan.bench import machine
    from minigan.bench.output import out_paths, write_json
    info = machine.describe(include_torch=False)
    print(machine.summary_line(info))
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    worker = subprocess.Popen([sys.executable, "-c", WORKER], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=env)
    a = np.random.default_rng(0).standard_normal((512, 512)).astype(np.float32)
    samples = []
    print(f"{'t s':>6} {'probe ms':>9} {'512^2, 2 threads':>17} {'1 thread':>9} {'python':>7}")
    try:
        t_start = time.perf_counter()
        while time.perf_counter() - t_start < args.seconds:
            probe = machine.blas_probe(samples=3)["ms"]
            a @ a
            t0 = time.perf_counter()
            for _ in range(20):
                a @ a
            two = (time.perf_counter() - t0) / 20 * 1e3
            worker.stdin.write("go\n")
            worker.stdin.flush()
            one, python = (float(v) for v in worker.stdout.readline().split())
            row = {"t_s": round(time.perf_counter() - t_start, 2), "probe_ms": probe,
                   "product_2_threads_ms": two, "product_1_thread_ms": one, "python_loop_ms": python}
            samples.append(row)
            print(f"{row['t_s']:6.1f} {probe:9.2f} {two:17.2f} {one:9.2f} {python:7.2f}")
            time.sleep(args.interval)
    finally:
        worker.stdin.close()
        worker.wait()
    result = {"benchmark": "slow phases of the VM: BLAS probe, 512^2 products on 2 and 1 threads, "
                           "a Python loop, sampled in time", "machine": info,
              "settings": {"seconds": args.seconds, "interval_s": args.interval}, "samples": samples}
    if not args.no_save:
        print("wrote " + write_json(result, out_paths(args.out, "vm_phases")["json"]))
    return result


if __name__ == "__main__":
    main()
