#!/usr/bin/env python
"""Two BLAS threads beside a busy process: how much a matrix product slows down (issue #11).

    python benchmarks/bench_busy_neighbour.py [--repeats 41] [--out DIR]

NumPy's OpenBLAS splits each product over as many threads as the machine has cores, and its
threads wait for one another at the end of every product. On the 2-core VMs of these sessions
that is two threads - and when another process keeps one core busy (a second training run, a
test suite, another tenant of the VM), the thread that lands behind it waits for its time
slice, and so does the whole product. This measures the products of the batch-64 MNIST GAN
(the shapes of `minigan bench train --workloads mnist_gan_b64`) and a 512 x 512 one:

* quiet, with one BLAS thread and with two;
* the same while a *neighbour* - a child process spinning a pure-Python loop, one core's worth
  of work - runs beside it.

Each figure is the median (and the slowest) of ``--repeats`` timed products, taken in
rounds that alternate one and two threads (child processes started with ``OPENBLAS_NUM_THREADS``).
Writes ``busy_neighbour.json`` (the machine and every figure).

What it found on the Zen 4 (``results/zen4/busy_neighbour.json``): a neighbour does not move the
medians (two threads 0.129 ms for D's product, quiet and busy alike; one thread 0.21), only the
slowest products (up to 4-5 ms: a time slice). Neither did neighbours spinning on NumPy
products or PyTorch ops, nor three spinning at once (tried by hand: medians 0.13-0.18 ms, the
slowest 4-36 ms). So the VM's slow phases (``bench_vm_phases.py``) are not one busy neighbour.
Once this session, with a one-thread training run and a test suite running PyTorch beside it,
two-thread products took 16-24 ms for minutes (one thread: 0.21 ms), which none of these
neighbours reproduce.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # this checkout's minigan

SPIN = "import time\nend = time.time() + {seconds}\nwhile time.time() < end:\n    pass\n"
#: (name, left shape, right shape): the batch-64 MNIST GAN's forward products, and a square one
PRODUCTS = (("D 784->200, batch 64", (64, 784), (784, 200)),
            ("G 200->784, batch 64", (64, 200), (200, 784)),
            ("weight gradient 200x64 @ 64x784", (200, 64), (64, 784)),
            ("512 x 512", (512, 512), (512, 512)))


#: one round in a child process whose BLAS threads are fixed by the environment at NumPy's load
ROUND = r"""
import json, sys, time
import numpy as np
products, repeats = json.loads(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(0)
out = {}
for name, sa, sb in products:
    a, b = rng.standard_normal(sa).astype(np.float32), rng.standard_normal(sb).astype(np.float32)
    np.dot(a, b)   # (warm)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.dot(a, b)
        times.append((time.perf_counter() - t0) * 1e3)
    out[name] = times
print(json.dumps(out))
"""


def measure(repeats: int, per_round: int = 5) -> dict:
    """{product: {threads: [ms ...]}} for 1 and 2 BLAS threads, in rounds that alternate them
    (each round a child process started with ``OPENBLAS_NUM_THREADS``, as NumPy reads it)."""
    import json
    result = {name: {1: [], 2: []} for name, _, _ in PRODUCTS}
    for _ in range(-(-repeats // per_round)):
        for threads in (1, 2):
            env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
            done = subprocess.run([sys.executable, "-c", ROUND, json.dumps(PRODUCTS), str(per_round)],
                                  env=env, capture_output=True, text=True, check=True)
            for name, times in json.loads(done.stdout).items():
                result[name][threads] += times
    return result


def summarise(times: dict) -> dict:
    import numpy as np
    return {name: {f"{t} thread{'s' if t > 1 else ''}": {"median_ms": float(np.median(v)),
                                                          "max_ms": float(np.max(v))}
                   for t, v in by_threads.items()}
            for name, by_threads in times.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=41, help="timed products per case (default 41)")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--no-save", action="store_true")
    args = ap.parse_args(argv)

    from minigan.bench import machine
    from minigan.bench.output import write_json

    quiet = summarise(measure(args.repeats))
    neighbour = subprocess.Popen([sys.executable, "-c", SPIN.format(seconds=600)])
    try:
        time.sleep(1.0)   # (the neighbour running before the first product)
        busy = summarise(measure(args.repeats))
    finally:
        neighbour.kill()
        neighbour.wait()

    print(f"{os.cpu_count()} CPUs; medians (slowest) in ms")
    print(f"{'product':34} {'quiet, 1 thread':>18} {'quiet, 2 threads':>18} {'busy, 1 thread':>18} "
          f"{'busy, 2 threads':>18}")
    for name in quiet:
        cells = [f"{d['median_ms']:.3f} ({d['max_ms']:.2f})" for run in (quiet, busy)
                 for d in run[name].values()]
        print(f"{name:34} " + " ".join(f"{c:>18}" for c in cells))
    if not args.no_save:
        path = os.path.join(args.out, "busy_neighbour.json")
        write_json({"benchmark": "NumPy products with one and two BLAS threads, quiet and beside "
                                       "a process spinning on one core (ms per product)",
                          "machine": machine.describe(), "repeats": args.repeats,
                          "quiet": quiet, "busy_neighbour": busy,
                          "command": "python benchmarks/bench_busy_neighbour.py " + " ".join(argv or sys.argv[1:])},
                   path)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
