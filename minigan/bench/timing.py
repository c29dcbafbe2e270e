"""Timing done the way BASELINES.md describes it ("Method and noise").

One timed *sample* is a block of calls long enough (``min_block_s``, 50 ms by default) that
the clock's resolution and the cost of reading it don't matter; each figure is the **median**
of several samples, with the min and max beside it, taken after a warm-up. The rules:

* **Warm-up** first: the first call pays for allocation, BLAS thread start-up, cuBLAS handles.
* **GPU work is synchronised** before the clock starts and before it stops (``sync``); CuPy and
  torch return before the GPU has finished, so without it a GPU time is the launch time.
* **Inputs are rotated** among several random buffers (``arg_sets``), so that consecutive calls
  don't find the previous call's operands in cache; the data is random, never zeros (a CPU
  multiplies zeros no faster, but denormals and zero-skipping kernels exist).
* **Implementations are interleaved** sample by sample (:func:`measure_interleaved`): A, B, C,
  A, B, C ... so slow drift of the host (BASELINES: 1.2-1.4x between runs, from neighbours on
  the host) hits every implementation alike and their *ratio* stays honest.
* **Foreign load** is watched: before measuring we wait (briefly) for the other processes on
  the machine to go quiet, and we record the CPU share they used *during* the measurement
  (``foreign_busy``, from ``/proc/stat`` minus our own CPU time). A group measured while
  others used more than ``foreign_limit`` is measured again, up to ``max_retries`` (3) times.
"""
from __future__ import annotations

import math
import os
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

perf_counter = time.perf_counter


# ----------------------------------------------------------------------------- foreign CPU load
_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _read_proc_stat():
    """(busy, total) jiffies over all CPUs from the first line of /proc/stat, or None.

    busy = user + nice + system + irq + softirq + steal (steal: time the hypervisor gave to
    another guest while we wanted the CPU, which is foreign load too); idle + iowait are idle.
    """
    try:
        with open("/proc/stat", "rb") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != b"cpu":
        return None
    v = [int(x) for x in fields[1:9]] + [0] * max(0, 9 - len(fields))
    user, nice, system, idle, iowait, irq, softirq, steal = v[:8]
    busy = user + nice + system + irq + softirq + steal
    return busy, busy + idle + iowait


def _own_cpu_jiffies():
    """CPU time of this process (all its threads, BLAS workers included), in jiffies.

    ``time.process_time`` has nanosecond resolution, unlike the jiffy counters of os.times().
    """
    return time.process_time() * _CLK_TCK


class CpuMonitor:
    """The share of all CPUs that *other* processes used between ``start()`` and ``stop()``.

    Cheap: two reads of /proc/stat and ``os.times()``. The resolution is one jiffy (10 ms)
    per CPU, so it means something over a few hundred milliseconds, not over one call.
    Returns None where /proc/stat does not exist (macOS, Windows).
    """

    def start(self):
        self._stat0, self._own0 = _read_proc_stat(), _own_cpu_jiffies()
        return self

    def stop(self):
        stat1, own1 = _read_proc_stat(), _own_cpu_jiffies()
        if self._stat0 is None or stat1 is None:
            return None
        busy = stat1[0] - self._stat0[0]
        total = stat1[1] - self._stat0[1]
        if total <= 0:
            return 0.0
        foreign = busy - (own1 - self._own0)
        return min(1.0, max(0.0, foreign / total))


def wait_for_quiet(threshold: float = 0.10, timeout_s: float = 10.0, interval_s: float = 0.25):
    """Wait until other processes use less than ``threshold`` of the CPUs (or ``timeout_s``).

    Returns ``(foreign_share_seen_last, seconds_waited)``; ``(None, 0.0)`` without /proc/stat.
    """
    t0 = perf_counter()
    while True:
        mon = CpuMonitor().start()
        time.sleep(interval_s)
        share = mon.stop()
        waited = perf_counter() - t0
        if share is None or share < threshold or waited >= timeout_s:
            return share, waited


# ----------------------------------------------------------------------------- the measurement
@dataclass
class Case:
    """One thing to time: ``fn(*arg_sets[i % len(arg_sets)])`` for i = 0, 1, 2 ...

    ``sync`` (optional) is called before the clock starts and before it stops: pass
    ``cupy.cuda.Device().synchronize`` or ``torch.cuda.synchronize`` for GPU work.
    """

    name: str
    fn: Callable
    arg_sets: Sequence[tuple] = ((),)
    sync: Callable | None = None


@dataclass
class Timing:
    """Per-call times of one case, in seconds. ``samples`` are per-call times of each block."""

    name: str
    median: float
    min: float
    max: float
    calls_per_sample: int
    samples: list = field(default_factory=list)
    foreign_busy: float | None = None
    attempts: int = 1

    def as_dict(self, unit: str = "s"):
        scale = {"s": 1.0, "ms": 1e3, "us": 1e6}[unit]
        suffix = "" if unit == "s" else f"_{unit}"
        return {
            f"median{suffix or '_s'}": self.median * scale,
            f"min{suffix or '_s'}": self.min * scale,
            f"max{suffix or '_s'}": self.max * scale,
            "calls_per_sample": self.calls_per_sample,
            "samples": len(self.samples),
            "foreign_busy": self.foreign_busy,
            "attempts": self.attempts,
        }


def _call_sequence(arg_sets, n, start=0):
    """The argument tuples of ``n`` consecutive calls, built before the clock starts."""
    k = len(arg_sets)
    return [arg_sets[(start + i) % k] for i in range(n)]


