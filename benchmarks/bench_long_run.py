#!/usr/bin/env python
"""A long book-style run of the improved MNIST GAN: does it slow down, and do denormals appear?

    python benchmarks/bench_long_run.py [--iterations 60000] [--quick] [--out DIR]

Long CPU trainings can crawl when values underflow into denormal (subnormal) floats: x86
arithmetic on them can take tens of times longer, and Adam's moments and near-zero weights
are where they collect (Chainer users hit exactly this). This runs ``--iterations`` iterations
of the book's GAN loop (BOOK_SPEC 1.7, ``minigan.training.gan_step``: one real bundled digit in
stored order, cycling through the 4,000 training digits, and two ``randn(100)`` seeds per
iteration) and reports:

* the time per iteration of the first 1,000 and the last 1,000 iterations: the median of
  their ten 100-iteration blocks, as wall time and as this process's CPU time (the CPU time
  does not count the time other processes held the core, so it is the figure to read on a
  shared machine), and their ratio last / first;
* the number of denormal float32 values (``0 < |x| < finfo.tiny``) in every weight, gradient
  and Adam moment (``exp_sum``, ``exp_sum_sq``) of both networks, every 10,000 iterations
  and at the end;
* what denormals would cost on this CPU: one Adam step of G's parameters with normal moments
  and with denormal ones, and three NumPy ufuncs on normal vs denormal arrays, interleaved.

Writes ``long_run.json`` (machine, settings, every block's times, the counts) and
``long_run.png`` (time per block over the run).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # this checkout's minigan

import minigan  # noqa: E402
from minigan import book  # noqa: E402
from minigan.bench import machine  # noqa: E402
from minigan.bench.output import out_paths, pyplot, write_json  # noqa: E402
from minigan.data import bundled_mnist  # noqa: E402
from minigan.training import gan_step  # noqa: E402

BLOCK = 100           # iterations per timed block
WINDOW = 1000         # "first 1,000" and "last 1,000"
COUNT_EVERY = 10_000  # denormal census interval
TINY32 = np.finfo(np.float32).tiny


def denormals(a) -> int:
    a = np.asarray(a)
    return int(np.count_nonzero((np.abs(a) < np.finfo(a.dtype).tiny) & (a != 0)))


def census(nets) -> dict:
    """Denormal counts per network: weights, gradients, Adam's two moments (and the totals)."""
    out = {}
    for name, net in (("D", nets.D), ("G", nets.G)):
        counts = {"weights": 0, "grads": 0, "exp_sum": 0, "exp_sum_sq": 0, "values": 0,
                  "exact_zero_exp_sum_sq": 0}
        for p in net.module.parameters():
            counts["values"] += p.data.size
            counts["weights"] += denormals(p.data)
            if p.grad is not None:
                counts["grads"] += denormals(p.grad.data)
            state = net.optimiser.state.get(p, {})
            for key in ("exp_sum", "exp_sum_sq", "max_exp_sum_sq"):
                if key in state:
                    counts[key] = counts.get(key, 0) + denormals(state[key].data)
            if "exp_sum_sq" in state:
                counts["exact_zero_exp_sum_sq"] += int(np.count_nonzero(state["exp_sum_sq"].data == 0))
        out[name] = counts
    return out


def run(iterations: int, seed: int, progress: bool):
    minigan.manual_seed(seed)
    experiment = book.get("mnist-gan")
    nets = experiment.build()
    data = bundled_mnist("train")
    ones, zeros = experiment.targets(minigan)
    n = len(data)
    wall, cpu, counts = [], [], []
    t_wall, t_cpu = time.perf_counter(), time.process_time()
    started = t_wall
    for i in range(iterations):
        _, image, _ = data[i % n]
        gan_step(nets.D, nets.G, image, minigan.randn(100), minigan.randn(100), ones, zeros)
        if (i + 1) % BLOCK == 0:
            now_wall, now_cpu = time.perf_counter(), time.process_time()
            wall.append((now_wall - t_wall) / BLOCK * 1e6)
            cpu.append((now_cpu - t_cpu) / BLOCK * 1e6)
            if (i + 1) % COUNT_EVERY == 0 or i + 1 == iterations:
                counts.append({"iteration": i + 1, **census(nets)})
                if progress:
                    print(f"  {i + 1:6d} iterations, {now_wall - started:6.0f} s: last block "
                          f"{wall[-1]:.0f} us/it wall, {cpu[-1]:.0f} us/it cpu; denormals "
                          f"{_total(counts[-1])}", flush=True)
            t_wall, t_cpu = time.perf_counter(), time.process_time()
    losses = {"D": nets.D.progress[-10:], "G": nets.G.progress[-10:]}
    return nets, wall, cpu, counts, losses, time.perf_counter() - started


