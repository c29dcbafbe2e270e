"""Convolution speed: minigan vs PyTorch (CPU) at the book's conv-GAN shapes, in one process.

The six layers of BOOK_SPEC section 4.14 (batch 1, 3x128x128 images, 256 channels, 8x8
kernels, stride 2): D's three ``Conv2d`` and G's three ``ConvTranspose2d``. For each layer
both libraries run the same weights on the same input; we time the forward alone (no
graph) and forward + backward (gradients of input, weight and bias), interleaving minigan
and torch sample by sample (alternating which goes first) so that drift and neighbours on
a shared machine hit both alike. Each number is the median of the samples, with min and
max; a sample is a block of calls lasting >= 50 ms. The ratio is minigan / torch (issue
#11's target: <= 1 for every layer's forward + backward). GFLOP/s counts 2 FLOP per multiply-add of the convolution (3 such
products for forward + backward).

Beside the FLOPs, every row says which plan minigan ran (functional/conv.py: "columns",
"taps", "subpixel-taps" or "winograd"; the fifth, "gather", is for small images such as the
batch-1 MNIST CNN's, never these layers) and what that plan costs per forward + backward: the
FLOPs its GEMMs execute (Winograd's are fewer than the convolution's), and the bytes its
offset loops move (im2col + col2im for columns, or their counterparts: the tap
gather/spread, the sub-pixel split, Winograd's tiles). The machine's large-matrix float32 rate
(NumPy, square products of 4096) is measured in the same run, before and after the layers,
and every GEMM rate is also given as a share of it. Every sample is taken while the BLAS probe
reads quiet (``minigan.bench.machine.PhaseWatch``: these shared VMs have slow phases in which
two-thread BLAS loses 40 % and the GEMM shares would say more about the VM than about the
plans); the JSON keeps the probe's readings (``slow_phases``).

``--profile`` also times minigan's pieces per layer, for the plan it picks (im2col, the
three GEMMs and col2im for "columns"; the GEMMs and the tap gather/spread for "taps"; the
tiles, the transforms and the n*n stacked GEMMs for "winograd"; the split and the tap
GEMMs for "subpixel-taps"), with each GEMM's rate.
``--plans`` times forward + backward under every plan (forced), interleaved with PyTorch:
the measurement behind ``make_plan``'s choice.

    python benchmarks/bench_conv.py                  # all six layers -> results/conv.{json,png}
    python benchmarks/bench_conv.py --quick          # fewer samples
    python benchmarks/bench_conv.py --layers D2 G2 --profile --plans --no-save
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import minigan  # noqa: E402
from minigan.backend import get_backend  # noqa: E402
from minigan.functional import conv as C  # noqa: E402
from minigan.bench import machine  # noqa: E402

# name, kind, in_channels, out_channels, input shape, padding  (BOOK_SPEC section 4.14)
LAYERS = [
    ("D1", "Conv2d", 3, 256, (1, 3, 128, 128), 0),
    ("D2", "Conv2d", 256, 256, (1, 256, 61, 61), 0),
    ("D3", "Conv2d", 256, 3, (1, 256, 27, 27), 0),
    ("G1", "ConvTranspose2d", 3, 256, (1, 3, 11, 11), 0),
    ("G2", "ConvTranspose2d", 256, 256, (1, 256, 28, 28), 0),
    ("G3", "ConvTranspose2d", 256, 3, (1, 256, 62, 62), 1),
]
KERNEL, STRIDE = 8, 2


# ----------------------------------------------------------------------------- CPU share of others
def _cpu_jiffies():
    """(busy jiffies of the whole machine, stolen jiffies, jiffies of this process)."""
    with open("/proc/stat") as f:
        user, nice, system, idle, iowait, irq, softirq, steal = [int(v) for v in f.readline().split()[1:9]]
    with open("/proc/self/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    own = int(fields[11]) + int(fields[12])  # utime + stime (all threads)
    return user + nice + system + irq + softirq, steal, own


class ForeignLoad:
    """How busy *other* processes kept the CPUs during a block (0 = alone, 1 = all cores),
    and the share the hypervisor stole for other virtual machines (``steal``)."""

    def __enter__(self):
        self.share = self.steal = None
        try:
            self.start, self.t0 = _cpu_jiffies(), time.perf_counter()
        except OSError:
            self.start = None
        return self

    def __exit__(self, *exc):
        if self.start is None:
            return False
        busy, steal, own = _cpu_jiffies()
        ticks = os.sysconf("SC_CLK_TCK") * (time.perf_counter() - self.t0) * (os.cpu_count() or 1)
        if ticks:
            self.share = max(0.0, ((busy - self.start[0]) - (own - self.start[2])) / ticks)
            self.steal = max(0.0, (steal - self.start[1]) / ticks)
        return False


def wait_until_quiet(limit=0.15, timeout=20.0):
    """Wait (at most ``timeout`` s) until other processes use less than ``limit`` of the CPUs."""
    t_end = time.perf_counter() + timeout
    share = None
    while time.perf_counter() < t_end:
        with ForeignLoad() as load:
            time.sleep(0.5)
        share = load.share
        if share is None or share < limit:
            break
    return share


# ----------------------------------------------------------------------------- the layers
def build(spec, torch):
    """The same layer in both libraries (minigan's default init, copied into torch)."""
    name, kind, cin, cout, shape, pad = spec
    minigan.manual_seed(0)
    m = getattr(minigan.nn, kind)(cin, cout, KERNEL, stride=STRIDE, padding=pad)
    t = getattr(torch.nn, kind)(cin, cout, KERNEL, stride=STRIDE, padding=pad)
    with torch.no_grad():
        t.weight.copy_(torch.from_numpy(m.weight.detach().numpy()))
        t.bias.copy_(torch.from_numpy(m.bias.detach().numpy()))
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(np.float32)
    mx = minigan.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    with minigan.no_grad():
        out_shape = m(mx).shape
    gy = rng.standard_normal(out_shape).astype(np.float32)
    return m, t, mx, tx, minigan.tensor(gy), torch.tensor(gy)


def flops(spec, out_shape):
    """2 x multiply-adds of one forward (conv2d view: small side x C_small x C_big x K*K)."""
    name, kind, cin, cout, shape, pad = spec
    small = out_shape[2] * out_shape[3] if kind == "Conv2d" else shape[2] * shape[3]
    return 2.0 * cin * cout * KERNEL * KERNEL * small


def check_same(m, t, mx, tx, mgy, tgy, torch):
    """Max relative difference of output and every gradient (a sanity check, not a test)."""
    for p in (mx, m.weight, m.bias):
        p.grad = None
    tx.grad = None
    t.zero_grad(set_to_none=True)
    my, ty = m(mx), t(tx)
    my.backward(mgy)
    ty.backward(tgy)
    pairs = [(my.detach().numpy(), ty.detach().numpy()), (mx.grad.numpy(), tx.grad.numpy()),
             (m.weight.grad.numpy(), t.weight.grad.numpy()), (m.bias.grad.numpy(), t.bias.grad.numpy())]
    return max(float(np.abs(a - b).max() / (np.abs(b).max() + 1e-30)) for a, b in pairs)


def timed_block(fn, calls):
    t0 = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - t0) / calls


