"""``minigan bench train``: the book's training loops, minigan vs PyTorch (issues #4, #11).

Every workload is one of the book's experiments (:mod:`minigan.book`), or a model beyond it
(:mod:`minigan.models`) - the one definition of each, found by :mod:`minigan.registry` and
built on either framework by ``experiment.build(torch=...)`` - stepped by the steps written
once in :mod:`minigan.training`, which call only what both frameworks share. So the very same Python drives both engines. A classifier iteration is
``train_step``: forward, loss, ``counter``, ``progress.append(loss.item())`` every 10 calls,
``zero_grad``, ``backward``, ``step``. A GAN iteration is ``gan_step``: D on the real sample
(target 1), D on ``G(seed).detach()`` (target 0), G through D with a new seed (target 1);
three training steps for one real sample (BOOK_SPEC section 1.7). A VAE iteration is the
model's ``step``: ``train_step`` with the batch as its own target and fresh noise ``eps``.

===============  ===================  =======  ============================================  ======
workload         experiment           book     what one iteration is                         target
===============  ===================  =======  ============================================  ======
gan1010          pattern1010          4.06     3 steps, G input the constant [0.5]           <= 0.3
classifier       classifier-improved  4.04     1 step, (784,) -> (10,)                       <= 0.55
mnist_gan        mnist-gan            4.08     batch 1: 3 steps, seeds randn(100)            <= 0.6
mnist_gan_b64    mnist-gan            (4.08)   (64, 784) images, (64, 100) seeds             <= 0.85
mnist_gan_b256   mnist-gan            (4.08)   the same at batch 256                         -
cnn_classifier   cnn-classifier       4.13     1 step on a (784,) image viewed (1,1,28,28)   <= 0.4
conv_gan         conv-celeba-gan      4.14     3 steps on (1, 3, 128, 128) images            <= 1.0
dcgan_mnist_b64  dcgan-mnist          beyond   3 steps on (64, 784) images, U(-1,1) seeds    -
vae_b128         vae                  beyond   1 step on (128, 784) images, eps (128, 20)    -
===============  ===================  =======  ============================================  ======

The targets are issue #11's (issue #4's, tightened), on the ratio **minigan ms / PyTorch ms**
(median time per iteration, CPU; lower is better, < 1 means minigan is faster). The two
models beyond the book have none: they are there to show where minigan stands at batch 64
and 128 on a convolutional GAN and a VAE.

How it is measured (BASELINES.md section 3 and "Method and noise"):

* **Data.** Real samples are *pre-made* uniform [0, 1) tensors (1010 patterns for gan1010),
  a few of them rotated, the same numbers in both frameworks, as BASELINES.md does: the
  book's pandas ``Dataset.__getitem__`` is not included. The CNN's images are viewed as
  (1, 1, 28, 28) once, when the data are made (``experiment.view``). Seeds are drawn in the
  loop, as the book does (the experiment's ``seed``: ``randn(100)`` per step, on each
  framework's own generator; the 1010 GAN's constant [0.5] is made once). Targets are made
  once.
* **Side by side, alternately.** minigan and PyTorch run in this one process; after a warm-up,
  they are timed in rounds of one block each, the order flipping every round (minigan torch,
  torch minigan, ...; :func:`measure_ab`), so the host's drift hits both alike. A block lasts
  at least ``--min-block`` seconds; the figure is the median over the rounds (``--repeats``),
  with min and max; ``ratio_pairs`` are the per-round ratios. A round during which other
  processes used more than 5 % of the CPUs is measured again (PyTorch's two OpenMP threads
  slow down 10-50x while anything else holds a core), and every block starts after a 0.2 s
  pause that lets OpenBLAS's spinning threads go to sleep (see :func:`measure_ab`). A round
  taken in a slow phase of the VM (the BLAS probe, run before and after every round, over
  1.4x its fastest reading) is measured again once the probe reads quiet; the JSON keeps
  every probe, and the rounds that stayed slow, per workload.
* **Threads.** ``torch.set_num_threads(2)`` (``--torch-threads``); NumPy/OpenBLAS keep their
  default (all cores).
* **Epoch** = per-sample time x 60,000 (the MNIST training set; for the conv GAN the book's
  CelebA set is 20,000 images, a third of that).
* **conv_gan** and **dcgan_mnist_b64** are slow (PyTorch about 0.3 s and 0.1 s per iteration
  on 2 cores): three warm-up iterations, one thrown away and one calibration iteration, then
  ``--conv-samples`` (5) single-iteration samples per framework. (With one warm-up, minigan's
  first samples still carried first-use costs: its conv GAN ran 795, 366, 378, then 252-300
  ms an iteration - glibc maps the plans' 20-26 MB arrays fresh until freeing them has
  raised its threshold - so a median of three samples could hold one of them.) ``--quick`` skips them unless named in ``--workloads``.
* **GPU rows** (minigan on CuPy, torch on CUDA, synchronised) are measured where a GPU is
  usable, otherwise reported as "not available: <reason>".

``--profile WORKLOAD`` prints cProfile's view of minigan's loop instead: the top functions,
and where the time of an iteration goes (forward, loss, backward by op and graph walk,
optimiser, zero_grad, ``item``).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass

from .. import registry
from ..book.conv_celeba_gan import IMAGE_SHAPE as CONV_IMAGE_SHAPE
from ..training import gan_step, train_step
from . import machine as machine_mod
from .output import (add_common_arguments, command_line, out_paths, positive_float, positive_int, pyplot,
                     write_csv, write_json)
from .timing import Case, CpuMonitor, Timing, calibrate, format_time, time_block, wait_for_quiet

EPOCH_SAMPLES = 60_000
DATA_NOTE = ("real data: pre-made uniform [0,1) tensors (1010 patterns for gan1010), rotated, identical "
             "in both frameworks, as BASELINES.md section 3; the book's pandas Dataset.__getitem__ is "
             "not included. Seeds: randn drawn inside the loop as the book does; targets made once.")


@dataclass(frozen=True)
class Workload:
    name: str
    title: str
    section: str          # BOOK_SPEC section
    kind: str             # "gan" (3 training steps per iteration), "classifier" or "autoencoder" (1)
    experiment: str       # the experiment or model (minigan.registry.get) whose networks it trains
    sample_shape: tuple   # one real input as made, batch dimension included if batched
    target_shape: tuple   # classifier targets / D output for GANs
    batch: int = 1
    constant_seed: bool = False   # G's input is one tensor made once (notebook 06's [0.5])
    target: float | None = None   # issue #4: minigan / torch ratio to reach
    slow: bool = False            # time only a few single iterations
    needs_conv: bool = False

    @property
    def steps_per_iteration(self):
        return 3 if self.kind == "gan" else 1

    def book_experiment(self):
        """The experiment (the book's, or a model beyond it) that defines the networks."""
        return registry.get(self.experiment)


WORKLOADS = {w.name: w for w in (
    Workload("gan1010", "1010-pattern GAN", "4.06", "gan", "pattern1010", (4,), (1,),
             constant_seed=True, target=0.3),
    Workload("classifier", "improved MNIST classifier", "4.04", "classifier", "classifier-improved",
             (784,), (10,), target=0.55),
    Workload("mnist_gan", "improved MNIST GAN, batch 1", "4.08", "gan", "mnist-gan",
             (784,), (1,), target=0.6),
    Workload("mnist_gan_b64", "improved MNIST GAN, batch 64", "4.08 batched", "gan", "mnist-gan",
             (64, 784), (64, 1), batch=64, target=0.85),
    Workload("mnist_gan_b256", "improved MNIST GAN, batch 256", "4.08 batched", "gan", "mnist-gan",
             (256, 784), (256, 1), batch=256),
    Workload("cnn_classifier", "MNIST CNN classifier", "4.13", "classifier", "cnn-classifier",
             (784,), (10,), target=0.4, needs_conv=True),
    Workload("conv_gan", "conv CelebA GAN", "4.14", "gan", "conv-celeba-gan",
             CONV_IMAGE_SHAPE, (1,), target=1.0, slow=True, needs_conv=True),
    Workload("dcgan_mnist_b64", "DCGAN on MNIST, batch 64", "beyond", "gan", "dcgan-mnist",
             (64, 784), (64, 1), batch=64, slow=True, needs_conv=True),
    Workload("vae_b128", "VAE, batch 128", "beyond", "autoencoder", "vae", (128, 784), (128, 784),
             batch=128),
)}

FRAMEWORKS = ("minigan", "torch")


# ============================================================================== the loops
def _framework(name):
    if name == "minigan":
        import minigan
        return minigan
    import torch
    return torch


def _np_dtype(fw, dtype=None):
    import numpy as np
    return np.dtype(str(dtype or fw.get_default_dtype()).replace("torch.", ""))


def make_data(wl: Workload, n: int | None = None, seed: int = 0) -> dict:
    """NumPy arrays shared by both frameworks: real samples (and classifier targets)."""
    import numpy as np
    rng = np.random.default_rng(seed)
    n = n or (2 if wl.slow else 8)
    if wl.name == "gan1010":  # BOOK_SPEC section 2: [U(.8,1), U(0,.2), U(.8,1), U(0,.2)]
        reals = [rng.uniform([0.8, 0.0, 0.8, 0.0], [1.0, 0.2, 1.0, 0.2]) for _ in range(n)]
    else:
        reals = [rng.random(wl.sample_shape) for _ in range(n)]
    data = {"reals": reals}
    if wl.kind == "classifier":  # one-hot targets of random labels
        labels = rng.integers(0, wl.target_shape[-1], size=n)
        data["targets"] = [np.eye(wl.target_shape[-1])[k] for k in labels]
    return data


def _cast(t, dtype):
    return t if dtype is None else t.to(dtype)


class Loop:
    """One workload's training loop on one framework: the book's networks, data and ``step()``.

    The networks are ``minigan.book.get(wl.experiment).build(fw)`` (a ``training.Network``
    each: module, optimiser, loss, counter, progress); ``nets`` is ``[D, G]`` or
    ``[classifier]``. ``step()`` is one ``gan_step`` or ``train_step``. ``seeds`` (optional)
    is an iterator of G inputs to use instead of fresh draws, and ``dtype`` (optional) builds
    the networks and data in that dtype instead of the default (the parity test feeds both
    frameworks the same float64 numbers).
    """

    def __init__(self, framework: str, wl: Workload, device: str = "cpu", data: dict | None = None,
                 seeds=None, dtype=None):
        fw = _framework(framework)
        self.fw, self.wl, self.device = fw, wl, device
        self.experiment = exp = wl.book_experiment()
        dev = None if device == "cpu" else device
        built = exp.build(fw, device=dev, dtype=dtype)
        self.nets = [built.D, built.G] if wl.kind == "gan" else [built]
        batch = None if wl.batch == 1 else wl.batch
        data = data or make_data(wl)
        dt = _np_dtype(fw, dtype)

        def T(a):
            return fw.from_numpy(a.astype(dt)).to(device)

        self.reals = [T(a) for a in data["reals"]]
        self.i = 0
        if wl.kind == "classifier":
            self.reals = [exp.view(r) for r in self.reals]  # (784,) -> (1, 1, 28, 28) for the CNN
            self.targets = [T(a) for a in data["targets"]]
            self.step = self._classifier_step
        elif wl.kind == "autoencoder":   # the VAE: eps drawn every step, as its loop does
            if seeds is not None:
                self.seed = seeds.__next__
            else:
                self.seed = lambda: exp.noise(fw, wl.batch, device=dev, dtype=dtype)
            self.step = self._autoencoder_step
        else:
            self.ones, self.zeros = exp.targets(fw, batch, device=dev, dtype=dtype)
            if seeds is not None:
                self.seed = seeds.__next__
            elif wl.constant_seed:  # notebook 06: G.forward(torch.FloatTensor([0.5])), made once
                half = _cast(exp.seed(fw, batch, device=dev), dtype)
                self.seed = lambda: half
            elif dtype is None:  # drawn every step, as the book does
                seed = exp.seed
                self.seed = lambda: seed(fw, batch, device=dev)
            else:
                seed = exp.seed
                self.seed = lambda: seed(fw, batch, device=dev).to(dtype)
            self.step = self._gan_step
        self.sync = None
        if device != "cpu":
            self.sync = fw.cuda.synchronize

    def _gan_step(self):
        D, G = self.nets
        real = self.reals[self.i % len(self.reals)]
        self.i += 1
        gan_step(D, G, real, self.seed(), self.seed(), self.ones, self.zeros)

    def _autoencoder_step(self):
        real = self.reals[self.i % len(self.reals)]
        self.i += 1
        self.experiment.step(self.nets[0], real, self.seed())

    def _classifier_step(self):
        k = self.i % len(self.reals)
        self.i += 1
        train_step(self.nets[0], self.reals[k], self.targets[k])


# ============================================================================== devices
def device_status(device: str) -> dict:
    """{framework: None if usable, else the reason it is not} for ``device``."""
    out = {}
    if device == "cpu":
        return {f: None for f in FRAMEWORKS}
    import minigan
    out["minigan"] = None if minigan.cuda.is_available() else \
        f"minigan: {minigan.cuda.unavailable_reason() or 'CUDA not available'}"
    try:
        import torch
        if torch.cuda.is_available():
            out["torch"] = None
        else:
            build = "CPU-only build" if torch.version.cuda is None else f"CUDA {torch.version.cuda} build"
            out["torch"] = f"torch {torch.__version__}: torch.cuda.is_available() is False ({build})"
    except Exception as e:
        out["torch"] = f"torch is not importable ({type(e).__name__}: {e})"
    return out


def conv_available() -> tuple[bool, str]:
    try:
        import minigan
        minigan.nn.Conv2d(1, 1, 1), minigan.nn.ConvTranspose2d(1, 1, 1)
        return True, ""
    except Exception as e:
        return False, f"minigan.nn.Conv2d/ConvTranspose2d unusable ({type(e).__name__}: {e})"


# ============================================================================== measuring
def measure_ab(cases, *, repeats=7, min_block_s=0.25, settle_s=0.2, wait_quiet=True,
               quiet_timeout_s=60.0, foreign_limit=0.05, max_round_retries=6,
               phase_probe=None, phase_limit=1.4) -> tuple[dict, dict]:
    """Time the cases in alternating rounds: A B, B A, A B ... one block of each per round.

    * **Rounds are checked and retried.** :func:`minigan.bench.timing.measure_interleaved`
      retries a whole group when other processes were busy; here each *round* (one block per
      case) is the unit. On these 2-core machines PyTorch's two OpenMP threads slow down 10-50x
      while another process holds a core (a parallel region waits for its descheduled thread),
      so one busy moment ruins a torch block and the ratio. A round during whose blocks others
      used more than ``foreign_limit`` of the CPUs is measured again (up to
      ``max_round_retries`` times; the least disturbed attempt is kept).
    * **A settling pause** of ``settle_s`` (untimed) precedes every block. After a BLAS call,
      OpenBLAS's worker threads busy-wait for about 2**28 cycles (~0.1 s) before sleeping, and
      a torch block started inside that window lost 20-40 % to them (measured: MNIST GAN b64,
      torch 5.3 ms alone, 7-9 ms right after a minigan block). Used alone, as a reader would,
      neither framework pays that.
    * **The order flips every round**, so neither framework always runs right after the other.
    * **Slow phases of the VM** (``phase_probe``, optional: a callable returning a time in ms,
      such as :func:`minigan.bench.machine.quick_probe`). On these shared VMs the second CPU
      is sometimes slow for tens of seconds while /proc/stat shows nothing: one-thread NumPy
      and Python run at their usual speed, but two-thread BLAS products lose 40 % and the
      probe (many small products) takes twice its time (Zen 4, measured every 2 s for 75 s:
      7.5 ms, then 17 ms for 20 s, and again). That hits NumPy's two OpenBLAS threads harder
      than PyTorch's, so a ratio read then says more about the VM than about minigan. The
      probe runs before and after every round; a round with a probe over ``phase_limit``
      times the fastest probe seen is measured again once the probe reads quiet again (as a
      busy round is), and the rounds are counted in the info.

    Returns ``({name: Timing}, info)``; info has the rounds retried and the worst foreign share.
    """
    plans = []
    for c in cases:  # warm-up and block length (calls per block) per case
        n, _ = calibrate(c, min_block_s)
        plans.append((c, [c.arg_sets[i % len(c.arg_sets)] for i in range(n)]))
    samples = {c.name: [] for c in cases}
    foreign_seen, retried = [], 0
    phase = machine_mod.PhaseWatch(phase_probe, phase_limit, quiet_timeout_s)
    for r in range(repeats):
        order = plans if r % 2 == 0 else plans[::-1]
        best = None
        for attempt in range(max_round_retries + 1):
            if wait_quiet:
                wait_for_quiet(timeout_s=quiet_timeout_s)
            slow = phase.check(wait=True)
            times, shares = {}, []
            for c, seq in order:
                time.sleep(settle_s)
                mon = CpuMonitor().start()
                times[c.name] = time_block(c.fn, seq, c.sync) / len(seq)
                shares.append(mon.stop())
            slow = phase.check(wait=False) or slow
            foreign = None if None in shares else max(shares)
            # least disturbed attempt: a quiet phase first, then the smaller foreign share
            rank = (slow, float("inf") if foreign is None else foreign)
            if best is None or rank < best[2]:
                best = (times, foreign, rank)
            if not slow and (foreign is None or foreign <= foreign_limit):
                break
            if attempt < max_round_retries:   # a disturbed round is measured again, if allowed
                retried += 1
        for name, t in best[0].items():
            samples[name].append(t)
        foreign_seen.append(best[1])
        phase.kept(best[2][0])
    known = [f for f in foreign_seen if f is not None]
    worst = max(known) if known else None
    result = {c.name: Timing(c.name, statistics.median(samples[c.name]), min(samples[c.name]),
                             max(samples[c.name]), len(seq), samples[c.name], worst, 1)
              for c, seq in plans}
    return result, {"rounds": repeats, "rounds_retried": retried, "foreign_busy_max": worst,
                    "foreign_busy_rounds": foreign_seen, **phase.info()}


def measure_workload(wl: Workload, device: str, settings: dict, available: dict) -> dict:
    """Time ``wl`` on ``device`` in every usable framework, blocks alternating. One result row."""
    row = {"workload": wl.name, "title": wl.title, "book_section": wl.section, "device": device,
           "batch": wl.batch, "steps_per_iteration": wl.steps_per_iteration, "target": wl.target}
    usable = [f for f in FRAMEWORKS if available.get(f) is None]
    reasons = [available[f] for f in FRAMEWORKS if available.get(f) is not None]
    if reasons:
        row["not_available"] = "; ".join(reasons)
    if not usable:
        return row
    data = make_data(wl)
    loops = {f: Loop(f, wl, device, data) for f in usable}
    warm = settings["slow_warmup_iterations"] if wl.slow else settings["warmup_iterations"]
    for f, loop in loops.items():  # warm-up: allocation, Adam state, BLAS threads, caches
        t0 = time.perf_counter()
        for i in range(warm):
            loop.step()
            if time.perf_counter() - t0 > settings["warmup_s"] and i >= 2 and not wl.slow:
                break
    cases = [Case(f, loop.step, sync=loop.sync) for f, loop in loops.items()]
    res, info = measure_ab(cases, repeats=settings["conv_samples"] if wl.slow else settings["repeats"],
                           min_block_s=1e-6 if wl.slow else settings["min_block_s"],
                           settle_s=settings["settle_s"],
                           wait_quiet=settings["wait_quiet"], quiet_timeout_s=settings["quiet_timeout_s"],
                           max_round_retries=settings["max_retries_slow" if wl.slow else "max_retries"],
                           phase_probe=machine_mod.quick_probe if settings["phase_probe"] and device == "cpu" else None)
    row["foreign_busy"] = info["foreign_busy_max"]
    row["rounds_retried"] = info["rounds_retried"]
    for key in ("phase_probe_fastest_ms", "slow_phase_rounds_kept", "slow_phase_wait_s"):
        if key in info:
            row[key] = info[key]
    for f in usable:
        t = res[f]
        row[f] = {"ms_per_iter": t.median * 1e3, "min_ms": t.min * 1e3, "max_ms": t.max * 1e3,
                  "iterations_per_sample": t.calls_per_sample, "samples": len(t.samples),
                  "samples_ms": [s * 1e3 for s in t.samples],
                  "ms_per_sample": t.median * 1e3 / wl.batch,
                  "epoch_s": t.median / wl.batch * EPOCH_SAMPLES,
                  "steps_per_s": wl.steps_per_iteration / t.median}
    for f, loop in loops.items():  # the loop really trained: its losses are finite numbers
        progress = [p for net in loop.nets for p in net.progress]
        row.setdefault("finite_losses", {})[f] = bool(all(p == p and abs(p) != float("inf") for p in progress))
    if "minigan" in row and "torch" in row:
        mg, th = res["minigan"].samples, res["torch"].samples
        pairs = [a / b for a, b in zip(mg, th)]
        row["ratio"] = res["minigan"].median / res["torch"].median
        row["ratio_pairs"] = {"median": statistics.median(pairs), "min": min(pairs), "max": max(pairs)}
        row["met"] = None if wl.target is None else row["ratio"] <= wl.target
    return row


def settings_from(args) -> dict:
    quick = args.quick
    return {
        "quick": quick,
        "repeats": args.repeats or (2 if quick else 7),
        "min_block_s": args.min_block_s or (0.002 if quick else 0.25),
        "settle_s": 0.0 if quick else 0.2,
        "warmup_iterations": 1 if quick else 200,
        "slow_warmup_iterations": 0 if quick else 3,  # conv_gan, dcgan_mnist_b64 (module docstring)
        "warmup_s": 0.0 if quick else 0.5,
        "conv_samples": 1 if quick else args.conv_samples,
        "torch_threads": args.torch_threads,
        "wait_quiet": not (args.no_wait_quiet or quick),
        "quiet_timeout_s": args.quiet_timeout,
        "max_retries": 0 if quick else 8,
        "max_retries_slow": 0 if quick else 2,
        "phase_probe": not quick,  # measure_ab's slow-phase check (the BLAS probe per round)
        "epoch_samples": EPOCH_SAMPLES,
    }


def select_workloads(names, quick: bool) -> list[Workload]:
    if names:
        unknown = [n for n in names if n not in WORKLOADS]
        if unknown:
            raise SystemExit(f"unknown workload(s) {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}")
        return [WORKLOADS[n] for n in names]
    return [w for w in WORKLOADS.values() if not (quick and w.slow)]


# ============================================================================== profiling
def _qualnames() -> dict:
    """(file, first line, name) -> 'Class.method' for the functions of minigan's modules."""
    import inspect
    names = {}
    for mod_name, mod in list(sys.modules.items()):
        if not mod_name.startswith("minigan") or mod is None:
            continue
        for obj in list(vars(mod).values()):
            if inspect.isclass(obj) and obj.__module__ == mod_name:
                for attr, fn in vars(obj).items():
                    fn = getattr(fn, "__func__", fn)
                    code = getattr(fn, "__code__", None)
                    if code is not None:
                        names[(code.co_filename, code.co_firstlineno, code.co_name)] = f"{obj.__name__}.{attr}"
    return names


def _short(key, qual) -> str:
    file, line, func = key
    if file == "~":
        return func
    name = qual.get(key, func)
    return f"{name} ({os.path.basename(file)}:{line})"


def phase_times(name: str, iterations: int | None = None, framework: str = "minigan") -> dict:
    """Where minigan's loop spends its time, in ms per iteration, without a profiler.

    The book's step (``minigan.training.train_step`` / ``generator_step``) calls the
    network's ``forward``, the loss function, ``loss.item()``, ``optimiser.zero_grad()``,
    ``loss.backward()`` and ``optimiser.step()``; each is wrapped in a clock (about 0.2 us
    per call), so unlike cProfile's shares these are not inflated.
    "other" is the rest of the iteration: the loop, ``randn`` seeds, ``detach``, counters.
    Works on either framework (``framework="torch"`` gives PyTorch's split, for comparison).
    """
    fw = _framework(framework)
    wl = WORKLOADS[name]
    loop = Loop(framework, wl)
    iterations = iterations or (3 if wl.slow else 300 if wl.batch == 1 else 60)
    for _ in range(1 if wl.slow else 20):
        loop.step()
    acc = {k: 0.0 for k in ("forward (layers)", "loss function", "loss.item()", "zero_grad",
                            "backward", "optimiser step")}
    clock = time.perf_counter

    def timed(fn, label):
        def wrapper(*args, **kwargs):
            t = clock()
            out = fn(*args, **kwargs)
            acc[label] += clock() - t
            return out
        return wrapper

    for net in loop.nets:  # a training.Network: module, optimiser, loss_function (None for G)
        # module(x) calls self.forward in both frameworks, so an instance attribute wraps it
        net.module.forward = timed(net.module.forward, "forward (layers)")
        net.optimiser.step = timed(net.optimiser.step, "optimiser step")
        net.optimiser.zero_grad = timed(net.optimiser.zero_grad, "zero_grad")
        if net.loss_function is not None:
            net.loss_function = timed(net.loss_function, "loss function")
    Tensor = fw.Tensor
    saved = {name: Tensor.__dict__.get(name) for name in ("backward", "item")}
    Tensor.backward, Tensor.item = timed(Tensor.backward, "backward"), timed(Tensor.item, "loss.item()")
    try:
        t0 = clock()
        for _ in range(iterations):
            loop.step()
        total = clock() - t0
    finally:  # put the class back as it was (torch's item is inherited from a C base)
        for name, attr in saved.items():
            if attr is None:
                delattr(Tensor, name)
            else:
                setattr(Tensor, name, attr)
    acc["other (loop, seeds, detach)"] = total - sum(acc.values())
    per = 1e3 / iterations
    return {"framework": framework, "iterations": iterations, "ms_per_iter": total * per,
            "phases_ms_per_iter": {k: v * per for k, v in acc.items()},
            "phases_share": {k: v / total for k, v in acc.items()}}


def profile_workload(name: str, iterations: int | None = None, top: int = 25, with_torch: bool = True,
                     wait_quiet: bool = False, quiet_timeout_s: float = 60.0) -> dict:
    """Where minigan's loop for workload ``name`` spends its time.

    Two views: :func:`phase_times` (clocks around the book's calls: honest milliseconds), and
    cProfile (per op and per function; it inflates every Python call, roughly doubling a
    call-bound loop, so read its shares, not its absolute times). Array work inside a
    ufunc call is charged to the Python function that made it (cProfile does not see ufuncs).
    """
    import cProfile
    import pstats
    wl = WORKLOADS[name]
    if wait_quiet:
        wait_for_quiet(timeout_s=quiet_timeout_s)
    phases = phase_times(name, iterations)
    torch_phases = None
    if with_torch and machine_mod.torch_description().get("available"):
        torch_phases = phase_times(name, iterations, framework="torch")
    loop = Loop("minigan", wl)
    iterations = iterations or (3 if wl.slow else 300 if wl.batch == 1 else 60)
    for _ in range(1 if wl.slow else 20):
        loop.step()
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    for _ in range(iterations):
        loop.step()
    prof.disable()
    wall = time.perf_counter() - t0
    st = pstats.Stats(prof)
    qual = _qualnames()
    per = 1e3 / iterations  # ms per iteration
    total = st.total_tt

    # by op: each Function subclass's forward and backward / backward_arrays (inclusive times)
    ops_bwd, ops_fwd = {}, {}
    backward = 0.0
    for k, v in st.stats.items():
        q = qual.get(k, "")
        if q == "Tensor.backward":
            backward += v[3]
        if "/functional/" not in k[0].replace(os.sep, "/") or "." not in q:
            continue
        cls, meth = q.split(".", 1)
        if meth in ("backward", "backward_arrays"):
            ops_bwd[cls] = ops_bwd.get(cls, 0.0) + v[3]
        elif meth == "forward":
            ops_fwd[cls] = ops_fwd.get(cls, 0.0) + v[3]
    optimiser = {}
    for k, v in st.stats.items():
        if "/optim/" in k[0].replace(os.sep, "/"):
            optimiser[qual.get(k, k[2])] = v[3]
    walk = backward - sum(ops_bwd.values())

    rows = []
    for k, (cc, nc, tt, ct, _) in st.stats.items():
        rows.append({"function": _short(k, qual), "calls_per_iter": nc / iterations,
                     "tottime_ms_per_iter": tt * per, "cumtime_ms_per_iter": ct * per})
    rows.sort(key=lambda r: -r["tottime_ms_per_iter"])

    def ms_sorted(d):
        return dict(sorted(((k, v * per) for k, v in d.items()), key=lambda kv: -kv[1]))

    return {
        "workload": name,
        "timed": phases,
        "timed_torch": torch_phases,
        "cprofile": {
            "iterations": iterations,
            "note": "cProfile inflates every Python call; read the shares, not the absolute times",
            "wall_ms_per_iter_under_profile": wall * per,
            "profiled_ms_per_iter": total * per,
            "python_calls_per_iter": st.total_calls / iterations,
            "backward_ms_per_iter": backward * per,
            "backward_by_op_ms_per_iter": ms_sorted(ops_bwd),
            "backward_graph_walk_ms_per_iter": walk * per,
            "forward_by_op_ms_per_iter": ms_sorted(ops_fwd),
            "optimiser_functions_cumtime_ms_per_iter": ms_sorted(optimiser),
            "top_by_tottime": rows[:top],
        },
    }


def print_profile(p, file=None) -> None:
    file = file or sys.stdout
    t = p["timed"]
    print(f"\nwhere minigan's {p['workload']} loop spends its time: {t['ms_per_iter']:.3f} ms per "
          f"iteration over {t['iterations']} iterations (clocks around the book's calls):", file=file)
    tt = p.get("timed_torch")
    if tt:
        print(f"    {'':<30}{'minigan':>12}{'':>8}{'torch':>12}   (torch: {tt['ms_per_iter']:.3f} ms per iteration)",
              file=file)
    for k, v in t["phases_ms_per_iter"].items():
        line = f"    {k:<30}{v:>9.3f} ms  {100 * t['phases_share'][k]:5.1f} %"
        if tt:
            line += f"{tt['phases_ms_per_iter'][k]:>9.3f} ms  {100 * tt['phases_share'][k]:5.1f} %"
        print(line, file=file)
    c = p["cprofile"]
    tot = c["profiled_ms_per_iter"]
    print(f"cProfile of {c['iterations']} iterations ({c['note']}): {tot:.3f} ms per iteration "
          f"under the profiler, {c['python_calls_per_iter']:.0f} Python-level calls per iteration", file=file)
    print("  backward by op (inclusive) and the graph walk around them, share of profiled time:", file=file)
    for k, v in c["backward_by_op_ms_per_iter"].items():
        print(f"    {k + '.backward':<30}{v:>9.3f} ms  {100 * v / tot:5.1f} %", file=file)
    w = c["backward_graph_walk_ms_per_iter"]
    print(f"    {'graph walk (run_backward)':<30}{w:>9.3f} ms  {100 * w / tot:5.1f} %", file=file)
    print("  forward by op (inclusive: the array work of each Function):", file=file)
    for k, v in c["forward_by_op_ms_per_iter"].items():
        print(f"    {k + '.forward':<30}{v:>9.3f} ms  {100 * v / tot:5.1f} %", file=file)
    print("  optimiser functions (inclusive):", file=file)
    for k, v in list(c["optimiser_functions_cumtime_ms_per_iter"].items())[:6]:
        print(f"    {k:<30}{v:>9.3f} ms  {100 * v / tot:5.1f} %", file=file)
    print(f"  top functions by own time:\n  {'calls/iter':>10} {'own ms':>8} {'incl ms':>8}  function",
          file=file)
    for r in c["top_by_tottime"]:
        print(f"  {r['calls_per_iter']:>10.1f} {r['tottime_ms_per_iter']:>8.3f} "
              f"{r['cumtime_ms_per_iter']:>8.3f}  {r['function']}", file=file)


# ============================================================================== the command
def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workloads", nargs="+", metavar="NAME",
                   help=f"which workloads (default: all; --quick leaves out conv_gan): {', '.join(WORKLOADS)}")
    p.add_argument("--devices", nargs="+", choices=("cpu", "cuda"), default=["cpu", "cuda"],
                   help="devices to run on (default: both; cuda rows say why when no GPU is usable)")
    p.add_argument("--repeats", type=positive_int, help="timed blocks per framework (median reported); default 7")
    p.add_argument("--min-block", type=positive_float, dest="min_block_s", metavar="SECONDS",
                   help="minimum length of one timed block; default 0.25")
    p.add_argument("--conv-samples", type=positive_int, default=5, metavar="N",
                   help="timed single iterations per framework for conv_gan (default: %(default)s)")
    p.add_argument("--torch-threads", type=positive_int, default=2,
                   help="torch.set_num_threads (default: %(default)s, the 2 cores of BASELINES.md)")
    p.add_argument("--profile", metavar="WORKLOAD", choices=list(WORKLOADS),
                   help="print cProfile's view of minigan's loop for WORKLOAD and exit (no timing)")
    p.add_argument("--profile-iterations", type=positive_int, metavar="N", help="iterations profiled")
    p.add_argument("--no-profile-misses", action="store_true",
                   help="don't profile the workloads that miss their target (done after a full run)")
    add_common_arguments(p, "training", quiet_timeout=60.0, per="workload",
                         quick_help="tiny iteration counts, no conv_gan unless named (a smoke test, for the tests)")


