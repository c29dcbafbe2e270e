"""``minigan bench ops``: the cost of one small op, at the book's batch-1 scale (issue #2).

The book trains on one sample at a time, so what a training step costs is mostly the fixed
cost of each operation, not arithmetic. This measures, in microseconds per call, side by side
in one process and one run:

========================  ====================================================================
op                        shapes (float32)
========================  ====================================================================
add                       (1,4) + (1,4)
matmul                    (1,4) @ (4,3)
sigmoid                   (1,4); NumPy: ``1/(1+exp(-x))``, 4 ufuncs
sum                       (1,4) -> scalar
fwd+bwd                   ``sigmoid(x @ W + b).sum()`` then gradients of W (4,3) and b (3,),
                          x (1,4): ``.backward()`` in minigan and torch; by hand in NumPy,
                          7 ops (matmul, add, sigmoid, sum; sigmoid', dW, db)
linear fwd+bwd            ``linear(x, W, b)`` with x (1,784), W (200,784), b (200,), then
                          ``.backward(g)`` with a random (1,200) upstream gradient
========================  ====================================================================

for raw NumPy, minigan and PyTorch; the elementwise ops also with ``requires_grad`` inputs
("(grad)": the op records a graph node). Gradients are reset to ``None`` before every
backward (as ``zero_grad(set_to_none=True)``), so no accumulation is timed.

The figure to read is **minigan fwd+bwd / torch fwd+bwd**: issue #2 asks for <= 0.25.
PyTorch runs with one thread (``--torch-threads``): at batch 1 a second thread gains nothing
(BASELINES.md section 3), and a one-thread torch has no OpenMP pool spinning against NumPy's
OpenBLAS threads while the implementations' samples interleave in this one process.
"""
from __future__ import annotations

import argparse
import operator
import os
import sys
import time

from . import machine as machine_mod
from .output import (add_common_arguments, command_line, out_paths, positive_float, positive_int, pyplot,
                     write_csv, write_json)
from .timing import Case, measure_interleaved

TARGET_RATIO = 0.25  # issue #2: minigan's fwd+bwd <= 0.25 x PyTorch's time
FWD_BWD = "fwd+bwd sigmoid(x@W+b).sum()"
LINEAR = "linear 784->200 fwd+bwd"
N_SETS = 4  # input sets rotated among


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--repeats", type=positive_int, help="timed samples per case (median reported); default 9")
    p.add_argument("--min-block", type=positive_float, dest="min_block_s", metavar="SECONDS",
                   help="minimum length of one timed sample; default 0.05")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    p.add_argument("--torch-threads", type=positive_int, default=1,
                   help="torch.set_num_threads for the torch cases (default: %(default)s, see above)")
    p.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    p.add_argument("--profile", action="store_true",
                   help="also print cProfile's view of minigan's fwd+bwd (where the time goes)")
    add_common_arguments(p, "ops", quiet_timeout=30.0, per="op",
                         quick_help="short samples and few repeats (a smoke test)")


# ============================================================================== the workloads
def _np_sigmoid(x):
    import numpy as np
    return 1.0 / (1.0 + np.exp(-x))


def _sum(x):
    return x.sum()


def _empty(*args):
    return None


def numpy_fwd_bwd(x, W, b):
    """sigmoid(x @ W + b).sum() and its gradients for W and b, by hand: 7 ops."""
    import numpy as np
    z = np.dot(x, W) + b
    s = 1.0 / (1.0 + np.exp(-z))
    loss = s.sum()
    gz = s * (1.0 - s)            # d loss / dz: sigma' (the upstream gradient of sum is 1)
    gW = np.dot(x.T, gz)
    gb = gz.sum(axis=0)
    return loss, gW, gb


def numpy_linear_fwd_bwd(x, W, b, g):
    import numpy as np
    y = np.dot(x, W.T) + b
    gW = np.dot(g.T, x)           # np.dot, not @: the batch-1 outer product (BASELINES section 4)
    gb = g.sum(axis=0)
    return y, gW, gb


