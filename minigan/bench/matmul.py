"""``minigan bench matmul``: matrix-product throughput, CPU vs GPU, minigan vs its references.

What runs (every library that is installed, on every device that is usable):

=============  ========  ==========================================================
label          device    call timed
=============  ========  ==========================================================
numpy          cpu       ``numpy.dot(a, b)`` (the book's call; BLAS for every 2-D case)
minigan        cpu       ``a @ b`` on minigan Tensors under ``no_grad`` (same arrays)
torch          cpu       ``a @ b`` on torch tensors sharing those arrays
cupy           cuda      ``a @ b`` on CuPy arrays (cuBLAS)
minigan        cuda      ``a @ b`` on minigan CUDA Tensors
torch          cuda      ``a @ b`` on torch CUDA tensors
python         cpu       the book's pure-Python triple loop (only for the 600x600 comparison)
=============  ========  ==========================================================

GFLOP/s = 2 m k n / t for an (m, k) @ (k, n) product. The *measured peak* of a device is
the best median GFLOP/s that any reference library (NumPy or torch on the CPU; CuPy or torch
on the GPU) reached on a square product with n >= 1024 in the same run; every row reports its
fraction of it. The theoretical CPU peak of BASELINES.md (205 / 102 GFLOP/s) is printed as
context only.

**One process per library.** Each library's whole sweep runs in its own subprocess
(``python -m minigan.bench.matmul --worker numpy|torch|cupy``), which returns JSON: NumPy's
OpenBLAS threads and torch's OpenMP threads fight over the cores when the two are interleaved
in one process (BASELINES.md measured samples down to 0.1 GFLOP/s), because an idle OpenMP
pool spins for a while after each parallel region. minigan runs in the *NumPy* process,
interleaved sample by sample with raw NumPy: it calls the same BLAS through the same thread
pool, and interleaving makes the minigan/NumPy ratio immune to the host's slow drift.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from . import machine as machine_mod
from .output import (add_common_arguments, command_line, out_paths, positive_float, positive_int, pyplot,
                     write_csv, write_json)
from .timing import Case, buffer_count, format_time, gflops, matmul_flops, measure_interleaved

DEFAULT_SIZES = (64, 128, 256, 512, 1024, 2048, 4096)
# (m, k, n) of the book's MNIST layers: batch-1 forward of D's 784->200 and G's 200->784
# layers, the batch-1 weight gradient (an outer product, BASELINES.md section 4), and batches.
DEFAULT_SHAPES = ("1x784x200", "1x200x784", "784x1x200", "64x784x200", "256x784x200")
DEFAULT_DTYPES = ("float32", "float64")
LIBRARIES = ("numpy", "minigan", "torch", "cupy")
QUICK = {"sizes": (16, 32, 64), "shapes": ("1x8x4", "8x1x4"), "repeats": 3,
         "min_block_s": 0.002, "python_n": 8}

# BOOK_SPEC.md section 4.05 (notebook 05_cuda_basics): 600x600 float64 numpy.random.rand.
BOOK = {
    "n": 600,
    "numpy_float64_s": 13.2e-3,       # numpy.dot, timeit best of 3
    "python_loop_s": 200.0,           # 3 min 20 s, one loop
    "gpu_float32_s": 74.6e-6,         # torch.matmul on cuda.FloatTensor, Tesla P100
    "gpu_vs_numpy_derived": 177.0,    # 13.2 ms / 74.6 us
    "gpu_vs_numpy_stated": 150.0,     # "about 150x" in the text
    "numpy_vs_python_derived": 15000.0,
    "gpu": "Tesla P100-PCIE-16GB",
}
PEAK_MIN_N = 1024


# ============================================================================== arguments
def parse_shape(text: str) -> tuple[int, int, int]:
    """``"MxKxN"`` -> (m, k, n) for an (M, K) @ (K, N) product; ``"N"`` -> (n, n, n)."""
    parts = text.lower().replace("*", "x").split("x")
    try:
        dims = tuple(int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad shape {text!r}: expected MxKxN, e.g. 1x784x200") from None
    if len(dims) == 1:
        dims = dims * 3
    if len(dims) != 3 or min(dims) < 1:
        raise argparse.ArgumentTypeError(f"bad shape {text!r}: expected MxKxN with positive sizes")
    return dims


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sizes", type=positive_int, nargs="+", metavar="N",
                   help=f"square sizes n (n x n @ n x n); default {' '.join(map(str, DEFAULT_SIZES))}")
    p.add_argument("--shapes", type=parse_shape, nargs="*", metavar="MxKxN",
                   help=f"rectangular (M,K)@(K,N) products; default {' '.join(DEFAULT_SHAPES)}")
    p.add_argument("--dtypes", nargs="+", choices=DEFAULT_DTYPES, help="default: float32 float64")
    p.add_argument("--libs", nargs="+", choices=LIBRARIES, default=list(LIBRARIES),
                   help="which implementations to run (default: all that are installed)")
    p.add_argument("--repeats", type=positive_int, help="timed samples per case (median reported); default 7")
    p.add_argument("--min-block", type=positive_float, dest="min_block_s", metavar="SECONDS",
                   help="minimum length of one timed sample; default 0.05")
    p.add_argument("--threads", type=positive_int, help="CPU threads for BLAS/OpenMP in the workers "
                   "(sets OPENBLAS/OMP/MKL_NUM_THREADS); default: the libraries' own (all cores)")
    p.add_argument("--no-book", action="store_true", help="skip the book's 600x600 comparison")
    p.add_argument("--python-n", type=positive_int, metavar="N", help="size at which the pure-Python triple "
                   "loop is run and then scaled by (600/N)^3; default 100")
    add_common_arguments(p, "matmul", quiet_timeout=30.0, per="group",
                         quick_help="tiny sizes and few repeats (a smoke test, for the test suite)")


def _settings(args) -> dict:
    quick = args.quick
    sizes = args.sizes or (QUICK["sizes"] if quick else DEFAULT_SIZES)
    if args.shapes is None:
        shapes = [parse_shape(s) for s in (QUICK["shapes"] if quick else DEFAULT_SHAPES)]
    else:
        shapes = list(args.shapes)
    return {
        "quick": quick,
        "sizes": [int(n) for n in sizes],
        "shapes": [list(s) for s in shapes],
        "dtypes": list(args.dtypes or DEFAULT_DTYPES),
        "libs": list(args.libs),
        "repeats": args.repeats or (QUICK["repeats"] if quick else 7),
        "min_block_s": args.min_block_s or (QUICK["min_block_s"] if quick else 0.05),
        "threads": args.threads,
        "book": not args.no_book,
        "python_n": args.python_n or (QUICK["python_n"] if quick else 100),
        "wait_quiet": not (args.no_wait_quiet or quick),
        "quiet_timeout_s": args.quiet_timeout,
        "max_retries": 0 if quick else 3,
    }


# ============================================================================== workers
def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _row(library, device, dtype, m, k, n, kind, timing):
    t = timing
    f = matmul_flops(m, k, n)
    return {
        "library": library, "device": device, "label": f"{library} {device}", "dtype": dtype,
        "kind": kind, "m": m, "k": k, "n": n, "shape": f"{m}x{k}x{n}", "flops": f,
        "time_median_s": t.median, "time_min_s": t.min, "time_max_s": t.max,
        "gflops_median": gflops(f, t.median), "gflops_best": gflops(f, t.min),
        "gflops_worst": gflops(f, t.max), "samples": len(t.samples),
        "calls_per_sample": t.calls_per_sample, "foreign_busy": t.foreign_busy,
        "attempts": t.attempts, "samples_s": list(t.samples),
    }


def _shape_list(cfg):
    """(m, k, n, kind) of every product to time, squares first."""
    out = [(n, n, n, "square") for n in cfg["sizes"]]
    out += [(m, k, n, "rect") for m, k, n in cfg["shapes"]]
    return out


def _host_sets(m, k, n, dtype, rng):
    import numpy as np
    nbytes = (m * k + k * n) * np.dtype(dtype).itemsize
    count = buffer_count(nbytes)
    return [(rng.random((m, k)).astype(dtype), rng.random((k, n)).astype(dtype)) for _ in range(count)]


def _measure_kwargs(cfg):
    return {"repeats": cfg["repeats"], "min_block_s": cfg["min_block_s"],
            "wait_quiet": cfg["wait_quiet"], "quiet_timeout_s": cfg["quiet_timeout_s"],
            "max_retries": cfg["max_retries"]}


def python_matmul(a, b):
    """The book's pure-Python product (notebook 05): a triple loop into a zeros array."""
    import numpy as np
    n, k = a.shape
    m = b.shape[1]
    c = np.zeros((n, m))
    for i in range(n):
        for j in range(m):
            for p in range(k):
                c[i, j] += a[i, p] * b[p, j]
    return c