def _log(msg, file=None):
    print(msg, file=file or sys.stdout, flush=True)


def run(args) -> int:
    torch_info = machine_mod.torch_description()
    if torch_info.get("available"):
        import torch
        torch.set_num_threads(args.torch_threads)
        torch_info["threads"] = torch.get_num_threads()
    if args.profile:
        p = profile_workload(args.profile, args.profile_iterations, wait_quiet=not args.no_wait_quiet,
                             quiet_timeout_s=args.quiet_timeout)
        print_profile(p)
        return 0
    t_start = time.time()
    settings = settings_from(args)
    workloads = select_workloads(args.workloads, args.quick)
    m = machine_mod.describe(include_torch=False)
    m["torch"] = torch_info
    _log(f"machine: {machine_mod.summary_line(m)}")
    probe = {"before": machine_mod.blas_probe()}
    _log(f"BLAS probe (many small products; higher = a slower phase of a shared machine): "
         f"{probe['before']['ms']:.2f} ms")
    _log(DATA_NOTE)
    conv_ok, conv_reason = conv_available()
    rows = []
    for device in args.devices:
        available = device_status(device)
        if not torch_info.get("available"):
            available["torch"] = f"torch: {torch_info.get('reason')}"
        if all(available.values()):
            reason = "; ".join(available.values())
            _log(f"{device}: not available: {reason}")
            for wl in workloads:
                rows.append({"workload": wl.name, "title": wl.title, "book_section": wl.section,
                             "device": device, "batch": wl.batch, "target": wl.target,
                             "not_available": reason})
            continue
        for wl in workloads:
            if wl.needs_conv and not conv_ok:
                rows.append({"workload": wl.name, "title": wl.title, "book_section": wl.section,
                             "device": device, "batch": wl.batch, "target": wl.target,
                             "not_available": conv_reason})
                _log(f"  {device} {wl.name}: skipped: {conv_reason}")
                continue
            t0 = time.time()
            row = measure_workload(wl, device, settings, available)
            rows.append(row)
            _log(f"  {device} {wl.name:<16}{_row_summary(row)}  ({time.time() - t0:.0f} s)")

    profiles = {}
    if not (args.quick or args.no_profile_misses):
        for r in rows:
            if r["device"] == "cpu" and r.get("met") is False and r["workload"] not in profiles:
                profiles[r["workload"]] = profile_workload(r["workload"], args.profile_iterations,
                                                           wait_quiet=settings["wait_quiet"],
                                                           quiet_timeout_s=args.quiet_timeout)
    probe["after"] = machine_mod.blas_probe()
    _log(f"BLAS probe after the run: {probe['after']['ms']:.2f} ms (before: {probe['before']['ms']:.2f})")
    result = {
        "benchmark": "training",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": " ".join([os.path.basename(sys.argv[0])] + sys.argv[1:]),
        "settings": settings,
        "data": DATA_NOTE,
        "ratio": "minigan ms per iteration / torch ms per iteration (medians); < 1: minigan faster",
        "targets": {w.name: w.target for w in WORKLOADS.values() if w.target is not None},
        "machine": m,
        "blas_probe_ms": {k: v["ms"] for k, v in probe.items()},
        "blas_probe": probe["before"]["what"],
        "rows": rows,
        "minigan_profiles_of_misses": profiles,
        "duration_s": round(time.time() - t_start, 1),
    }
    print_table(result)
    for p in profiles.values():
        print_profile(p)
    paths = write_outputs(result, args.out, plot=not args.no_plot)
    _log("\nwrote " + ", ".join(paths.values()))
    return 0