def _total(count) -> int:
    return sum(v for net in ("D", "G") for k, v in count[net].items()
               if k not in ("values", "exact_zero_exp_sum_sq"))


def window(series, first: bool) -> dict:
    blocks = WINDOW // BLOCK
    part = series[:blocks] if first else series[-blocks:]
    return {"median_us_per_iteration": statistics.median(part), "min_us_per_iteration": min(part),
            "blocks": len(part)}


def denormal_cost(repeats: int) -> dict:
    """Adam on G's parameters with normal vs denormal moments, and ufuncs, interleaved."""
    from minigan.book.mnist_gan import generator
    minigan.manual_seed(1)
    results = {}

    def adam_with(moment, grad):
        G = generator()
        opt = minigan.optim.Adam(G.parameters(), lr=1e-4)
        for p in G.parameters():
            p.grad = minigan.full(p.shape, grad)
        opt.step()
        for p in G.parameters():  # moments pinned to the value under test
            for key in ("exp_sum", "exp_sum_sq"):
                opt.state[p][key].data[...] = moment
        return opt

    cases = {
        "adam_step_G_normal": adam_with(1e-3, 1e-3),
        # g = 1e-41 keeps exp_sum denormal, g*g = 0 lets exp_sum_sq decay through denormals
        "adam_step_G_denormal": adam_with(1e-40, 1e-41),
    }
    big = 178_184
    arrays = {"normal": np.full(big, 1e-3, np.float32), "denormal": np.full(big, 1e-40, np.float32)}
    out = np.empty(big, np.float32)
    ufuncs = {
        "multiply": lambda a: np.multiply(a, np.float32(0.999), out=out),
        "sqrt": lambda a: np.sqrt(a, out=out),
        "divide": lambda a: np.divide(a, a, out=out),
    }
    samples = {k: [] for k in cases}
    for name in ufuncs:
        for kind in arrays:
            samples[f"numpy_{name}_{kind}"] = []
    for _ in range(repeats):  # interleaved: every case sees the same machine state
        for name, opt in cases.items():
            t = time.perf_counter()
            for _ in range(20):
                opt.step()
            samples[name].append((time.perf_counter() - t) / 20 * 1e6)
        for name, fn in ufuncs.items():
            for kind, a in arrays.items():
                t = time.perf_counter()
                for _ in range(50):
                    fn(a)
                samples[f"numpy_{name}_{kind}"].append((time.perf_counter() - t) / 50 * 1e6)
    for key, values in samples.items():
        results[key + "_us"] = statistics.median(values)
    results["adam_denormal_over_normal"] = results["adam_step_G_denormal_us"] / results["adam_step_G_normal_us"]
    for name in ufuncs:
        results[f"numpy_{name}_denormal_over_normal"] = \
            results[f"numpy_{name}_denormal_us"] / results[f"numpy_{name}_normal_us"]
    results["still_denormal_after_timing"] = {
        k: denormals(cases["adam_step_G_denormal"].state[next(iter(cases["adam_step_G_denormal"].state))][k].data)
        for k in ("exp_sum", "exp_sum_sq")}
    return results


