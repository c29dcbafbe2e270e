#!/usr/bin/env python
"""One Adam step on the improved MNIST GAN's parameters: minigan vs PyTorch vs NumPy.

    python benchmarks/bench_adam.py [--quick] [--repeats N] [--out DIR]

At batch 1 the optimiser dominates a training step (BASELINES.md section 4: Adam is 1.1 ms
of a 1.77 ms hand-written iteration). This times one ``step()`` of Adam (lr 1e-4, the book's
GAN setting, other options default) on the parameter shapes of the improved MNIST GAN
(BOOK_SPEC section 4.08), float32, one optimiser per network as in the book:

    D: (200, 784) (200,) (200,) (200,) (1, 200) (1,)        157,601 values
    G: (200, 100) (200,) (200,) (200,) (784, 200) (784,)   178,384 values

Implementations, all in this process, interleaved sample by sample (minigan/bench/timing.py):

================  ==========================================================================
minigan           ``minigan.optim.Adam``: 10 passes per weight, small parameters batched
minigan-per-param the same with ``small_numel = 0``: every parameter updated on its own
torch             ``torch.optim.Adam`` default (on the CPU: the for-loop, single-tensor path)
torch-fused       ``torch.optim.Adam(fused=True)`` (one fused kernel per parameter)
numpy             hand-written NumPy Adam with in-place buffers, 13 passes per parameter
                  (the textbook formula, as in BASELINES.md section 4)
================  ==========================================================================

Each row is the time of one step of both networks' optimisers (D then G) and, separately, of
D's and G's. torch runs on one thread by default (``--torch-threads``), as in ``minigan bench
ops``: NumPy's ufuncs use one, and on these 2-core machines torch's second OpenMP thread
stalls every parallel region whenever a neighbouring process holds the other core (medians
of tens of milliseconds were measured that way); on a quiet machine it gains about 10 %. Before timing, every implementation runs 20 steps from the same start with the
same gradients, and must agree with torch's default Adam (float32 tolerances).
Writes ``adam.json`` (machine, settings, median/min/max per row, ratios) and ``adam.png``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # this checkout's minigan

import minigan  # noqa: E402
from minigan.bench import machine  # noqa: E402
from minigan.bench.timing import Case, measure_interleaved  # noqa: E402

SHAPES = {
    "D": [(200, 784), (200,), (200,), (200,), (1, 200), (1,)],
    "G": [(200, 100), (200,), (200,), (200,), (784, 200), (784,)],
}
LR = 1e-4


class NumpyAdam:
    """Adam written directly in NumPy, in place: PyTorch's formula term by term (13 passes)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        self.params, self.lr, self.eps = params, lr, eps
        self.beta1, self.beta2 = betas
        self.exp_avg = [np.zeros_like(p) for p in params]
        self.exp_avg_sq = [np.zeros_like(p) for p in params]
        self.tmp = [np.empty_like(p) for p in params]
        self.t = 0

    def step(self, grads):
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        bias_correction1 = 1 - b1 ** self.t
        bias_correction2_sqrt = (1 - b2 ** self.t) ** 0.5
        for p, g, m, v, tmp in zip(self.params, grads, self.exp_avg, self.exp_avg_sq, self.tmp):
            m *= b1                                    # exp_avg = b1 exp_avg + (1 - b1) g
            np.multiply(g, 1 - b1, out=tmp)
            m += tmp
            v *= b2                                    # exp_avg_sq = b2 exp_avg_sq + (1 - b2) g^2
            np.multiply(g, g, out=tmp)
            tmp *= 1 - b2
            v += tmp
            np.sqrt(v, out=tmp)                        # denom = sqrt(v) / sqrt(bc2) + eps
            tmp /= bias_correction2_sqrt
            tmp += self.eps
            np.divide(m, tmp, out=tmp)                 # p -= lr / bc1 * m / denom
            tmp *= -self.lr / bias_correction1
            p += tmp


def build(rng):
    """Initial values and gradients per network (float32, uniform like the book's init)."""
    init = {net: [rng.uniform(-0.1, 0.1, s).astype(np.float32) for s in shapes]
            for net, shapes in SHAPES.items()}
    grads = {net: [rng.standard_normal(s).astype(np.float32) * 0.01 for s in shapes]
             for net, shapes in SHAPES.items()}
    return init, grads