def _worker_numpy(cfg) -> dict:
    """NumPy's BLAS and minigan on the CPU, interleaved sample by sample."""
    import numpy as np
    import minigan
    from minigan.bench.machine import numpy_description

    rng = np.random.default_rng(0)
    libs = [x for x in ("numpy", "minigan") if x in cfg["libs"]]
    rows = []

    def run_group(m, k, n, dtype, kind):
        sets = _host_sets(m, k, n, dtype, rng)
        cases = []
        if "numpy" in libs:
            cases.append(Case("numpy", np.dot, sets))
        if "minigan" in libs:
            tsets = [(minigan.from_numpy(a), minigan.from_numpy(b)) for a, b in sets]
            cases.append(Case("minigan", lambda a, b: a @ b, tsets))
        with minigan.no_grad():
            res = measure_interleaved(cases, **_measure_kwargs(cfg))
        out = [_row(name, "cpu", dtype, m, k, n, kind, t) for name, t in res.items()]
        _log("  " + f"{dtype} {m}x{k}x{n}: ".ljust(26) + ", ".join(
            f"{r['library']} {r['gflops_median']:.1f} GFLOP/s" for r in out))
        return out

    if libs:
        for dtype in cfg["dtypes"]:
            for m, k, n, kind in _shape_list(cfg):
                rows += run_group(m, k, n, dtype, kind)
        if cfg["book"]:
            for dtype in ("float64", "float32"):
                rows += run_group(BOOK["n"], BOOK["n"], BOOK["n"], dtype, "book")
    python_row = None
    if cfg["book"]:
        pn = cfg["python_n"]
        a, b = rng.random((pn, pn)), rng.random((pn, pn))
        t = measure_interleaved([Case("python", python_matmul, [(a, b)])],
                                **{**_measure_kwargs(cfg), "repeats": 3, "min_block_s": 0.0})["python"]
        python_row = _row("python", "cpu", "float64", pn, pn, pn, "book-python", t)
        _log(f"  pure-Python triple loop at n={pn}: {format_time(t.median)}")
    return {"rows": rows, "python_row": python_row, "library_info": {"numpy": numpy_description()}}