# The slow-phase check (minigan.bench.machine.PhaseWatch): every sample is taken, or taken
# again, while the BLAS probe reads quiet. main() sets it; None measures without it.
PHASE = None


def _quiet(fn):
    return fn() if PHASE is None else PHASE.run(fn)


def compare(fns, samples, min_block=0.05, settle=0.1):
    """Interleave the functions sample by sample; returns per-function lists of seconds/call.

    Before each block we sleep ``settle`` seconds: after a call, OpenBLAS's and OpenMP's
    worker threads spin for a while, and if the other library started at once the two
    thread pools would fight over the cores (BASELINES.md, "Method and noise"). A sample
    (one block of each function) taken in a slow phase of the VM is taken again (``PHASE``)."""
    calls = []
    for fn in fns:  # warm up, then size the blocks so that each lasts >= min_block
        for _ in range(3):
            fn()
        per_call = min(timed_block(fn, 1) for _ in range(3))
        calls.append(max(1, math.ceil(min_block / max(per_call, 1e-6))))
    times = [[] for _ in fns]
    loads = []
    for s in range(samples):
        order = list(range(len(fns)) if s % 2 == 0 else reversed(range(len(fns))))

        def one_sample():
            block = {}
            with ForeignLoad() as load:  # (the sleeps count as idle time, not as others' load)
                for k in order:
                    time.sleep(settle)
                    block[k] = timed_block(fns[k], calls[k])
            return block, load
        block, load = _quiet(one_sample)
        for k, t in block.items():
            times[k].append(t)
        loads.append(load)
    return times, loads