def make_minigan_fwd_bwd():
    import minigan

    def step(x, W, b):
        W.grad = None
        b.grad = None
        minigan.sigmoid(x @ W + b).sum().backward()
    return step


def make_minigan_linear_fwd_bwd():
    import minigan

    def step(x, W, b, g):
        W.grad = None
        b.grad = None
        minigan.linear(x, W, b).backward(g)
    return step


def make_torch_fwd_bwd():
    import torch

    def step(x, W, b):
        W.grad = None
        b.grad = None
        torch.sigmoid(x @ W + b).sum().backward()
    return step


def make_torch_linear_fwd_bwd():
    import torch
    F = torch.nn.functional

    def step(x, W, b, g):
        W.grad = None
        b.grad = None
        F.linear(x, W, b).backward(g)
    return step


def build_groups(dtype="float32", with_torch=True, seed=0):
    """[(op name, [Case ...])]: every op with all its implementations, for interleaved timing."""
    import numpy as np
    import minigan
    rng = np.random.default_rng(seed)

    def rand(*shape):
        return (rng.random(shape) * 2 - 1).astype(dtype)  # uniform [-1, 1): random, never zeros

    torch = None
    if with_torch:
        import torch

    def mg(a, grad=False):
        t = minigan.from_numpy(a.copy())
        return t.requires_grad_() if grad else t

    def th(a, grad=False):
        return torch.tensor(a, requires_grad=grad)

    groups = [("python: empty call (harness)", [Case("python", _empty, [(rand(1, 4),)] * N_SETS)])]
    elementwise = [
        ("add (1,4)+(1,4)", operator.add, operator.add, operator.add, [(1, 4), (1, 4)]),
        ("matmul (1,4)@(4,3)", operator.matmul, operator.matmul, operator.matmul, [(1, 4), (4, 3)]),
        ("sigmoid (1,4)", _np_sigmoid, minigan.sigmoid, torch and torch.sigmoid, [(1, 4)]),
        ("sum (1,4)", _sum, _sum, _sum, [(1, 4)]),
    ]
    for name, np_fn, mg_fn, th_fn, shapes in elementwise:
        sets = [tuple(rand(*s) for s in shapes) for _ in range(N_SETS)]
        cases = [Case("numpy", np_fn, sets),
                 Case("minigan", mg_fn, [tuple(mg(a) for a in s) for s in sets]),
                 Case("minigan (grad)", mg_fn, [tuple(mg(a, True) for a in s) for s in sets])]
        if torch is not None:
            cases += [Case("torch", th_fn, [tuple(th(a) for a in s) for s in sets]),
                      Case("torch (grad)", th_fn, [tuple(th(a, True) for a in s) for s in sets])]
        groups.append((name, cases))

    sets = [(rand(1, 4), rand(4, 3), rand(3)) for _ in range(N_SETS)]
    cases = [Case("numpy (by hand)", numpy_fwd_bwd, sets),
             Case("minigan", make_minigan_fwd_bwd(), [(mg(x), mg(W, True), mg(b, True)) for x, W, b in sets])]
    if torch is not None:
        cases.append(Case("torch", make_torch_fwd_bwd(), [(th(x), th(W, True), th(b, True)) for x, W, b in sets]))
    groups.append((FWD_BWD, cases))

    sets = [(rand(1, 784), rand(200, 784) * 0.035, rand(200) * 0.035, rand(1, 200)) for _ in range(N_SETS)]
    cases = [Case("numpy (by hand)", numpy_linear_fwd_bwd, sets),
             Case("minigan", make_minigan_linear_fwd_bwd(),
                  [(mg(x), mg(W, True), mg(b, True), mg(g)) for x, W, b, g in sets])]
    if torch is not None:
        cases.append(Case("torch", make_torch_linear_fwd_bwd(),
                          [(th(x), th(W, True), th(b, True), th(g)) for x, W, b, g in sets]))
    groups.append((LINEAR, cases))
    return groups