def _worker_torch(cfg) -> dict:
    """torch on the CPU (and on CUDA if torch sees a GPU)."""
    from minigan.bench.machine import torch_description
    info = torch_description()
    if not info["available"]:
        return {"rows": [], "library_info": {"torch": info}}
    import numpy as np
    import torch
    if cfg["threads"]:
        torch.set_num_threads(cfg["threads"])
        info["threads"] = torch.get_num_threads()
    rng = np.random.default_rng(1)
    use_cuda = torch.cuda.is_available()
    rows = []

    def run_group(m, k, n, dtype, kind, devices):
        sets = _host_sets(m, k, n, dtype, rng)
        cases = []
        if "cpu" in devices:
            cases.append(Case("cpu", torch.matmul, [(torch.from_numpy(a), torch.from_numpy(b))
                                                    for a, b in sets]))
        if "cuda" in devices:
            cases.append(Case("cuda", torch.matmul, [(torch.from_numpy(a).cuda(), torch.from_numpy(b).cuda())
                                                     for a, b in sets], sync=torch.cuda.synchronize))
        with torch.no_grad():
            res = measure_interleaved(cases, **_measure_kwargs(cfg))
        out = [_row("torch", dev, dtype, m, k, n, kind, t) for dev, t in res.items()]
        _log("  " + f"{dtype} {m}x{k}x{n}: ".ljust(26) + ", ".join(
            f"torch {r['device']} {r['gflops_median']:.1f} GFLOP/s" for r in out))
        return out

    devices = ["cpu"] + (["cuda"] if use_cuda else [])
    for dtype in cfg["dtypes"]:
        for m, k, n, kind in _shape_list(cfg):
            rows += run_group(m, k, n, dtype, kind, devices)
    if cfg["book"]:
        rows += run_group(BOOK["n"], BOOK["n"], BOOK["n"], "float64", "book", ["cpu"])
        if use_cuda:  # the book's own call: torch.matmul on cuda.FloatTensor
            rows += run_group(BOOK["n"], BOOK["n"], BOOK["n"], "float32", "book", ["cuda"])
    if use_cuda:
        torch.cuda.empty_cache()
    return {"rows": rows, "library_info": {"torch": info}}


def _worker_cupy(cfg) -> dict:
    """Raw CuPy (cuBLAS) and minigan on CUDA, interleaved sample by sample."""
    import numpy as np
    import minigan
    ok, reason, cupy = minigan.backend.cuda_status()
    if not ok:
        return {"rows": [], "library_info": {"cupy": {"available": False, "reason": reason}}}
    sync = cupy.cuda.Device().synchronize
    rng = np.random.default_rng(2)
    libs = [x for x in ("cupy", "minigan") if x in cfg["libs"]]
    rows = []

    def run_group(m, k, n, dtype, kind):
        sets = [(cupy.asarray(a), cupy.asarray(b)) for a, b in _host_sets(m, k, n, dtype, rng)]
        cases = []
        if "cupy" in libs:
            cases.append(Case("cupy", cupy.matmul, sets, sync))
        if "minigan" in libs:
            dev = minigan.backend.get_backend("cuda")
            tsets = [(minigan.Tensor._wrap(a, dev), minigan.Tensor._wrap(b, dev)) for a, b in sets]
            cases.append(Case("minigan", lambda a, b: a @ b, tsets, sync))
        with minigan.no_grad():
            res = measure_interleaved(cases, **_measure_kwargs(cfg))
        out = [_row(name, "cuda", dtype, m, k, n, kind, t) for name, t in res.items()]
        _log("  " + f"{dtype} {m}x{k}x{n}: ".ljust(26) + ", ".join(
            f"{r['library']} cuda {r['gflops_median']:.1f} GFLOP/s" for r in out))
        del sets, cases
        cupy.get_default_memory_pool().free_all_blocks()
        return out

    if libs:
        for dtype in cfg["dtypes"]:
            for m, k, n, kind in _shape_list(cfg):
                rows += run_group(m, k, n, dtype, kind)
        if cfg["book"]:
            rows += run_group(BOOK["n"], BOOK["n"], BOOK["n"], "float32", "book")
    info = {"available": True, "version": cupy.__version__,
            "device": minigan.cuda.get_device_name(0)}
    return {"rows": rows, "library_info": {"cupy": info}}


