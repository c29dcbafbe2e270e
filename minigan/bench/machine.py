"""What a benchmark ran on: CPU, cores, memory, BLAS, library versions, GPU.

Every results file carries this, because a GFLOP/s figure means nothing without the machine
(BASELINES.md: "Zen 3, 2 cores, OpenBLAS 0.3.31 ..."). Everything here is best-effort and
never raises: a missing /proc file or library is reported as missing.
"""
from __future__ import annotations

import os
import platform
import sys
import time

# BASELINES.md ("The machine"): the theoretical peak of the 2-core Zen 3 (EPYC Milan) dev
# machines at their measured effective clock of 3.20 GHz: 2 cores x 2 FMA pipes x 256 bit.
# Context only: measured BLAS peaks are what ratios are taken against.
THEORETICAL_PEAK_GFLOPS = {
    "float32": 205.0,
    "float64": 102.0,
    "source": "BASELINES.md: 2-core Zen 3 (AMD EPYC Milan) at 3.20 GHz effective, "
              "32 fp32 / 16 fp64 FLOP per cycle per core",
}


def _cpuinfo():
    info = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if ":" not in line:
                    if info:
                        break  # first processor block only
                    continue
                key, _, value = line.partition(":")
                info.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return info


def _meminfo_gib():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def cpu_description() -> dict:
    info = _cpuinfo()
    flags = set(info.get("flags", "").split())
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count()
    return {
        "model": info.get("model name") or platform.processor() or platform.machine(),
        "family": info.get("cpu family"),
        "model_number": info.get("model"),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": usable,
        "simd": [f for f in ("sse4_2", "avx", "avx2", "fma", "avx512f") if f in flags],
        "hypervisor": "hypervisor" in flags,
        "memory_gib": _meminfo_gib(),
        "machine": platform.machine(),
        "os": platform.platform(),
    }


def openblas_core():
    """The kernel set NumPy's OpenBLAS runs ('Haswell', 'SkylakeX' ...), None if not known.

    OpenBLAS picks it when it loads, from the CPU, unless the environment variable
    ``OPENBLAS_CORETYPE`` names one. Some machine images set that variable (``Haswell`` on
    AVX-512 machines, for old OpenBLAS builds): NumPy then runs its AVX2 kernels at half the
    machine's float32 rate (Zen 5: 245 against 477 GFLOP/s on 4096^2 products), so every
    results file records both. Asked of the library itself through ctypes (no threadpoolctl).
    """
    import ctypes

    import numpy  # noqa: F401 - loads the BLAS that is asked
    try:
        with open("/proc/self/maps") as f:
            paths = sorted({line.split()[-1] for line in f
                            if "openblas" in line.lower() and ".so" in line})
    except OSError:
        return None
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for symbol in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename",
                       "openblas_get_corename64_", "openblas_get_corename"):
            get = getattr(lib, symbol, None)
            if get is not None:
                get.restype = ctypes.c_char_p
                return get().decode()
    return None


def openblas_environment() -> dict:
    """The variables that force OpenBLAS's kernel choice, as set for this process."""
    return {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ}


def numpy_description() -> dict:
    import numpy as np
    d = {"version": np.__version__}
    d["openblas_core"] = openblas_core()
    d["openblas_env"] = openblas_environment()
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        d["blas"] = f"{blas.get('name')} {blas.get('version')}"
        if blas.get("openblas configuration"):
            d["blas_configuration"] = blas["openblas configuration"]
    except Exception as e:  # older NumPy, or a build without the dict
        d["blas"] = f"unknown ({type(e).__name__})"
    try:
        from threadpoolctl import threadpool_info
        d["threadpools"] = [{k: p.get(k) for k in ("user_api", "internal_api", "num_threads",
                                                    "version", "architecture")}
                            for p in threadpool_info()]
    except Exception:
        pass  # threadpoolctl is optional
    return d