def stats(ts):
    ms = [1e3 * t for t in ts]
    return {"median_ms": statistics.median(ms), "min_ms": min(ms), "max_ms": max(ms), "samples": len(ms)}


def bench_layer(spec, torch, samples, plans=False):
    m, t, mx, tx, mgy, tgy = build(spec, torch)
    err = check_same(m, t, mx, tx, mgy, tgy, torch)

    def m_fwd():
        with minigan.no_grad():
            m(mx)

    def t_fwd():
        with torch.no_grad():
            t(tx)

    def m_step():
        mx.grad = m.weight.grad = m.bias.grad = None
        m(mx).backward(mgy)

    def t_step():
        tx.grad = t.weight.grad = t.bias.grad = None
        t(tx).backward(tgy)

    with minigan.no_grad():
        out_shape = m(mx).shape
    fl = flops(spec, out_shape)
    plan = layer_plan(spec)
    cost = C.plan_costs(plan, spec[4][0], 4)
    row = {"layer": spec[0], "module": f"{spec[1]}({spec[2]}, {spec[3]}, kernel_size={KERNEL}, "
                                       f"stride={STRIDE}" + (f", padding={spec[5]}" if spec[5] else "") + ")",
           "input": list(spec[4]), "output": list(out_shape), "gflop_forward": fl / 1e9,
           "plan": plan.name,
           "winograd_block": getattr(plan, "m", None),  # F(m x m, R x R): conv_winograd.output_block
           "per_forward_backward": {"conv_gflop": 3 * fl / 1e9, "gemm_gflop": cost["gemm_flop"] / 1e9,
                                    "transform_gflop": cost["transform_flop"] / 1e9,
                                    "loop_mbytes": cost["loop_bytes"] / 1e6},
           "max_rel_diff_vs_torch": err}
    row["quiet_before"] = wait_until_quiet()
    for label, (fm, ft), n_products in (("forward", (m_fwd, t_fwd), 1),
                                        ("forward_backward", (m_step, t_step), 3)):
        (tm, tt), loads = compare([fm, ft], samples)
        sm, st = stats(tm), stats(tt)
        sm["gflops"] = n_products * fl / (sm["median_ms"] * 1e6)
        st["gflops"] = n_products * fl / (st["median_ms"] * 1e6)
        row[label] = {"minigan": sm, "torch": st, "ratio": sm["median_ms"] / st["median_ms"],
                      "ratio_of_minima": sm["min_ms"] / st["min_ms"],
                      "foreign_busy_median": _median([l.share for l in loads]),
                      "steal_median": _median([l.steal for l in loads])}
    if plans:  # every plan forced, interleaved with torch (and the automatic choice)
        def forced(name):
            def step():
                C.PLAN = name
                try:
                    m_step()
                finally:
                    C.PLAN = None
            return step
        names = ["columns", "taps", "subpixel-taps", "winograd"]
        times, loads = compare([forced(n) for n in names] + [t_step], samples)
        t_ms = statistics.median(times[-1]) * 1e3
        row["plans_forward_backward"] = {
            "torch_median_ms": t_ms, "foreign_busy_median": _median([l.share for l in loads]),
            **{n: {"median_ms": statistics.median(ts) * 1e3,
                   "ratio": statistics.median(ts) * 1e3 / t_ms,
                   "ran": forced_plan_name(spec, n)} for n, ts in zip(names, times)}}
    return row