def _row_summary(r) -> str:
    if "minigan" not in r and "torch" not in r:
        return f"not available: {r.get('not_available')}"
    parts = [f"{f} {r[f]['ms_per_iter']:.3f} ms" for f in FRAMEWORKS if f in r]
    if "ratio" in r:
        parts.append(f"ratio {r['ratio']:.2f}")
    return ", ".join(parts)


def _ms(x):
    return f"{x:.1f}" if x >= 100 else f"{x:.2f}" if x >= 10 else f"{x:.3f}"


def _cell(d):
    return "-" if d is None else f"{_ms(d['ms_per_iter'])} [{_ms(d['min_ms'])}..{_ms(d['max_ms'])}]"


def duration(seconds) -> str:
    """An epoch's length: 95 s, 4.1 min, 11.5 h."""
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 120:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"


def print_table(result, file=None) -> None:
    file = file or sys.stdout
    print(f"\nms per iteration, median [min..max]; ratio = minigan / torch; epoch = {EPOCH_SAMPLES:,} "
          f"samples", file=file)
    head = (f"{'device':<6} {'workload':<16}{'batch':>6}{'minigan ms':>30}{'torch ms':>30}"
            f"{'ratio':>7}{'target':>8}  {'epoch minigan / torch'}")
    print(head, file=file)
    said = set()
    for r in result["rows"]:
        if "minigan" not in r and "torch" not in r:
            key = (r["device"], r.get("not_available"))
            same = [x["workload"] for x in result["rows"] if x["device"] == r["device"]
                    and x.get("not_available") == key[1] and "minigan" not in x and "torch" not in x]
            if key not in said:
                said.add(key)
                names = "all workloads" if len(same) > 1 else r["workload"]
                print(f"{r['device']:<6} {names}: not available: {key[1]}", file=file)
            continue
        tgt = r.get("target")
        verdict = "" if tgt is None or "ratio" not in r else (" ok" if r["met"] else " MISS")
        ratio = f"{r['ratio']:.2f}" if "ratio" in r else "-"
        epochs = " / ".join(duration(r[f]["epoch_s"]) if f in r else "-" for f in FRAMEWORKS)
        print(f"{r['device']:<6} {r['workload']:<16}{r['batch']:>6}{_cell(r.get('minigan')):>30}"
              f"{_cell(r.get('torch')):>30}{ratio:>7}{('<= ' + str(tgt)) if tgt else '-':>8}{verdict:<5} {epochs}",
              file=file)
    noisy = [r for r in result["rows"] if (r.get("foreign_busy") or 0) > 0.05]
    if noisy:
        print(f"WARNING: {len(noisy)} workload(s) ran while other processes used > 5% of the CPUs "
              f"(up to {100 * max(r['foreign_busy'] for r in noisy):.0f}%): "
              + ", ".join(r["workload"] for r in noisy), file=file)