def torch_description() -> dict:
    try:
        import torch
    except Exception as e:
        return {"available": False, "reason": f"torch is not importable ({type(e).__name__}: {e})"}
    d = {"available": True, "version": torch.__version__, "threads": torch.get_num_threads()}
    try:
        cfg = torch.__config__.show()
        d["blas"] = next((part.split("=", 1)[1] for part in cfg.replace(",", "\n").split()
                          if part.startswith("BLAS_INFO=")), None)
        d["mkl"] = bool(torch.backends.mkl.is_available())
    except Exception:
        pass
    d["cuda_available"] = bool(torch.cuda.is_available())
    if d["cuda_available"]:
        d["cuda_device"] = torch.cuda.get_device_name(0)
        d["cuda_version"] = torch.version.cuda
    return d


def cuda_description() -> dict:
    """minigan's view of CUDA: available or not, and why (``minigan.cuda.unavailable_reason``)."""
    from .. import cuda
    if not cuda.is_available():
        return {"available": False, "reason": cuda.unavailable_reason()}
    from .. import backend as B
    cupy = B.cuda_status()[2]
    d = {"available": True, "device": cuda.get_device_name(0), "cupy": cupy.__version__}
    try:
        d["cuda_runtime"] = cupy.cuda.runtime.runtimeGetVersion()
        d["cuda_driver"] = cupy.cuda.runtime.driverGetVersion()
        props = cupy.cuda.runtime.getDeviceProperties(0)
        d["memory_gib"] = round(props["totalGlobalMem"] / 2**30, 1)
        d["sm_count"] = props["multiProcessorCount"]
    except Exception:
        pass
    return d


def git_description() -> dict | None:
    """The commit of the minigan source that ran (and whether it had local changes), if in git."""
    import subprocess
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                              text=True, timeout=5)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "minigan"], cwd=root,
                               capture_output=True, text=True, timeout=5)
        return {"commit": head.stdout.strip(), "minigan_modified": bool(dirty.stdout.strip())}
    except Exception:
        return None


def _product_seconds(product, a, b, out, samples):
    """The times of ``samples`` calls of ``product(a, b, out=out)``, after one untimed call."""
    product(a, b, out=out)
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        product(a, b, out=out)
        times.append(time.perf_counter() - t0)
    return sorted(times)