def _geometry_and_weight(spec, rng=None):
    """The layer in conv2d terms (functional/conv.py): its geometry and a weight of the
    (small-side channels, big-side channels, K, K) shape the plans take."""
    name, kind, cin, cout, shape, pad = spec
    k = (KERNEL, KERNEL)
    if kind == "Conv2d":
        g = C.conv2d_geometry(shape[2], shape[3], k, (STRIDE,) * 2, (1, 1), (pad,) * 4)
        w_shape = (cout, cin, KERNEL, KERNEL)
    else:
        g = C.conv_transpose2d_geometry(shape[2], shape[3], k, (STRIDE,) * 2, (1, 1), (pad,) * 2, (0, 0))
        w_shape = (cin, cout, KERNEL, KERNEL)
    rng = rng or np.random.default_rng(2)
    return g, rng.standard_normal(w_shape).astype(np.float32)


def layer_plan(spec):
    """The plan make_plan picks for the layer."""
    g, W = _geometry_and_weight(spec)
    return C.make_plan(get_backend("cpu").xp, g, W)


def forced_plan_name(spec, name):
    """The plan that runs when ``name`` is forced (a forced winograd may fall back)."""
    old, C.PLAN = C.PLAN, name
    try:
        return layer_plan(spec).name
    finally:
        C.PLAN = old


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