def implementations(init, grads, torch):
    """name -> {net: step function} for every implementation available."""
    impls = {}

    def minigan_steps(small_numel=None):
        steps = {}
        for net in SHAPES:
            params = [minigan.nn.Parameter(minigan.tensor(a)) for a in init[net]]
            for p, g in zip(params, grads[net]):
                p.grad = minigan.tensor(g)
            opt = minigan.optim.Adam(params, lr=LR)
            if small_numel is not None:
                opt.small_numel = small_numel
            steps[net] = (opt.step, lambda ps=params: [p.detach().numpy() for p in ps])
        return steps
    impls["minigan"] = minigan_steps()
    impls["minigan-per-param"] = minigan_steps(small_numel=0)

    if torch is not None:
        for name, kwargs in (("torch", {}), ("torch-fused", {"fused": True})):
            try:  # fused=True is refused on the CPU by older PyTorch versions
                probe = torch.nn.Parameter(torch.zeros(2))
                probe.grad = torch.zeros(2)
                torch.optim.Adam([probe], **kwargs).step()
            except (RuntimeError, TypeError) as e:
                print(f"  {name}: not available here ({e})")
                continue
            steps = {}
            for net in SHAPES:
                params = [torch.nn.Parameter(torch.tensor(a)) for a in init[net]]
                for p, g in zip(params, grads[net]):
                    p.grad = torch.tensor(g)
                opt = torch.optim.Adam(params, lr=LR, **kwargs)
                steps[net] = (opt.step, lambda ps=params: [p.detach().numpy() for p in ps])
            impls[name] = steps

    steps = {}
    for net in SHAPES:
        params = [a.copy() for a in init[net]]
        opt = NumpyAdam(params, lr=LR)
        steps[net] = (lambda o=opt, g=grads[net]: o.step(g), lambda ps=params: [p.copy() for p in ps])
    impls["numpy"] = steps
    return impls


def check_agreement(impls, n_steps=20):
    """Every implementation must reach the same parameters as torch (or minigan) after n steps."""
    reference_name = "torch" if "torch" in impls else "minigan"
    results = {}
    for name, steps in impls.items():
        for net, (step, read) in steps.items():
            for _ in range(n_steps):
                step()
        results[name] = {net: read() for net, (_, read) in steps.items()}
    worst = {}
    for name, nets in results.items():
        err = 0.0
        for net in SHAPES:
            for a, b in zip(nets[net], results[reference_name][net]):
                err = max(err, float(np.max(np.abs(a - b))))
        worst[name] = err
        if err > 1e-6:  # lr 1e-4: 20 steps move a parameter by up to 2e-3; float32 rounding is ~1e-9
            raise AssertionError(f"{name} disagrees with {reference_name}: max abs difference {err:.3g}")
    return reference_name, worst