def write_outputs(result, out_dir, plot=True) -> dict:
    """training.json (everything), training.csv (one line per workload and device), training.png."""
    paths = out_paths(out_dir, "training")
    write_json(result, paths["json"])
    flat = []
    for r in result["rows"]:
        d = {k: v for k, v in r.items() if k not in FRAMEWORKS and not isinstance(v, dict)}
        for f in FRAMEWORKS:
            if f in r:
                for k in ("ms_per_iter", "min_ms", "max_ms", "ms_per_sample", "epoch_s"):
                    d[f"{f}_{k}"] = r[f][k]
        flat.append(d)
    write_csv(flat, paths["csv"])
    if not plot or not plot_training(result, paths["png"]):
        del paths["png"]
    return paths


def plot_training(result, path) -> bool:
    """Left: ratio minigan/torch per workload with the issue's targets; right: ms per iteration."""
    plt = pyplot()
    if plt is None:
        print("matplotlib is not installed (pip install minigan[dev]): no PNG written")
        return False
    rows = [r for r in result["rows"] if "minigan" in r or "torch" in r]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(13, 1.6 + 0.55 * max(1, len(rows))))
    labels = [f"{r['workload']} ({r['device']})" for r in rows]
    ys = list(range(len(rows)))
    for y, r in zip(ys, rows):
        if "ratio" not in r:
            continue
        met = r.get("met")
        color = "0.6" if met is None else ("C2" if met else "C3")
        lo, hi = r["ratio_pairs"]["min"], r["ratio_pairs"]["max"]
        ax.barh(y, r["ratio"], color=color, height=0.6,
                xerr=[[max(0.0, r["ratio"] - lo)], [max(0.0, hi - r["ratio"])]],
                error_kw={"elinewidth": 0.8, "capsize": 2, "ecolor": "0.25"})
        ax.annotate(f"{r['ratio']:.2f}", (max(r["ratio"], hi, r.get("target") or 0), y), xytext=(5, 0),
                    textcoords="offset points", va="center", fontsize=8)
        if r.get("target") is not None:
            ax.plot([r["target"]], [y], marker="|", markersize=22, color="k", mew=2.5,
                    ls="none")
    ax.axvline(1.0, color="0.3", ls="--", lw=0.8)
    ax.set_yticks(ys)
    ax.set_yticklabels(labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("minigan time / PyTorch time per iteration (< 1: minigan faster)\n"
                  "black ticks: issue #11 targets; bars green: met, red: missed, grey: no target;\n"
                  "whiskers: min..max of the per-round ratios")
    title = "the book's training loops: minigan vs PyTorch"
    missing = sorted({r["device"] for r in result["rows"] if "not_available" in r
                      and "minigan" not in r and "torch" not in r})
    if missing:
        title += "\n(" + ", ".join(missing) + ": not available, see JSON)"
    ax.set_title(title, fontsize=10)
    ax.grid(True, axis="x", alpha=0.3)
    h = 0.38
    for j, (f, color) in enumerate((("minigan", "C1"), ("torch", "C0"))):
        for y, r in zip(ys, rows):
            if f not in r:
                continue
            d = r[f]
            yy = y + (j - 0.5) * h
            ax2.barh(yy, d["ms_per_iter"], height=h * 0.95, color=color,
                     xerr=[[d["ms_per_iter"] - d["min_ms"]], [d["max_ms"] - d["ms_per_iter"]]],
                     error_kw={"elinewidth": 0.6, "capsize": 1.5, "ecolor": "0.3"},
                     label=f if y == next(yy_ for yy_, rr in zip(ys, rows) if f in rr) else None)
            ax2.annotate(format_time(d["ms_per_iter"] / 1e3), (d["max_ms"], yy), xytext=(3, 0),
                         textcoords="offset points", va="center", fontsize=6)
    ax2.set_xscale("log")
    lo_x, hi_x = ax2.get_xlim()
    ax2.set_xlim(lo_x, hi_x * 4)  # room for the labels
    ax2.set_yticks(ys)
    ax2.set_yticklabels([])
    ax2.invert_yaxis()
    ax2.set_xlabel("ms per iteration (median; whiskers min..max), log scale")
    ax2.grid(True, axis="x", which="both", alpha=0.3)
    ax2.legend(fontsize=8, loc="upper right")
    fig.suptitle(machine_mod.summary_line(result["machine"]) + "\n" + result["data"], fontsize=6.5)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def main(argv=None, default_out=None) -> int:
    """The command line (``argv``); ``default_out`` replaces the default ``--out`` folder."""
    return run(command_line("minigan bench train", __doc__, add_arguments, default_out).parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