# ----------------------------------------------------------------------------- where the time goes
def profile_layer(spec, samples, rate):
    """Time minigan's pieces for one layer, for the plan it picks (see functional/conv.py):
    the offset loops (im2col / col2im, gather / spread of tap planes, or Winograd's tiles)
    and the products. Each GEMM piece also gets its GFLOP/s and its share of ``rate``, the
    machine's large-matrix rate measured in this run."""
    xp = get_backend("cpu").xp
    rng = np.random.default_rng(2)
    g, W = _geometry_and_weight(spec, rng)
    n_small, n_big = W.shape[0], W.shape[1]
    big = rng.standard_normal((1, n_big, g.H, g.W)).astype(np.float32)
    small = rng.standard_normal((1, n_small, g.OH, g.OW)).astype(np.float32)
    plan = C.make_plan(xp, g, W)
    rows = C.to_rows(xp, small)
    if plan.name == "columns":
        col = C.im2col(xp, big, g)
        WkT = xp.permute_dims(plan.Wk, (1, 0))
        cols = xp.matmul2d(WkT, rows)
        lent = np.empty_like(cols)  # as the plan does: into a lent work array

        def im2col_lent():
            C.work_arrays.give_back(xp, C.im2col(xp, big, g))

        parts = {
            "im2col": im2col_lent,
            "gemm W@col": lambda: xp.matmul2d(plan.Wk, col),
            "gemm W^T@rows": lambda: xp.dot(WkT, rows, out=lent),
            "col2im": lambda: C.col2im(xp, cols, g, 1, n_big),
            "gemm rows@col^T (weight grad)": lambda: plan.weight_grad(rows, col),
        }
    elif plan.name == "winograd":
        V = plan.prepare_big(big)
        Z = plan.prepare_small(small)
        U_T, U_e = xp.permute_dims(plan.U, (1, 2, 0)), xp.permute_dims(plan.U, (1, 0, 2))
        Z_T = xp.permute_dims(Z, (0, 2, 1))
        dtiles = np.array(plan.tiles(big))  # (the shape of the real one, not lent)

        def tiles_lent():
            C.work_arrays.give_back(xp, plan.tiles(big))

        def prepare_big_lent():
            plan.release(plan.prepare_big(big))

        parts = {
            "weight transform U": lambda: C.make_plan(xp, g, W),
            "tiles": tiles_lent,
            "tiles -> V (KB@)": prepare_big_lent,
            "blocks -> Z (KA^T@)": lambda: plan.prepare_small(small),
            "gemm V@U^T": lambda: xp.matmul(V, U_T),
            "conv (gemm V@U^T, KA@, blocks)": lambda: plan.conv(V, 1),
            "gemm Z@U": lambda: xp.matmul(Z, U_e),
            "conv_transpose (gemm Z@U, KB^T@, untiles)": lambda: plan.conv_transpose(Z, 1),
            "untiles": lambda: plan.untiles(dtiles, 1),
            "gemm Z^T@V (weight grad)": lambda: xp.matmul(Z_T, V),
            "weight_grad (gemm Z^T@V, KW map)": lambda: plan.weight_grad(Z, V),
        }
    elif plan.name == "subpixel-taps":
        inner = plan.inner
        big_rows = plan.prepare_big(big)
        spread = plan.prepare_small(small)
        parts = {
            "phases (split)": lambda: plan.phases(big),
            "gemm Wt@phases": lambda: xp.matmul2d(inner.Wt, big_rows),
            "conv (gemm, gather taps)": lambda: plan.conv(big_rows, 1),
            "spread taps": lambda: plan.prepare_small(small),
            "gemm Wt^T@taps": lambda: xp.matmul2d(xp.permute_dims(inner.Wt, (1, 0)), spread),
            "conv_transpose (gemm, join phases)": lambda: plan.conv_transpose(spread, 1),
            "gemm phases@taps^T (weight grad)": lambda: xp.matmul2d(big_rows, xp.permute_dims(spread, (1, 0))),
            "weight_grad (gemm, phase copies)": lambda: plan.weight_grad(spread, big_rows),
        }
    else:
        big_rows = plan.prepare_big(big)
        T = xp.matmul2d(plan.Wt, big_rows)
        spread = C.spread_taps(xp, rows, g, 1)
        parts = {
            "gemm Wt@big": lambda: xp.matmul2d(plan.Wt, big_rows),
            "gather taps": lambda: C.gather_taps(xp, T, g, 1),
            "spread taps": lambda: C.spread_taps(xp, rows, g, 1),
            "gemm Wt^T@taps": lambda: xp.matmul2d(xp.permute_dims(plan.Wt, (1, 0)), spread),
            "gemm taps@big^T (weight grad)": lambda: plan.weight_grad(spread, big_rows),
        }
    out = {"plan": plan.name}
    gemm_flop = C.plan_costs(plan, 1, 4)["gemm_flop"] / 3  # one of the three products
    for label, fn in parts.items():
        fn()
        # the phase is checked around the piece's samples, not each one: the probe's 10 MB
        # would leave a 0.2 ms piece's operands out of the cache
        ts = _quiet(lambda: [timed_block(fn, 1) for _ in range(samples)])
        out[label] = {"min_ms": 1e3 * min(ts), "median_ms": 1e3 * statistics.median(ts)}
        if label.startswith("gemm"):  # the rate of the median, and its share of the machine's
            out[label]["gflops"] = gemm_flop / statistics.median(ts) / 1e9
            out[label]["share_of_machine_rate"] = out[label]["gflops"] / rate
    return out