def check_gradients(dtype="float32", with_torch=True):
    """The three fwd+bwd implementations must agree, or the timing compares different work."""
    import numpy as np
    import minigan
    rng = np.random.default_rng(123)
    x, W, b = (rng.random(s).astype(dtype) for s in ((1, 4), (4, 3), (3,)))
    _, gW, gb = numpy_fwd_bwd(x, W, b)
    mW, mb = minigan.from_numpy(W.copy()).requires_grad_(), minigan.from_numpy(b.copy()).requires_grad_()
    make_minigan_fwd_bwd()(minigan.from_numpy(x), mW, mb)
    tol = 1e-5 if dtype == "float32" else 1e-12
    ok = np.allclose(mW.grad.numpy(), gW, rtol=tol, atol=tol) and np.allclose(mb.grad.numpy(), gb, rtol=tol, atol=tol)
    if with_torch:
        import torch
        tW, tb = torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True)
        make_torch_fwd_bwd()(torch.tensor(x), tW, tb)
        ok = ok and np.allclose(tW.grad.numpy(), gW, rtol=tol, atol=tol)
    return bool(ok)


# ============================================================================== profiling
def profile_minigan(n=2000, dtype="float32", top=20):
    """cProfile of ``n`` minigan fwd+bwd steps: Python calls per step and the top functions."""
    import cProfile
    import pstats

    import numpy as np
    import minigan
    rng = np.random.default_rng(5)
    x = minigan.from_numpy(rng.random((1, 4)).astype(dtype))
    W = minigan.from_numpy(rng.random((4, 3)).astype(dtype)).requires_grad_()
    b = minigan.from_numpy(rng.random(3).astype(dtype)).requires_grad_()
    step = make_minigan_fwd_bwd()
    step(x, W, b)
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(n):
        step(x, W, b)
    prof.disable()
    st = pstats.Stats(prof)
    total_calls = st.total_calls
    rows = []
    for (file, line, func), (cc, nc, tt, ct, _) in st.stats.items():
        rows.append({"function": f"{os.path.basename(file)}:{line}({func})" if line else func,
                     "calls_per_step": nc / n, "tottime_us_per_step": tt / n * 1e6,
                     "cumtime_us_per_step": ct / n * 1e6})
    rows.sort(key=lambda r: -r["tottime_us_per_step"])
    return {"steps": n, "python_calls_per_step": total_calls / n,
            "note": "cProfile inflates every call; use the shares, not the absolute times",
            "profiled_us_per_step": st.total_tt / n * 1e6, "top_by_tottime": rows[:top]}


# ============================================================================== run
def run(args) -> int:
    t0 = time.time()
    quick = args.quick
    repeats = args.repeats or (3 if quick else 9)
    min_block = args.min_block_s or (0.002 if quick else 0.05)
    with_torch = not args.no_torch
    torch_info = None
    if with_torch:
        torch_info = machine_mod.torch_description()
        if not torch_info["available"]:
            print(f"torch: not available ({torch_info['reason']})")
            with_torch = False
        else:
            import torch
            torch.set_num_threads(args.torch_threads)
            torch_info["threads"] = torch.get_num_threads()
    m = machine_mod.describe(include_torch=False)
    if torch_info:
        m["torch"] = torch_info
    print(f"machine: {machine_mod.summary_line(m)}")
    grads_agree = check_gradients(args.dtype, with_torch)
    if not grads_agree:
        print("WARNING: the fwd+bwd gradients of the implementations disagree")

    rows = []
    for name, cases in build_groups(args.dtype, with_torch):
        res = measure_interleaved(cases, repeats=repeats, min_block_s=min_block,
                                  wait_quiet=not (args.no_wait_quiet or quick),
                                  quiet_timeout_s=args.quiet_timeout, max_retries=0 if quick else 3)
        for impl, t in res.items():
            rows.append({"op": name, "impl": impl, "dtype": args.dtype,
                         "median_us": t.median * 1e6, "min_us": t.min * 1e6, "max_us": t.max * 1e6,
                         "calls_per_sample": t.calls_per_sample, "samples": len(t.samples),
                         "foreign_busy": t.foreign_busy, "attempts": t.attempts})
        print(f"  {name:<32}" + "  ".join(f"{impl} {res[impl].median * 1e6:.2f}" for impl in res) + "  (us)",
              flush=True)

    ratios = compute_ratios(rows)
    fb = ratios.get(FWD_BWD, {}).get("minigan/torch")
    target = {"op": FWD_BWD, "ratio": fb, "target": TARGET_RATIO,
              "met": None if fb is None else fb <= TARGET_RATIO,
              "how": "median us per call of minigan / of torch, interleaved samples in one process"}
    profile = None
    if args.profile or not quick:
        profile = profile_minigan(n=200 if quick else 3000, dtype=args.dtype)
    result = {
        "benchmark": "ops",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": " ".join([os.path.basename(sys.argv[0])] + sys.argv[1:]),
        "settings": {"quick": quick, "repeats": repeats, "min_block_s": min_block, "dtype": args.dtype,
                     "torch_threads": args.torch_threads if with_torch else None,
                     "numpy_sigmoid": "1/(1+exp(-x)), 4 ufuncs", "input_sets_rotated": N_SETS},
        "machine": m,
        "gradients_agree": grads_agree,
        "rows": rows,
        "ratios": ratios,
        "target": target,
        "minigan_profile": profile,
        "duration_s": round(time.time() - t0, 1),
    }
    print_table(result)
    if args.profile and profile:
        print_profile(profile)
    paths = write_outputs(result, args.out, plot=not args.no_plot)
    print("\nwrote " + ", ".join(paths.values()))
    return 0