def run(args):
    try:
        import torch
        if args.torch_threads:
            torch.set_num_threads(args.torch_threads)
    except ImportError:
        torch = None
        print("PyTorch is not installed: timing minigan and NumPy only")
    info = machine.describe(include_torch=torch is not None)
    print(machine.summary_line(info))
    rng = np.random.default_rng(0)
    init, grads = build(rng)
    impls = implementations(init, grads, torch)
    reference, worst = check_agreement(impls)
    print("agreement after 20 steps (max abs difference to " + reference + "): "
          + ", ".join(f"{k} {v:.1e}" for k, v in worst.items()))

    cases = []
    for name, steps in impls.items():
        d_step, g_step = steps["D"][0], steps["G"][0]
        cases.append(Case(f"{name}|D+G", lambda d=d_step, g=g_step: (d(), g())))
        cases.append(Case(f"{name}|D", d_step))
        cases.append(Case(f"{name}|G", g_step))
    timings = measure_interleaved(cases, repeats=args.repeats, min_block_s=args.min_block,
                                  quiet_timeout_s=args.quiet_timeout)
    rows = []
    for case in cases:
        name, what = case.name.split("|")
        t = timings[case.name]
        rows.append({"implementation": name, "networks": what, **t.as_dict("us")})

    def median(name, what="D+G"):
        return next((r["median_us"] for r in rows
                     if r["implementation"] == name and r["networks"] == what), None)
    ratios = {}
    for other in ("torch", "torch-fused", "numpy", "minigan-per-param"):
        for what in ("D+G", "D", "G"):
            if median(other, what):
                ratios[f"minigan/{other} ({what})"] = median("minigan", what) / median(other, what)

    print(f"\n{'implementation':<20}{'networks':<9}{'median us':>11}{'min':>9}{'max':>9}{'foreign':>9}")
    for r in rows:
        busy = "-" if r["foreign_busy"] is None else f"{100 * r['foreign_busy']:.0f}%"
        print(f"{r['implementation']:<20}{r['networks']:<9}{r['median_us']:>11.1f}{r['min_us']:>9.1f}"
              f"{r['max_us']:>9.1f}{busy:>9}")
    print()
    for k, v in ratios.items():
        print(f"{k:<34} {v:.3f}")

    result = {
        "benchmark": "adam",
        "description": __doc__.split("\n\n")[1].replace("\n", " "),
        "machine": info,
        "settings": {"lr": LR, "betas": [0.9, 0.999], "eps": 1e-8, "dtype": "float32",
                     "shapes": SHAPES,
                     "values": {k: int(sum(np.prod(s) for s in v)) for k, v in SHAPES.items()},
                     "repeats": args.repeats, "min_block_s": args.min_block,
                     "torch_threads": None if torch is None else torch.get_num_threads(),
                     "passes_per_weight": {"minigan": 10, "numpy": 13},
                     "time": time.strftime("%Y-%m-%d %H:%M:%S")},
        "agreement_max_abs_diff": {"reference": reference, **worst},
        "rows": rows,
        "ratios": ratios,
    }
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "adam.json"), "w") as f:
        json.dump(result, f, indent=1, default=str)
    busy = [r["foreign_busy"] for r in rows if r["foreign_busy"] is not None]
    load = f"; other processes used {100 * max(busy):.0f}% of the CPUs meanwhile" if busy else ""
    plot(rows, os.path.join(args.out, "adam.png"), machine.summary_line(info) + load)
    print(f"\nwrote {os.path.join(args.out, 'adam.json')} and adam.png")
    return 0


def plot(rows, path, subtitle):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot")
        return
    names = list(dict.fromkeys(r["implementation"] for r in rows))
    groups = ["D+G", "D", "G"]
    fig, ax = plt.subplots(figsize=(10, 5.5))
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        xs, ys, lo, hi = [], [], [], []
        for j, g in enumerate(groups):
            r = next(r for r in rows if r["implementation"] == name and r["networks"] == g)
            xs.append(j + (i - (len(names) - 1) / 2) * width)
            ys.append(r["median_us"])
            lo.append(r["median_us"] - r["min_us"])
            hi.append(r["max_us"] - r["median_us"])
        bars = ax.bar(xs, ys, width, yerr=[lo, hi], capsize=3, label=name)
        ax.bar_label(bars, fmt="%.0f", fontsize=7, padding=2)
    ax.set_xticks(range(len(groups)), ["D + G (335,985 values)", "D (157,601)", "G (178,384)"])
    ax.set_ylabel("µs per Adam step (median; bars: min..max)")
    ax.set_title("Adam step, improved MNIST GAN parameters, float32\n" + subtitle, fontsize=9)
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="few, short samples: a smoke test")
    p.add_argument("--repeats", type=int, default=15, help="samples per row (default 15)")
    p.add_argument("--min-block", type=float, default=0.05, help="seconds per sample (default 0.05)")
    p.add_argument("--quiet-timeout", type=float, default=30.0,
                   help="seconds to wait for other processes to go quiet (default 30)")
    p.add_argument("--torch-threads", type=int, default=1,
                   help="torch intra-op threads (default 1; 0: torch's own choice)")
    p.add_argument("--out", default=os.path.join(HERE, "results"), help="output folder")
    args = p.parse_args(argv)
    if args.quick:
        args.repeats, args.min_block, args.quiet_timeout = 3, 0.005, 0.0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