# ----------------------------------------------------------------------------- output
def plot(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["layer"] for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, key, title in ((axes[0], "forward_backward", "forward + backward"),
                           (axes[1], "forward", "forward only")):
        m = [r[key]["minigan"]["median_ms"] for r in rows]
        t = [r[key]["torch"]["median_ms"] for r in rows]
        xs = np.arange(len(rows))
        ax.bar(xs - 0.2, m, 0.4, label="minigan (NumPy + BLAS, plan per layer)")
        ax.bar(xs + 0.2, t, 0.4, label="PyTorch CPU (oneDNN)")
        for i, r in enumerate(rows):
            ax.text(xs[i], max(m[i], t[i]) * 1.15, f"{r[key]['ratio']:.2f}x", ha="center", fontsize=9)
        ax.set_yscale("log")
        # one line each for layer, plan and output size: "subpixel-taps" beside its layer's
        # name ran into the next label
        ax.set_xticks(xs, [f"{r['layer']}\n{r['plan']}\n{r['output'][1]}x{r['output'][2]}x{r['output'][3]}"
                           for r in rows],
                      fontsize=7)
        ax.set_ylabel("ms (median, log scale)")
        ax.set_title(f"Book conv-GAN layers, batch 1: {title}\n(label: minigan / torch time)")
        ax.legend(fontsize=8, loc="upper left")
        ax.set_ylim(top=max(max(m), max(t)) * 3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--layers", nargs="*", default=[s[0] for s in LAYERS])
    ap.add_argument("--samples", type=int, default=9, help="timed samples per measurement")
    ap.add_argument("--quick", action="store_true", help="3 samples, for a smoke run")
    ap.add_argument("--profile", action="store_true", help="also time im2col / GEMM / col2im")
    ap.add_argument("--plans", action="store_true",
                    help="also time forward + backward under every plan (forced)")
    ap.add_argument("--out", default=os.path.join(HERE, "results"), help="folder for conv.json/png")
    ap.add_argument("--no-save", action="store_true")
    args = ap.parse_args(argv)
    samples = 3 if args.quick else args.samples
    global PHASE
    PHASE = None if args.quick else machine.PhaseWatch(machine.quick_probe, 1.4, 30.0)

    import torch
    info = machine.describe(include_torch=True)  # the record every benchmark keeps
    print(machine.summary_line(info))
    rates = [_quiet(machine.machine_rate)]
    print(f"machine: NumPy float32 {rates[0]['n']}^2 products {rates[0]['median_gflops']:.0f} GFLOP/s "
          f"(median; best {rates[0]['best_gflops']:.0f})")
    rows = []
    header = (f"{'layer':5} {'output':>16} {'what':>9} {'minigan ms':>22} {'torch ms':>22} {'ratio':>6} "
              f"{'GFLOP/s m/t':>12} {'busy':>5}")
    print(header)
    for spec in LAYERS:
        if spec[0] not in args.layers:
            continue
        row = bench_layer(spec, torch, samples, plans=args.plans)
        if args.profile:
            row["minigan_parts"] = profile_layer(spec, samples, rates[0]["median_gflops"])
        rows.append(row)
        c = row["per_forward_backward"]
        print(f"      plan '{row['plan']}': fwd+bwd = {c['conv_gflop']:.3f} GFLOP of convolution, "
              f"{c['gemm_gflop']:.3f} GFLOP in its GEMMs (+{c['transform_gflop']:.3f} in transforms), "
              f"{c['loop_mbytes']:.1f} MB moved by im2col/col2im (or its counterparts)")
        for key, label in (("forward", "fwd"), ("forward_backward", "fwd+bwd")):
            r = row[key]
            m, t = r["minigan"], r["torch"]
            busy = r["foreign_busy_median"]
            print(f"{row['layer']:5} {str(tuple(row['output'])):>16} {label:>9} "
                  f"{m['median_ms']:8.2f} [{m['min_ms']:.1f}..{m['max_ms']:.1f}] "
                  f"{t['median_ms']:8.2f} [{t['min_ms']:.1f}..{t['max_ms']:.1f}] {r['ratio']:6.2f} "
                  f"{m['gflops']:5.0f}/{t['gflops']:<5.0f} {'' if busy is None else f'{busy:.0%}':>5}")
        if args.profile:
            parts = dict(row["minigan_parts"])
            print(f"      minigan, plan '{parts.pop('plan')}', pieces (median ms): " + ", ".join(
                f"{k} {v['median_ms']:.2f}" + (f" ({v['gflops']:.0f} GFLOP/s, {v['share_of_machine_rate']:.0%})"
                                               if "gflops" in v else "") for k, v in parts.items()))
        if args.plans:
            p = row["plans_forward_backward"]
            print("      fwd+bwd by plan (median ms, ratio to torch): " + ", ".join(
                f"{n} {p[n]['median_ms']:.2f} ({p[n]['ratio']:.2f})" + ("" if p[n]["ran"] == n else f" [ran {p[n]['ran']}]")
                for n in ("columns", "taps", "subpixel-taps", "winograd")) + f"; torch {p['torch_median_ms']:.2f}")
    rates.append(_quiet(machine.machine_rate))
    rate = max(r["median_gflops"] for r in rates)
    print(f"machine, after: {rates[1]['median_gflops']:.0f} GFLOP/s; reference rate {rate:.0f} GFLOP/s")
    if PHASE is not None:
        print(f"slow phases of the VM (BLAS probe over 1.4x its fastest, {PHASE.fastest:.1f} ms): "
              f"waited {PHASE.waited_s:.0f} s, {PHASE.slow_kept} measurements kept although slow")
    for row in rows:  # the GEMM rate of each fwd+bwd: its GEMMs' FLOPs over minigan's time
        c = row["per_forward_backward"]
        c["gemm_gflops_over_layer_time"] = c["gemm_gflop"] / (row["forward_backward"]["minigan"]["median_ms"] / 1e3)
        c["share_of_machine_rate"] = c["gemm_gflops_over_layer_time"] / rate
    print(f"\n{'layer':5} {'plan':>8} {'fwd+bwd ms m/t':>17} {'ratio':>6} {'conv GFLOP':>10} "
          f"{'GEMM GFLOP':>10} {'GEMM GFLOP/s':>12} {'% machine':>9} {'loop MB':>8}")
    for row in rows:
        c, r = row["per_forward_backward"], row["forward_backward"]
        print(f"{row['layer']:5} {row['plan']:>8} {r['minigan']['median_ms']:8.2f}/{r['torch']['median_ms']:<8.2f} "
              f"{r['ratio']:6.2f} {c['conv_gflop']:10.3f} {c['gemm_gflop']:10.3f} "
              f"{c['gemm_gflops_over_layer_time']:12.0f} {c['share_of_machine_rate']:9.0%} {c['loop_mbytes']:8.1f}")
    print("(GEMM GFLOP/s: the FLOPs the plan's GEMMs execute over the whole layer's fwd+bwd time;\n"
          " --profile gives each GEMM's own rate)")
    totals = {}
    for key in ("forward", "forward_backward"):
        m = sum(r[key]["minigan"]["median_ms"] for r in rows)
        t = sum(r[key]["torch"]["median_ms"] for r in rows)
        totals[key] = {"minigan_ms": m, "torch_ms": t, "ratio": m / t if t else None}
        print(f"total {key}: minigan {m:.1f} ms, torch {t:.1f} ms, ratio {m / t:.2f}")
    result = {"benchmark": "conv layers of the book's CelebA conv GAN (BOOK_SPEC 4.14), batch 1",
              "method": "interleaved samples in one process; median [min..max] of blocks >= 50 ms; "
                        "ratio = minigan median / torch median; float32",
              "date": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": info, "samples": samples,
              "machine_matmul_float32": rates, "reference_rate_gflops": rate,
              "load_average": os.getloadavg(), "slow_phases": {} if PHASE is None else PHASE.info(),
              "layers": rows, "totals_of_listed_layers": totals, "target_ratio": 1.0}
    if not args.no_save:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "conv.json"), "w") as f:
            json.dump(result, f, indent=1)
        plot(rows, os.path.join(args.out, "conv.png"))
        print(f"wrote {os.path.join(args.out, 'conv.json')} and conv.png")
    return result


if __name__ == "__main__":
    main()