WORKERS = {"numpy": _worker_numpy, "torch": _worker_torch, "cupy": _worker_cupy}


def _worker_env(cfg) -> dict:
    env = dict(os.environ)
    # the subprocess must import this very minigan, also when run from a source checkout
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    if cfg.get("threads"):
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(cfg["threads"])
    return env


def run_worker(name: str, cfg: dict) -> dict:
    """Run one library's sweep in a fresh Python process and return its JSON."""
    fd, path = tempfile.mkstemp(prefix=f"minigan-bench-{name}-", suffix=".json")
    os.close(fd)
    try:
        cmd = [sys.executable, "-m", "minigan.bench.matmul", "--worker", name,
               "--worker-config", json.dumps(cfg), "--worker-out", path]
        proc = subprocess.run(cmd, env=_worker_env(cfg), stdout=subprocess.DEVNULL)
        if proc.returncode != 0:
            return {"rows": [], "error": f"the {name} worker exited with status {proc.returncode}"}
        with open(path) as f:
            return json.load(f)
    finally:
        os.unlink(path)


# ============================================================================== analysis
def _index(rows):
    return {(r["label"], r["dtype"], r["shape"], r["kind"]): r for r in rows}


def measured_peaks(rows) -> dict:
    """Best median GFLOP/s of the reference libraries per device and dtype (see module doc)."""
    refs = {"cpu": ("numpy", "torch"), "cuda": ("cupy", "torch")}
    peaks = {}
    for device, libs in refs.items():
        for dtype in DEFAULT_DTYPES:
            cands = [r for r in rows if r["device"] == device and r["library"] in libs
                     and r["dtype"] == dtype and r["kind"] == "square"]
            big = [r for r in cands if r["n"] >= PEAK_MIN_N]
            pool = big or cands
            if not pool:
                continue
            best = max(pool, key=lambda r: r["gflops_median"])
            how = (f"best median GFLOP/s of {'/'.join(libs)} over square n >= {PEAK_MIN_N} in this run"
                   if big else f"best median GFLOP/s of {'/'.join(libs)} over this run's square sizes "
                               f"(none >= {PEAK_MIN_N}: not a true peak)")
            peaks.setdefault(device, {})[dtype] = {
                "gflops": best["gflops_median"], "library": best["library"], "n": best["n"],
                "best_sample_gflops": max(r["gflops_best"] for r in pool), "how": how}
    return peaks


def annotate(rows, peaks) -> None:
    """Add frac_of_peak, ratio_vs_numpy and (GPU rows) speedup_vs_cpu to every row."""
    idx = _index(rows)
    cpu_twin = {"minigan": "minigan cpu", "cupy": "numpy cpu", "torch": "torch cpu"}
    for r in rows:
        peak = peaks.get(r["device"], {}).get(r["dtype"])
        r["frac_of_peak"] = r["gflops_median"] / peak["gflops"] if peak else None
        ref = idx.get(("numpy cpu", r["dtype"], r["shape"], r["kind"]))
        r["ratio_vs_numpy"] = ref["time_median_s"] / r["time_median_s"] if ref else None
        r["speedup_vs_cpu"] = None
        if r["device"] == "cuda":
            twin = idx.get((cpu_twin.get(r["library"]), r["dtype"], r["shape"], r["kind"]))
            if twin:
                r["speedup_vs_cpu"] = twin["time_median_s"] / r["time_median_s"]