def compute_ratios(rows) -> dict:
    """Per op: minigan / torch and minigan / numpy (median times; < 1 means minigan is faster)."""
    by = {}
    for r in rows:
        by.setdefault(r["op"], {})[r["impl"]] = r["median_us"]
    out = {}
    for op, d in by.items():
        rr = {}
        np_ref = d.get("numpy", d.get("numpy (by hand)"))
        if "minigan" in d:
            if "torch" in d:
                rr["minigan/torch"] = d["minigan"] / d["torch"]
            if np_ref:
                rr["minigan/numpy"] = d["minigan"] / np_ref
        if "minigan (grad)" in d and "torch (grad)" in d:
            rr["minigan/torch (grad)"] = d["minigan (grad)"] / d["torch (grad)"]
        if "torch" in d and np_ref:
            rr["torch/numpy"] = d["torch"] / np_ref
        if rr:
            out[op] = rr
    return out


def print_table(result, file=None) -> None:
    file = file or sys.stdout
    rows = result["rows"]
    impls = []
    for r in rows:
        if r["impl"] not in impls and r["impl"] != "python":
            impls.append(r["impl"])
    ops = []
    for r in rows:
        if r["op"] not in ops:
            ops.append(r["op"])
    by = {(r["op"], r["impl"]): r for r in rows}
    print(f"\nus per call, median [min..max], {result['settings']['dtype']}", file=file)
    print(f"{'op':<32}" + "".join(f"{i:>22}" for i in impls) + f"{'mg/torch':>10}{'mg/numpy':>10}", file=file)
    for op in ops:
        if (op, "python") in by:
            r = by[(op, "python")]
            print(f"{op:<32}{r['median_us']:>22.3f}", file=file)
            continue
        line = f"{op:<32}"
        for i in impls:
            r = by.get((op, i))
            cell = "-" if r is None else f"{r['median_us']:.2f} [{r['min_us']:.2f}..{r['max_us']:.2f}]"
            line += f"{cell:>22}"
        rr = result["ratios"].get(op, {})
        line += f"{_f(rr.get('minigan/torch')):>10}{_f(rr.get('minigan/numpy')):>10}"
        print(line, file=file)
    t = result["target"]
    if t["ratio"] is not None:
        print(f"\nissue #2 target: minigan fwd+bwd / torch fwd+bwd = {t['ratio']:.3f} "
              f"({'meets' if t['met'] else 'MISSES'} the <= {t['target']} target)", file=file)
    noisy = [r for r in rows if r["foreign_busy"] is not None and r["foreign_busy"] > 0.05]
    if noisy:
        print(f"WARNING: {len(noisy)} measurement(s) ran while other processes used > 5% of the CPUs "
              f"(up to {100 * max(r['foreign_busy'] for r in noisy):.0f}%); rerun on a quiet machine",
              file=file)
    p = result.get("minigan_profile")
    if p:
        print(f"minigan fwd+bwd: {p['python_calls_per_step']:.0f} Python function calls per step "
              f"(cProfile)", file=file)