def _block_sequences(arg_sets, n):
    """``(n, sequences)``: sample ``r`` runs ``sequences[r % len(sequences)]``.

    A block of at least ``k = len(arg_sets)`` calls is rounded up to a multiple of ``k``, so
    every input set is used equally; shorter blocks (long calls) start at successive sets.
    """
    k = len(arg_sets)
    if n >= k:
        n = -(-n // k) * k
        return n, [_call_sequence(arg_sets, n)]
    return n, [_call_sequence(arg_sets, n, start) for start in range(k)]


def time_block(fn, seq, sync=None) -> float:
    """Seconds for ``fn(*args)`` over every ``args`` in ``seq`` (synchronised if ``sync``)."""
    if sync is not None:
        sync()
    t0 = perf_counter()
    for args in seq:
        fn(*args)
    if sync is not None:
        sync()
    return perf_counter() - t0


def calibrate(case: Case, min_block_s: float, max_calls: int = 10_000_000) -> tuple[int, float]:
    """Warm ``case`` up and find how many calls fill ``min_block_s``. Returns (n, s per call).

    The first call is thrown away (first-use costs); then blocks of growing size are timed
    until one lasts at least a fifth of ``min_block_s``, which gives a per-call estimate.
    The warm-up thereby runs for at least that long too.
    """
    time_block(case.fn, _call_sequence(case.arg_sets, 1), case.sync)
    n = 1
    while True:
        t = time_block(case.fn, _call_sequence(case.arg_sets, n), case.sync)
        if t >= min_block_s / 5 or n >= max_calls:
            per_call = t / n
            break
        n = min(max_calls, n * 2 if t <= 0 else max(n * 2, int(n * (min_block_s / 5) / t * 1.2) + 1))
    calls = max(1, min(max_calls, math.ceil(min_block_s / per_call))) if per_call > 0 else max_calls
    return calls, per_call


def _repeats_for(per_call_s: float, repeats: int) -> int:
    """Fewer samples for very long calls (BASELINES: 3-5 for the largest matmuls)."""
    if per_call_s > 1.0:
        return min(repeats, 3)
    if per_call_s > 0.25:
        return min(repeats, 5)
    return repeats


def measure_interleaved(cases: Sequence[Case], *, repeats: int = 7, min_block_s: float = 0.05,
                        wait_quiet: bool = True, quiet_timeout_s: float = 10.0,
                        foreign_limit: float = 0.05, max_retries: int = 3) -> dict[str, Timing]:
    """Time several cases side by side, interleaving their samples (A B C A B C ...).

    Returns ``{case.name: Timing}``. Each case gets its own block length (calls per sample),
    fixed by :func:`calibrate`. If other processes used more than ``foreign_limit`` of the
    CPUs during the group, the whole group is measured again (up to ``max_retries`` times)
    and the attempt with the least foreign load is kept.
    """
    plans = []
    for c in cases:
        n, per_call = calibrate(c, min_block_s)
        n, seqs = _block_sequences(c.arg_sets, n)
        plans.append((c, seqs, n, _repeats_for(per_call, repeats)))
    best = None
    for attempt in range(1, max_retries + 2):
        if wait_quiet:
            wait_for_quiet(timeout_s=quiet_timeout_s)
        mon = CpuMonitor().start()
        samples = {c.name: [] for c, *_ in plans}
        for r in range(max(p[3] for p in plans)):
            for c, seqs, n, reps in plans:
                if r < reps:
                    samples[c.name].append(time_block(c.fn, seqs[r % len(seqs)], c.sync) / n)
        foreign = mon.stop()
        result = {c.name: Timing(c.name, statistics.median(samples[c.name]), min(samples[c.name]),
                                 max(samples[c.name]), n, samples[c.name], foreign, attempt)
                  for c, seqs, n, reps in plans}
        if best is None or (foreign is not None and foreign < next(iter(best.values())).foreign_busy):
            best = result
        if foreign is None or foreign <= foreign_limit:
            break
    return best


def measure(fn: Callable, arg_sets: Sequence[tuple] = ((),), *, sync=None, name: str = "",
            **kwargs) -> Timing:
    """Time one callable (see :func:`measure_interleaved` for the keyword arguments)."""
    return measure_interleaved([Case(name, fn, arg_sets, sync)], **kwargs)[name]


# ----------------------------------------------------------------------------- small helpers
def gflops(flops: float, seconds: float) -> float:
    """Billions of floating-point operations per second (``flops / seconds / 1e9``)."""
    if seconds <= 0:
        raise ValueError(f"gflops: time must be positive, got {seconds}")
    return flops / seconds / 1e9


def matmul_flops(m: int, k: int, n: int) -> int:
    """FLOPs of an (m, k) @ (k, n) product: m*n dot products of length k, one multiply and one
    add each, so 2*m*k*n (the convention of BLAS benchmarks; the n*m additions saved because a
    dot product of length k needs only k-1 of them are ignored)."""
    return 2 * m * k * n


def buffer_count(bytes_per_set: int, target_bytes: int = 8 << 20, lo: int = 2, hi: int = 8) -> int:
    """How many input sets to rotate among: enough that together they outgrow L2 (here 0.5 MiB
    per core) and most of L3, between ``lo`` and ``hi`` sets (large inputs overflow cache alone)."""
    if bytes_per_set <= 0:
        return hi
    return max(lo, min(hi, math.ceil(target_bytes / bytes_per_set)))


def format_time(seconds: float) -> str:
    """A time with a sensible unit: 74.6 us, 13.2 ms, 3.41 s, 3 min 20 s."""
    if seconds is None or seconds != seconds:
        return "-"
    if seconds >= 120:
        m, s = divmod(seconds, 60)
        return f"{int(m)} min {s:.0f} s"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    if seconds >= 1e-6:
        return f"{seconds * 1e6:.1f} us"
    return f"{seconds * 1e9:.0f} ns"