def plot(path, wall, cpu):
    plt = pyplot()
    if plt is None:
        return None
    x = np.arange(1, len(wall) + 1) * BLOCK
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.plot(x, wall, lw=0.6, color="0.6", label="wall")
    ax.plot(x, cpu, lw=0.8, color="C0", label="process CPU")
    ax.set_xlabel("iteration")
    ax.set_ylabel("us per iteration (100-iteration blocks)")
    ax.set_title("improved MNIST GAN, book-style (batch 1): time per iteration over a long run")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv=None):
    p = argparse.ArgumentParser(prog="bench_long_run.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--iterations", type=int, default=60_000, help="iterations (default %(default)s)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeats", type=int, default=15, help="samples per denormal-cost case")
    p.add_argument("--quick", action="store_true", help="3,000 iterations, 5 repeats (a smoke test)")
    p.add_argument("--out", default=os.path.join("benchmarks", "results"),
                   help="folder for long_run.json and long_run.png (default: %(default)s)")
    p.add_argument("--no-plot", action="store_true")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    args = p.parse_args(argv)
    if args.quick:
        args.iterations, args.repeats = min(args.iterations, 3000), 5
    if args.iterations < 2 * WINDOW:
        p.error(f"--iterations must be at least {2 * WINDOW}")
    args.iterations -= args.iterations % BLOCK

    described = machine.describe(include_torch=False)
    print("machine:", machine.summary_line(described))
    load_start = os.getloadavg() if hasattr(os, "getloadavg") else None
    nets, wall, cpu, counts, losses, elapsed = run(args.iterations, args.seed, not args.quiet)
    load_end = os.getloadavg() if hasattr(os, "getloadavg") else None
    cost = denormal_cost(args.repeats)

    first = {"wall": window(wall, True), "cpu": window(cpu, True)}
    last = {"wall": window(wall, False), "cpu": window(cpu, False)}
    ratio = {k: last[k]["median_us_per_iteration"] / first[k]["median_us_per_iteration"]
             for k in ("wall", "cpu")}
    result = {
        "benchmark": "long_run",
        "description": "improved MNIST GAN (mnist-gan), book-style: batch 1, stored order over "
                       "the bundled 4,000 training digits, two randn(100) seeds per iteration",
        "machine": described,
        "settings": {"iterations": args.iterations, "seed": args.seed, "block": BLOCK,
                     "window": WINDOW, "dtype": "float32", "repeats": args.repeats},
        "first_1000": first, "last_1000": last, "ratio_last_over_first": ratio,
        "denormals_at_end": counts[-1], "denormals_over_time": counts,
        "denormal_cost": cost,
        "load_average": {"start": load_start, "end": load_end},
        "elapsed_s": elapsed,
        "last_progress_losses": losses,
        "blocks_us_per_iteration": {"wall": wall, "cpu": cpu},
    }
    paths = out_paths(args.out, "long_run")
    write_json(result, paths["json"])
    written = [paths["json"]]
    if not args.no_plot and plot(paths["png"], wall, cpu):
        written.append(paths["png"])

    print(f"\n{args.iterations} iterations in {elapsed:.0f} s")
    for k in ("cpu", "wall"):
        print(f"  {k:4s}: first 1,000 {first[k]['median_us_per_iteration']:7.0f} us/it, last 1,000 "
              f"{last[k]['median_us_per_iteration']:7.0f} us/it (median of 100-iteration blocks): "
              f"last/first {ratio[k]:.3f}")
    end = counts[-1]
    for net in ("D", "G"):
        c = end[net]
        print(f"  denormals in {net} at the end: weights {c['weights']}, grads {c['grads']}, exp_sum "
              f"{c['exp_sum']}, exp_sum_sq {c['exp_sum_sq']} (of {c['values']} values each)")
    print(f"  what denormals cost here: Adam step of G {cost['adam_step_G_normal_us']:.0f} us with "
          f"normal moments, {cost['adam_step_G_denormal_us']:.0f} us with denormal ones "
          f"({cost['adam_denormal_over_normal']:.2f}x); sqrt {cost['numpy_sqrt_denormal_over_normal']:.2f}x, "
          f"divide {cost['numpy_divide_denormal_over_normal']:.2f}x, "
          f"multiply {cost['numpy_multiply_denormal_over_normal']:.2f}x")
    print("wrote " + ", ".join(written))
    return result


if __name__ == "__main__":
    main()
