#!/usr/bin/env python
"""A Linear layer's product asked of BLAS both ways round, at small batches (issue #11).

    python benchmarks/bench_linear_orientation.py [--quick] [--batches 16 64 128 256] [--out DIR]

minigan's Linear computes ``y = x @ W.T`` (x: (N, IN), W: (OUT, IN)), as PyTorch does.
``(W @ x.T).T`` is the same product: each entry is the same dot product (OpenBLAS's SkylakeX
kernels even add it up in the same order - equal bit for bit here; its Haswell and Zen
kernels do not). NumPy hands
both to OpenBLAS's sgemm, but with the batch N on the other side of the output, and at small
N OpenBLAS runs the second one much faster (README, "Benchmarks": the MNIST GAN at batch 64
on the Zen 4). Its result is column-major, though, and an elementwise op between a
column-major and a row-major array of the same shape is several times slower than between
two row-major ones, so minigan keeps the usual orientation (tried in Linear: the batch-64
MNIST GAN gained 6 %, the VAE at batch 128 lost 7 %). This measures, per batch and layer,
interleaved in one process (``minigan.bench.timing.measure_interleaved``), microseconds:

============  ===============================================================================
usual         ``np.dot(x, W.T)``                    (row-major result)
other way     ``np.dot(W, x.T).T``                   (column-major result)
other + copy  the same, copied back to row-major     (what keeping row-major outputs costs)
add C+C       ``a + b``, both row-major, the output's shape
add C+F       ``a + b`` with b column-major (a copy in Fortran order)
W^T stored    ``np.dot(x, Wt)``, Wt = W.T made contiguous: the weight's numbers kept in (IN,
              OUT) order (PyTorch's shape with Fortran strides), so BLAS runs an NN product
dW usual      the weight gradient ``np.dot(gy.T, x)`` (OUT, IN), row-major like W
dW, W^T       ``np.dot(x.T, gy)`` (IN, OUT): the gradient a W^T-stored weight needs
dx usual      the input gradient ``np.dot(gy, W)``
dx, W^T       ``np.dot(gy, Wt.T)``: the same with W^T stored
============  ===============================================================================

The last five ask whether storing every weight transposed would pay: it speeds the forward
(OpenBLAS's NT product is the slow one at these shapes), but the backward's products move
with it. ``w_t_iteration_ratio`` sums the three products of one forward+backward that needs
all of them (forward, dW, dx) in each layout.

and records whether the two products are equal bit for bit and how far apart they are. Each (batch, layer) group is taken
while the BLAS probe reads quiet (``minigan.bench.machine.PhaseWatch``). Writes
``linear_orientation.json``.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # this checkout's minigan

from minigan.bench import machine  # noqa: E402
from minigan.bench.output import out_paths, write_json  # noqa: E402
from minigan.bench.timing import Case, measure_interleaved  # noqa: E402

LAYERS = [(784, 200), (200, 784), (100, 200)]  # the improved MNIST GAN's (BOOK_SPEC 4.08)


def cases_for(batch, n_in, n_out, rng):
    x = rng.random((batch, n_in), dtype=np.float32)
    W = rng.standard_normal((n_out, n_in), dtype=np.float32)
    a, b = rng.random((2, batch, n_out), dtype=np.float32)
    b_f = np.asfortranarray(b)

    def other_copied():
        y = np.empty((batch, n_out), dtype=np.float32)
        np.copyto(y, np.dot(W, x.T).T)
        return y
    Wt = np.ascontiguousarray(W.T)
    gy = rng.standard_normal((batch, n_out), dtype=np.float32)
    usual, other = np.dot(x, W.T), np.dot(W, x.T).T
    agreement = {"same_bits": bool(np.array_equal(usual, other)),
                 "max_relative_difference": float(np.abs(usual - other).max() / np.abs(usual).max()),
                 "w_t_same_bits": bool(np.array_equal(usual, np.dot(x, Wt))),
                 # the same three numbers in either layout: forward, weight and input gradients
                 "w_t_max_relative_difference": max(
                     float(np.abs(p - q).max() / np.abs(p).max()) for p, q in
                     ((usual, np.dot(x, Wt)), (np.dot(gy.T, x), np.dot(x.T, gy).T),
                      (np.dot(gy, W), np.dot(gy, Wt.T))))}
    return agreement, [Case("usual", lambda: np.dot(x, W.T)), Case("other way", lambda: np.dot(W, x.T).T),
                       Case("other + copy", other_copied), Case("add C+C", lambda: a + b),
                       Case("add C+F", lambda: a + b_f), Case("W^T stored", lambda: np.dot(x, Wt)),
                       Case("dW usual", lambda: np.dot(gy.T, x)), Case("dW, W^T", lambda: np.dot(x.T, gy)),
                       Case("dx usual", lambda: np.dot(gy, W)), Case("dx, W^T", lambda: np.dot(gy, Wt.T))]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batches", type=int, nargs="+", default=[16, 64, 128, 256])
    ap.add_argument("--quick", action="store_true", help="short blocks, 3 samples: a smoke run")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--no-save", action="store_true")
    args = ap.parse_args(argv)
    info = machine.describe(include_torch=False)
    print(machine.summary_line(info))
    rng = np.random.default_rng(0)
    phase = machine.PhaseWatch(None if args.quick else machine.quick_probe, 1.4, 30.0)
    rows = []
    print(f"{'batch':>5} {'layer':>9} | {'usual':>8} {'other way':>9} {'+ copy':>8} | {'ratio':>5} "
          f"{'+copy':>5} | {'add C+C':>7} {'add C+F':>7} | same bits | {'W^T':>7} {'dW':>7} {'dW W^T':>7} "
          f"{'dx':>7} {'dx W^T':>7} | W^T fwd, fwd+bwd")
    for batch in args.batches:
        for n_in, n_out in LAYERS:
            agreement, cases = cases_for(batch, n_in, n_out, rng)
            t = phase.run(lambda: measure_interleaved(cases, repeats=3 if args.quick else 9,
                                                      min_block_s=0.002 if args.quick else 0.05,
                                                      wait_quiet=not args.quick))
            us = {name: timing.median * 1e6 for name, timing in t.items()}
            row = {"batch": batch, "in": n_in, "out": n_out, "us": us, **agreement,
                   "other_way_ratio": us["other way"] / us["usual"],
                   "other_copied_ratio": us["other + copy"] / us["usual"],
                   "w_t_forward_ratio": us["W^T stored"] / us["usual"],
                   "w_t_iteration_ratio": (us["W^T stored"] + us["dW, W^T"] + us["dx, W^T"])
                   / (us["usual"] + us["dW usual"] + us["dx usual"])}
            rows.append(row)
            print(f"{batch:5d} {n_in:>4}->{n_out:<4} | {us['usual']:8.1f} {us['other way']:9.1f} "
                  f"{us['other + copy']:8.1f} | {row['other_way_ratio']:5.2f} {row['other_copied_ratio']:5.2f} | "
                  f"{us['add C+C']:7.1f} {us['add C+F']:7.1f} | {agreement['same_bits']!s:>9} | "
                  f"{us['W^T stored']:7.1f} {us['dW usual']:7.1f} {us['dW, W^T']:7.1f} {us['dx usual']:7.1f} "
                  f"{us['dx, W^T']:7.1f} | {row['w_t_forward_ratio']:.2f}, {row['w_t_iteration_ratio']:.2f}")
    result = {"benchmark": "Linear x @ W.T vs (W @ x.T).T, and with W stored transposed (NumPy/OpenBLAS), "
                           "float32, us per call",
              "machine": info, "settings": {"batches": args.batches, "quick": args.quick},
              "slow_phases": phase.info(), "rows": rows}
    if not args.no_save:
        print("wrote " + write_json(result, out_paths(args.out, "linear_orientation")["json"]))
    return result


if __name__ == "__main__":
    main()