def _f(x):
    return "-" if x is None else f"{x:.3f}"


def print_profile(p, file=None) -> None:
    file = file or sys.stdout
    print(f"\ncProfile of {p['steps']} minigan fwd+bwd steps ({p['note']}):", file=file)
    print(f"{'calls/step':>10} {'tottime us':>11} {'cumtime us':>11}  function", file=file)
    for r in p["top_by_tottime"]:
        print(f"{r['calls_per_step']:>10.1f} {r['tottime_us_per_step']:>11.2f} {r['cumtime_us_per_step']:>11.2f}"
              f"  {r['function']}", file=file)


def write_outputs(result, out_dir, plot=True) -> dict:
    """ops.json (everything), ops.csv (one line per measurement), ops.png."""
    paths = out_paths(out_dir, "ops")
    write_json(result, paths["json"])
    write_csv(result["rows"], paths["csv"])
    if not plot or not plot_ops(result, paths["png"]):
        del paths["png"]
    return paths


def plot_ops(result, path) -> bool:
    """Grouped horizontal bars: us per call (log scale) per op and implementation."""
    plt = pyplot()
    if plt is None:
        print("matplotlib is not installed (pip install minigan[dev]): no PNG written")
        return False
    order = ["numpy", "numpy (by hand)", "minigan", "minigan (grad)", "torch", "torch (grad)"]
    colors = {"numpy": "C0", "numpy (by hand)": "C0", "minigan": "C1", "minigan (grad)": "C3",
              "torch": "C2", "torch (grad)": "C4"}
    rows = [r for r in result["rows"] if r["impl"] != "python"]
    ops = list(dict.fromkeys(r["op"] for r in rows))
    by = {(r["op"], r["impl"]): r for r in rows}
    width = max(sum((op, i) in by for i in order) for op in ops)
    h = 0.8 / width
    fig, ax = plt.subplots(figsize=(10, 1.0 + 0.8 * len(ops)))
    labelled = set()
    for i, op in enumerate(ops):
        present = [impl for impl in order if (op, impl) in by]
        for j, impl in enumerate(present):
            r = by[(op, impl)]
            y = i + (j - (len(present) - 1) / 2) * h
            ax.barh(y, r["median_us"], height=h * 0.95, color=colors[impl],
                    xerr=[[r["median_us"] - r["min_us"]], [r["max_us"] - r["median_us"]]],
                    error_kw={"elinewidth": 0.6, "capsize": 1.5, "ecolor": "0.3"},
                    hatch="//" if "(grad)" in impl or "hand" in impl else None,
                    label=None if impl in labelled else impl)
            labelled.add(impl)
            ax.annotate(f"{r['median_us']:.1f}", (r["max_us"], y), xytext=(3, 0), textcoords="offset points",
                        fontsize=6, va="center")
    ax.set_yticks(range(len(ops)))
    ax.set_yticklabels(ops, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("microseconds per call (median; whiskers: min..max of the samples)")
    t = result["target"]
    title = "per-op overhead at batch 1, " + result["settings"]["dtype"]
    if t["ratio"] is not None:
        title += f": minigan fwd+bwd / torch = {t['ratio']:.2f} (issue #2 target <= {t['target']})"
    ax.set_title(title, fontsize=10)
    ax.grid(True, axis="x", which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.suptitle(machine_mod.summary_line(result["machine"]), fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def main(argv=None, default_out=None) -> int:
    """The command line (``argv``); ``default_out`` replaces the default ``--out`` folder."""
    return run(command_line("minigan bench ops", __doc__, add_arguments, default_out).parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