def paired_ratio(ref_row, row):
    """Median over sample pairs of ref time / row time (None if the samples don't pair up).

    The samples of both were taken alternately (A B A B ...), so each pair saw the same state
    of the host; the median of the pair ratios shrugs off drift that moves both medians apart.
    """
    a, b = ref_row.get("samples_s"), row.get("samples_s")
    if not a or not b or len(a) != len(b):
        return None
    ratios = sorted(x / y for x, y in zip(a, b))
    k = len(ratios)
    return ratios[k // 2] if k % 2 else 0.5 * (ratios[k // 2 - 1] + ratios[k // 2])


def minigan_vs_numpy(rows, min_n=512, target=0.97) -> dict:
    """minigan's GFLOP/s / NumPy's, per dtype and shape, measured side by side (issue #4).

    The ratio is the median of the paired-sample ratios (see :func:`paired_ratio`); the ratio
    of the two medians is kept beside it.
    """
    out = {"target": target, "min_n": min_n,
           "how": "numpy.dot time / minigan Tensor matmul time (= minigan GFLOP/s / NumPy GFLOP/s): "
                  "median over pairs of alternately taken samples, same process, same input arrays"}
    idx = _index(rows)
    for dtype in DEFAULT_DTYPES:
        per, of_medians = {}, {}
        for r in rows:
            if r["label"] == "minigan cpu" and r["dtype"] == dtype and r["kind"] in ("square", "rect"):
                ref = idx.get(("numpy cpu", dtype, r["shape"], r["kind"]))
                if ref:
                    med = ref["time_median_s"] / r["time_median_s"]
                    paired = paired_ratio(ref, r)
                    per[r["shape"]] = (r["kind"], r["n"], med if paired is None else paired)
                    of_medians[r["shape"]] = round(med, 4)
        if not per:
            continue
        big = [v for kind, n, v in per.values() if kind == "square" and n >= min_n]
        d = {"per_shape": {s: round(v, 4) for s, (kind, n, v) in per.items()},
             "per_shape_ratio_of_medians": of_medians}
        if big:
            d.update(min_ratio=min(big), median_ratio=sorted(big)[len(big) // 2],
                     meets_target=min(big) >= target)
        else:
            d.update(min_ratio=None, median_ratio=None, meets_target=None,
                     note=f"no square size >= {min_n} in this run")
        out[dtype] = d
    return out


def book_comparison(rows, python_row, cuda_info, settings) -> dict | None:
    """The book's 600x600 table (BOOK_SPEC 4.05) next to this machine's figures."""
    if not settings["book"]:
        return None
    n = BOOK["n"]
    idx = _index(rows)
    shape = f"{n}x{n}x{n}"

    def t(label, dtype):
        r = idx.get((label, dtype, shape, "book"))
        return r["time_median_s"] if r else None

    d = {"n": n, "book": BOOK,
         "numpy_float64_s": t("numpy cpu", "float64"), "minigan_float64_s": t("minigan cpu", "float64"),
         "torch_cpu_float64_s": t("torch cpu", "float64"),
         "numpy_float32_s": t("numpy cpu", "float32"), "minigan_float32_s": t("minigan cpu", "float32")}
    if python_row:
        pn = python_row["n"]
        scale = (n / pn) ** 3
        d["python_loop"] = {"measured_n": pn, "measured_s": python_row["time_median_s"],
                            "scale": scale, "scaled_s": python_row["time_median_s"] * scale,
                            "note": f"run at n={pn} and scaled by (600/{pn})^3 = {scale:.0f}: "
                                    "the loop's cost is n^3 iterations of the same Python code"}
    gpu = {lab.split()[0]: t(lab, "float32") for lab in ("cupy cuda", "minigan cuda", "torch cuda")}
    gpu = {k: v for k, v in gpu.items() if v is not None}
    d["gpu_float32_s"] = gpu or None
    if not gpu:
        d["gpu_note"] = "cuda: not available" + (f" ({cuda_info.get('reason')})"
                                                  if cuda_info.get("reason") else "")
    np64 = d["numpy_float64_s"]
    ratios = {}
    if np64:
        ratios["numpy_float64_vs_book"] = BOOK["numpy_float64_s"] / np64
    if python_row:
        ratios["python_loop_vs_book"] = BOOK["python_loop_s"] / d["python_loop"]["scaled_s"]
        if np64:
            ratios["numpy_vs_python"] = d["python_loop"]["scaled_s"] / np64
    if gpu:
        best_gpu = min(gpu.values())
        ratios["gpu_float32_vs_book"] = BOOK["gpu_float32_s"] / best_gpu
        if np64:
            ratios["gpu_float32_vs_numpy_float64"] = np64 / best_gpu  # the book's comparison
        if d["numpy_float32_s"]:
            ratios["gpu_float32_vs_numpy_float32"] = d["numpy_float32_s"] / best_gpu
        if "minigan" in gpu and d["minigan_float32_s"]:
            ratios["minigan_gpu_vs_minigan_cpu_float32"] = d["minigan_float32_s"] / gpu["minigan"]
    d["ratios"] = ratios
    return d


# ============================================================================== output
def _fmt_ratio(x, digits=2):
    return "-" if x is None else f"{x:.{digits}f}"


def print_tables(result, file=None) -> None:
    file = file or sys.stdout
    rows, peaks = result["rows"], result["peaks"]
    labels = [lab for lab in ("numpy cpu", "minigan cpu", "torch cpu", "cupy cuda", "minigan cuda",
                              "torch cuda") if any(r["label"] == lab for r in rows)]
    idx = _index(rows)
    for dtype in result["settings"]["dtypes"]:
        print(f"\n{dtype}: GFLOP/s (median of samples), % of the measured peak of its device", file=file)
        head = f"{'(M,K)@(K,N)':>16} {'numpy time':>11}" + "".join(f"{lab:>15}" for lab in labels) \
            + f"{'mg/np':>7}" + (f"{'GPU/CPU':>9}" if any('cuda' in x for x in labels) else "")
        print(head, file=file)
        for kind in ("square", "rect"):
            shapes = []
            for r in rows:
                if r["dtype"] == dtype and r["kind"] == kind and r["shape"] not in shapes:
                    shapes.append(r["shape"])
            for s in shapes:
                np_row = idx.get(("numpy cpu", dtype, s, kind))
                line = f"{s:>16} {format_time(np_row['time_median_s']) if np_row else '-':>11}"
                for lab in labels:
                    r = idx.get((lab, dtype, s, kind))
                    cell = "-" if r is None else (f"{r['gflops_median']:.1f}" + (
                        f" ({100 * r['frac_of_peak']:.0f}%)" if r["frac_of_peak"] else ""))
                    line += f"{cell:>15}"
                mg_ratio = result["minigan_vs_numpy"].get(dtype, {}).get("per_shape", {}).get(s)
                line += f"{_fmt_ratio(mg_ratio, 3):>7}"
                if any("cuda" in x for x in labels):
                    g = [idx.get((lab, dtype, s, kind)) for lab in labels if "cuda" in lab]
                    sp = max((r["speedup_vs_cpu"] for r in g if r and r["speedup_vs_cpu"]), default=None)
                    line += f"{_fmt_ratio(sp, 1):>9}"
                print(line, file=file)
    print("\nmeasured peaks (" + "; ".join(
        f"{dev} {dt}: {p['gflops']:.1f} GFLOP/s ({p['library']} n={p['n']}; best sample "
        f"{p['best_sample_gflops']:.1f})" for dev, d in peaks.items() for dt, p in d.items()) + ")",
        file=file)
    th = machine_mod.THEORETICAL_PEAK_GFLOPS
    print(f"context: theoretical CPU peak {th['float32']:.0f} / {th['float64']:.0f} GFLOP/s fp32/fp64 "
          f"({th['source']})", file=file)
    for dev, d in peaks.items():
        if dev == "cpu":
            for dt in d:
                print(f"  measured {dt} CPU peak = {100 * d[dt]['gflops'] / th[dt]:.0f}% of that figure",
                      file=file)
    mvn = result["minigan_vs_numpy"]
    for dt in DEFAULT_DTYPES:
        if dt in mvn and mvn[dt].get("min_ratio") is not None:
            verdict = "meets" if mvn[dt]["meets_target"] else "MISSES"
            print(f"minigan/NumPy GFLOP/s, {dt}, square n >= {mvn['min_n']}: min {mvn[dt]['min_ratio']:.3f}, "
                  f"median {mvn[dt]['median_ratio']:.3f} ({verdict} the >= {mvn['target']:.2f} target)",
                  file=file)
    book = result.get("book_600")
    if book:
        _print_book(book, file)
    noisy = noisy_rows(rows + ([result["python_row"]] if result.get("python_row") else []))
    if noisy:
        print(f"\nWARNING: {len(noisy)} measurement(s) ran while other processes used > 5% of the CPUs "
              f"(foreign_busy up to {100 * max(r['foreign_busy'] for r in noisy):.0f}%): "
              "rerun those on a quiet machine before trusting them", file=file)


def noisy_rows(rows, limit=0.05):
    """Rows whose measurement shared the CPUs with other processes (foreign_busy > limit)."""
    return [r for r in rows if r.get("foreign_busy") is not None and r["foreign_busy"] > limit]


def _print_book(b, file) -> None:
    B = b["book"]
    r = b["ratios"]
    print(f"\nThe book's comparison (BOOK_SPEC 4.05, {b['n']}x{b['n']}): book figure -> this machine", file=file)
    if b.get("numpy_float64_s"):
        print(f"  numpy.dot float64      {format_time(B['numpy_float64_s']):>12} -> "
              f"{format_time(b['numpy_float64_s']):>10}  ({r['numpy_float64_vs_book']:.1f}x the book's speed)",
              file=file)
    if b.get("minigan_float64_s"):
        print(f"  minigan float64 (cpu)  {'':>12}    {format_time(b['minigan_float64_s']):>10}", file=file)
    if b.get("torch_cpu_float64_s"):
        print(f"  torch float64 (cpu)    {'':>12}    {format_time(b['torch_cpu_float64_s']):>10}", file=file)
    if b.get("python_loop"):
        p = b["python_loop"]
        print(f"  pure-Python loop       {format_time(B['python_loop_s']):>12} -> "
              f"{format_time(p['scaled_s']):>10}  ({r['python_loop_vs_book']:.1f}x the book's speed; "
              f"{p['note']})", file=file)
    if b.get("gpu_float32_s"):
        for lib, s in b["gpu_float32_s"].items():
            print(f"  GPU float32 ({lib:<7})   {format_time(B['gpu_float32_s']):>12} -> {format_time(s):>10}",
                  file=file)
    else:
        print(f"  GPU float32            {format_time(B['gpu_float32_s']):>12} -> {b.get('gpu_note')}", file=file)
    if "numpy_vs_python" in r:
        print(f"  NumPy vs pure Python: {r['numpy_vs_python']:,.0f}x (book: about "
              f"{B['numpy_vs_python_derived']:,.0f}x)", file=file)
    if "gpu_float32_vs_numpy_float64" in r:
        print(f"  GPU float32 vs NumPy float64: {r['gpu_float32_vs_numpy_float64']:.0f}x (book: "
              f"{B['gpu_vs_numpy_derived']:.0f}x from its own timings, 'about {B['gpu_vs_numpy_stated']:.0f}x' "
              f"in the text)" + (f"; same dtype, float32 vs float32: {r['gpu_float32_vs_numpy_float32']:.0f}x"
                                 if "gpu_float32_vs_numpy_float32" in r else ""), file=file)
    else:
        print(f"  GPU vs CPU: n/a here (book: {B['gpu_vs_numpy_derived']:.0f}x, 'about "
              f"{B['gpu_vs_numpy_stated']:.0f}x')", file=file)


def write_outputs(result, out_dir, plot=True) -> dict:
    """matmul.json (everything), matmul.csv (one line per measurement), matmul.png."""
    paths = out_paths(out_dir, "matmul")
    write_json(result, paths["json"])
    write_csv(list(result["rows"]) + ([result["python_row"]] if result.get("python_row") else []),
              paths["csv"])
    if not plot or not plot_gflops(result, paths["png"]):
        del paths["png"]
    return paths


def matplotlib_ticker():
    import matplotlib.ticker
    return matplotlib.ticker


def plot_gflops(result, path) -> bool:
    """Log-log GFLOP/s vs n (square products), one panel per dtype, one line per library/device."""
    plt = pyplot()
    if plt is None:
        print("matplotlib is not installed (pip install minigan[dev]): no PNG written")
        return False

    dtypes = result["settings"]["dtypes"]
    fig, axes = plt.subplots(1, len(dtypes), figsize=(6.5 * len(dtypes), 5), squeeze=False)
    styles = {"numpy cpu": ("C0", "o", "-"), "minigan cpu": ("C1", "s", "--"), "torch cpu": ("C2", "^", ":"),
              "cupy cuda": ("C3", "o", "-"), "minigan cuda": ("C4", "s", "--"), "torch cuda": ("C5", "^", ":")}
    th = machine_mod.THEORETICAL_PEAK_GFLOPS
    sizes = sorted({r["n"] for r in result["rows"] if r["kind"] == "square"})
    for ax, dtype in zip(axes[0], dtypes):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        for label, (color, marker, ls) in styles.items():
            pts = sorted((r["n"], r["gflops_median"], r["gflops_best"], r["gflops_worst"]) for r in result["rows"]
                         if r["label"] == label and r["dtype"] == dtype and r["kind"] == "square")
            if not pts:
                continue
            n, med, best, worst = zip(*pts)
            ax.plot(n, med, color=color, marker=marker, linestyle=ls, label=label)
            ax.fill_between(n, worst, best, color=color, alpha=0.15, linewidth=0)
        # y in data units, x in axes fractions: the labels sit at the left edge whatever the sizes
        at_left = ax.get_yaxis_transform()
        for dev, color in (("cpu", "k"), ("cuda", "C3")):
            p = result["peaks"].get(dev, {}).get(dtype)
            if p:
                ax.axhline(p["gflops"], color=color, linestyle="--", linewidth=0.8, alpha=0.6)
                ax.text(0.01, p["gflops"] * 1.04, f"measured {dev} peak {p['gflops']:.0f}", transform=at_left,
                        fontsize=8, color=color, va="bottom")
        ax.axhline(th[dtype], color="0.5", linestyle=":", linewidth=0.8)
        ax.text(0.01, th[dtype] * 1.04, f"theoretical CPU {th[dtype]:.0f} (BASELINES, context only)",
                transform=at_left, fontsize=8, color="0.4", va="bottom")
        if sizes:
            ax.set_xticks(sizes)
            ax.set_xticklabels([str(n) for n in sizes])
            ax.xaxis.set_minor_locator(matplotlib_ticker().NullLocator())
        top = max([th[dtype]] + [p["gflops"] for d in result["peaks"].values() for dt, p in d.items() if dt == dtype])
        ax.set_ylim(top=max(ax.get_ylim()[1], top * 1.35))  # room for the peak labels
        ax.yaxis.set_major_formatter(matplotlib_ticker().FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(matplotlib_ticker().FuncFormatter(
            lambda v, _: f"{v:g}" if str(f"{v:g}")[0] in "25" else ""))
        ax.set_xlabel("n (n x n @ n x n)")
        ax.set_ylabel("GFLOP/s = 2 n^3 / t (median; band: min..max sample)")
        ax.set_title(f"matmul {dtype}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    fig.suptitle(machine_mod.summary_line(result["machine"]), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


# ============================================================================== the command
def run(args) -> int:
    settings = _settings(args)
    t0 = time.time()
    m = machine_mod.describe(include_torch=False)
    cuda = m["cuda"]
    print(f"machine: {machine_mod.summary_line(m)}")
    if cuda["available"]:
        print(f"cuda: available ({cuda['device']})")
    else:
        print(f"cuda: not available ({cuda['reason']})")
    libs = settings["libs"]
    jobs = []
    if "numpy" in libs or "minigan" in libs:
        jobs.append("numpy")
    if "torch" in libs:
        jobs.append("torch")
    if cuda["available"] and ("cupy" in libs or "minigan" in libs):
        jobs.append("cupy")
    worker_cfg = dict(settings)
    if not cuda["available"]:
        worker_cfg["libs"] = [x for x in libs if x != "cupy"]
    rows, python_row, library_info, errors = [], None, {}, []
    for job in jobs:
        print(f"[{job} worker] {'numpy.dot + minigan (cpu)' if job == 'numpy' else job} ...", flush=True)
        res = run_worker(job, worker_cfg)
        rows += res.get("rows", [])
        python_row = python_row or res.get("python_row")
        library_info.update(res.get("library_info", {}))
        if res.get("error"):
            errors.append(res["error"])
            print(f"  error: {res['error']}", flush=True)
        for name, info in res.get("library_info", {}).items():
            if info.get("available") is False:
                print(f"  {name}: not available ({info.get('reason')})")
    if "cupy" in libs and not cuda["available"]:
        library_info["cupy"] = {"available": False, "reason": cuda["reason"]}
    peaks = measured_peaks(rows)
    annotate(rows, peaks)
    result = {
        "benchmark": "matmul",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": " ".join([os.path.basename(sys.argv[0])] + sys.argv[1:]),
        "duration_s": None,
        "settings": settings,
        "machine": m,
        "cuda": cuda,
        "libraries": library_info,
        "method": {
            "timing": "median of samples; a sample is a block of calls lasting >= min_block_s, after "
                      "warm-up; GPU work synchronised before the clock starts and stops; inputs rotated "
                      "among several random (uniform [0,1)) buffers; implementations interleaved "
                      "sample by sample within a process",
            "processes": "one subprocess per library (numpy+minigan, torch, cupy+minigan-cuda), so "
                         "OpenBLAS and OpenMP thread pools never interleave",
            "gflops": "2*m*k*n / time",
            "peak": f"best median GFLOP/s of the reference libraries on square n >= {PEAK_MIN_N}",
            "foreign_busy": "share of all CPUs used by other processes during the measurement (/proc/stat)",
        },
        "peaks": peaks,
        "theoretical_cpu_peak_context": machine_mod.THEORETICAL_PEAK_GFLOPS,
        "minigan_vs_numpy": minigan_vs_numpy(rows),
        "book_600": None,
        "rows": rows,
        "python_row": python_row,
        "errors": errors,
        "noisy_rows": None,
    }
    result["book_600"] = book_comparison(rows, python_row, cuda, settings)
    result["noisy_rows"] = len(noisy_rows(rows + ([python_row] if python_row else [])))
    result["duration_s"] = round(time.time() - t0, 1)
    print_tables(result)
    paths = write_outputs(result, args.out, plot=not args.no_plot)
    print("\nwrote " + ", ".join(paths.values()))
    return 1 if errors else 0


def main(argv=None, default_out=None) -> int:
    """The command line (``argv``); ``default_out`` replaces the default ``--out`` folder."""
    p = command_line("minigan bench matmul", __doc__, add_arguments, default_out,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    p.add_argument("--worker-config", help=argparse.SUPPRESS)
    p.add_argument("--worker-out", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        res = WORKERS[args.worker](json.loads(args.worker_config))
        with open(args.worker_out, "w") as f:
            json.dump(res, f)
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