def machine_rate(n: int = 4096, samples: int = 3) -> dict:
    """NumPy's float32 rate on large square products (GFLOP/s): the median and the best of
    ``samples`` products of two n x n matrices, the reference for a GEMM's share of the
    machine (benchmarks/bench_conv.py)."""
    import numpy as np
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, n, n), dtype=np.float32)
    times = _product_seconds(np.dot, a, b, np.empty((n, n), dtype=np.float32), samples)
    flop = 2.0 * n ** 3
    return {"n": n, "median_gflops": flop / times[len(times) // 2] / 1e9,
            "best_gflops": flop / times[0] / 1e9}


def blas_probe(samples: int = 7) -> dict:
    """How fast this machine runs many small products right now: the median time of one
    stacked product of 256 (100 x 64) @ (64 x 256) float32 matrices (the shape of the
    Winograd weight transform). On a shared VM it can double for minutes at a time while
    /proc/stat shows nothing (no steal, no other process): the benchmarks record it before
    and after a run, so two runs' figures can be told apart from two machines' states.
    Zen 5 (2 CPUs, SkylakeX kernels), quiet: 3.5 ms (5.0 with the Haswell kernels); in a
    slow phase a probe like it took twice its quiet time."""
    import numpy as np
    rng = np.random.default_rng(0)
    a = rng.standard_normal((100, 64), dtype=np.float32)
    b = rng.standard_normal((256, 64, 256), dtype=np.float32)
    times = _product_seconds(np.matmul, a, b, np.empty((256, 100, 256), dtype=np.float32), samples)
    return {"ms": round(1e3 * times[len(times) // 2], 3),
            "what": "median of one np.matmul of (100, 64) by (256, 64, 256) float32"}


def quick_probe() -> float:
    """:func:`blas_probe` with three samples (about 30 ms on Zen 4), in ms."""
    return blas_probe(samples=3)["ms"]


class PhaseWatch:
    """Is this shared VM in a slow phase? (See :func:`blas_probe`.) ``probe`` returns a time
    in ms (:func:`quick_probe`); a reading over ``limit`` times the fastest seen is slow.
    Used by ``bench train`` (:func:`minigan.bench.training.measure_ab`, per round) and
    ``benchmarks/bench_conv.py`` (per sample): a measurement taken in a slow phase is taken
    again once the probe reads quiet. Keeps every reading, and counts the measurements
    kept although slow (every attempt at them was)."""

    def __init__(self, probe, limit, timeout_s):
        self.probe, self.limit, self.timeout_s = probe, limit, timeout_s
        self.fastest, self.probes, self.slow_kept, self.waited_s = None, [], 0, 0.0

    def _read(self):
        ms = self.probe()
        self.probes.append(round(ms, 3))
        self.fastest = ms if self.fastest is None else min(self.fastest, ms)
        return ms > self.limit * self.fastest

    def check(self, wait):
        """Is the machine in a slow phase? With ``wait``, first wait (up to the timeout)
        for the probe to read quiet again."""
        if self.probe is None:
            return False
        slow = self._read()
        t0 = time.perf_counter()
        while wait and slow and time.perf_counter() - t0 < self.timeout_s:
            time.sleep(1.0)
            slow = self._read()
        self.waited_s += time.perf_counter() - t0
        return slow

    def kept(self, slow):
        self.slow_kept += bool(slow)

    def info(self):
        if self.probe is None:
            return {}
        return {"phase_probe_ms": self.probes, "phase_probe_fastest_ms": self.fastest,
                "slow_phase_rounds_kept": self.slow_kept, "slow_phase_wait_s": round(self.waited_s, 1)}

    def run(self, fn, retries=2):
        """``fn()`` taken in a quiet phase: wait for one, call, and call again (up to
        ``retries`` times) if the phase turned slow meanwhile. Returns the last result."""
        for _ in range(retries + 1):
            self.check(wait=True)
            result = fn()
            slow = self.check(wait=False)
            if not slow:
                break
        self.kept(slow)
        return result


def describe(include_torch: bool = True) -> dict:
    """The machine and software as a JSON-ready dict."""
    from .. import __version__
    d = {
        "cpu": cpu_description(),
        "python": sys.version.split()[0],
        "minigan": __version__,
        "git": git_description(),
        "numpy": numpy_description(),
        "cuda": cuda_description(),
        "thread_env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                       "MKL_NUM_THREADS") if os.environ.get(k)},
        "theoretical_peak_gflops_context": THEORETICAL_PEAK_GFLOPS,
    }
    if include_torch:
        d["torch"] = torch_description()
    return d


def summary_line(m: dict) -> str:
    """One line for the terminal: CPU, cores, BLAS, GPU."""
    cpu = m["cpu"]
    cuda = m["cuda"]
    gpu = cuda.get("device") if cuda.get("available") else "no GPU"
    fam = f" family {cpu['family']} model {cpu['model_number']}" if cpu.get("family") else ""
    blas = m["numpy"].get("blas")
    if m["numpy"].get("openblas_core"):
        forced = m["numpy"].get("openblas_env", {}).get("OPENBLAS_CORETYPE")
        blas += f" ({m['numpy']['openblas_core']} kernels{', forced by OPENBLAS_CORETYPE' if forced else ''})"
    parts = [f"{cpu['model']}{fam} ({cpu['usable_cpus']} CPUs, {'/'.join(cpu['simd'][-3:])})",
             f"NumPy {m['numpy']['version']} on {blas}"]
    t = m.get("torch")
    if t and t.get("available"):
        parts.append(f"torch {t['version']} ({t.get('blas')}, {t['threads']} threads)")
    parts.append(gpu)
    return "; ".join(parts)
