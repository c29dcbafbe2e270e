"""The VAE trained in minigan and in PyTorch, side by side: held-out loss after the same steps.

Issue 10 asks for the VAE's held-out loss within 2 % of PyTorch's "after the same steps from
the same weights". This script runs exactly that at full scale:

1. builds the VAE (:mod:`minigan.models.vae`, PyTorch's examples/vae) on minigan
   (``minigan.manual_seed(--seed)``, PyTorch's default init rules) and copies those initial
   weights into the PyTorch twin (``VAE.network(torch)``), so both start from the same numbers;
2. trains both for ``--epochs`` over the same shuffled batches of 128 (the order of
   :func:`minigan.experiment.batches` with the run's seed, as ``minigan train`` shuffles) and
   with the same reparameterisation noise (``eps`` drawn for each batch from one
   ``numpy.random.default_rng([seed, 1])`` sequence, the same draws fed to both). minigan runs
   ``VAE.fit`` - the loop of ``minigan train vae`` - and PyTorch runs the same
   :meth:`~minigan.models.autoencoding.AutoencoderModel.step` (``train_step``: forward, loss,
   ``zero_grad``, ``backward``, ``step``) on ``torch.from_numpy`` of the very same pixels;
3. after every epoch scores both on the test split with
   :meth:`~minigan.models.autoencoding.AutoencoderModel.held_out_loss` (the loss per image, as
   the example prints its ``Test set loss``; its ``eps`` from a fixed generator, the same for
   both), and writes a JSON: both curves, the final held-out losses and their difference in
   %, train seconds and ms per step, the machine (``minigan.bench.machine.describe``), and the
   exact command.

The runs are sequential, each framework with one BLAS/OpenMP thread (set before NumPy is
imported; ``torch.set_num_threads(1)``), so their times are comparable on a shared 2-core
machine. Timings are wall clock; the load average at the start and the end is recorded.

In float32 the two runs do not stay bit-equal: the engines sum in different orders, and Adam
turns rounding-sized gradient differences into full-sized steps (see scripts/side_by_side.py).
``--control`` adds a third run, ``torch-ulp``: PyTorch again from the initial weights moved by
one ulp - how far that run ends from the plain PyTorch run is the spread that rounding alone
gives this training, the yardstick for the minigan - PyTorch difference. ``--dtype float64``
shows the runs together to rounding (tests/test_models_autoencoders.py checks 30 steps).

Usage::

    python scripts/vae_side_by_side.py                         # 10 epochs of the bundled sample
    python scripts/vae_side_by_side.py --epochs 50 --control
    python scripts/vae_side_by_side.py --data fashion-mnist --epochs 10

The default output is ``benchmarks/results/vae_side_by_side_DATA[_EPOCHSep].json``.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")       # before NumPy and PyTorch load their thread pools

import argparse  # noqa: E402
import shlex  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
TOLERANCE_PERCENT = 2.0     # the issue: held-out loss within 2 % of PyTorch's


def data_tag(data) -> str:
    return "bundled" if data is None else Path(str(data)).name.replace(".", "-")


def noise_stream(seed: int, dtype):
    """``eps`` for successive batches: one generator, the same sequence for every run."""
    rng = np.random.default_rng([seed, 1])
    return lambda n: rng.standard_normal((n, 20)).astype(dtype)


def run(framework: str, vae, train, test, state: dict, *, epochs: int, seed: int, dtype: str):
    """Train one copy from ``state``; return per-epoch train/held-out losses and the time."""
    import minigan
    per_epoch = -(-len(train) // vae.batch_size)
    draw = noise_stream(seed, dtype)
    train_losses, test_losses, running = [], [], [0.0, 0]
    if framework == "minigan":
        fw = minigan
    else:
        import torch as fw
        fw.set_num_threads(1)
    module = vae.network(fw).to(getattr(fw, dtype))
    module.load_state_dict({k: fw.from_numpy(v.astype(dtype)) for k, v in state.items()})
    from minigan.training import Network
    net = Network(module, vae.optimiser(fw, module.parameters()), vae.loss(fw), name=framework)
    scoring = [0.0]

    def on_step(it, epoch, loss, items):
        running[0] += float(loss.item())
        running[1] += items
        if it % per_epoch == 0:
            train_losses.append(running[0] / running[1])
            running[:] = [0.0, 0]
            start = time.perf_counter()
            test_losses.append(vae.held_out_loss(module, test, torch=fw, dtype=getattr(fw, dtype)))
            scoring[0] += time.perf_counter() - start

    start = time.perf_counter()
    if framework == "minigan":
        vae.fit(net, train, epochs=epochs, batch_size=vae.batch_size, shuffle=True, rng=seed,
                dtype=getattr(fw, dtype), on_step=on_step,
                noise=lambda n: minigan.from_numpy(draw(n)))
    else:
        from minigan.experiment import batches
        it = 0
        for epoch, _, index in batches(len(train), epochs=epochs, batch_size=vae.batch_size,
                                       shuffle=True, rng=seed):
            x = fw.from_numpy(train.batch(index)[1].numpy().astype(dtype))   # minigan's pixels
            loss = vae.step(net, vae.inputs(x), fw.from_numpy(draw(len(index))))
            it += 1
            on_step(it, epoch, loss, len(index))
    seconds = time.perf_counter() - start - scoring[0]
    steps = epochs * per_epoch
    return {"train_loss_per_epoch": train_losses, "test_loss_per_epoch": test_losses,
            "test_loss": test_losses[-1], "train_seconds": round(seconds, 2), "steps": steps,
            "ms_per_step": round(1000 * seconds / steps, 3), "scoring_seconds": round(scoring[0], 2)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="fashion-mnist, an IDX folder, a CSV; "
                                                     "default: the bundled real MNIST sample")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument("--control", action="store_true",
                        help="also PyTorch from the weights moved by one ulp (training's own spread)")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)

    import minigan
    from minigan.bench.machine import describe
    from minigan.data import load_mnist
    from minigan.models import get
    vae = get("vae")
    train, test = load_mnist(args.data, "train"), load_mnist(args.data, "test")
    minigan.manual_seed(args.seed)
    state = {k: np.array(v.numpy(), copy=True) for k, v in vae.network(minigan).state_dict().items()}
    load_start = os.getloadavg()
    runs = {}
    plan = [("minigan", "minigan", state), ("torch", "torch", state)]
    if args.control:
        plan.append(("torch-ulp", "torch", {k: np.nextafter(v, np.inf) for k, v in state.items()}))
    for label, framework, start_state in plan:
        print(f"{label}: {args.epochs} epochs of {len(train):,} items ...", flush=True)
        runs[label] = run(framework, vae, train, test, start_state, epochs=args.epochs,
                          seed=args.seed, dtype=args.dtype)
        r = runs[label]
        print(f"  held-out loss {r['test_loss']:.4f} per image; {r['train_seconds']:.1f} s "
              f"({r['ms_per_step']:.1f} ms a step)", flush=True)
    ours, theirs = runs["minigan"]["test_loss"], runs["torch"]["test_loss"]
    difference = 100 * (ours - theirs) / theirs
    result = {
        "what": "VAE (PyTorch's examples/vae) trained in minigan and PyTorch from the same initial "
                "weights, batches and eps; held-out loss per test image (summed BCE + KL / items)",
        "data": train.source, "train_items": len(train), "test_items": len(test),
        "epochs": args.epochs, "batch_size": vae.batch_size, "seed": args.seed, "dtype": args.dtype,
        "held_out_loss": {k: v["test_loss"] for k, v in runs.items()},
        "difference_percent": difference, "tolerance_percent": TOLERANCE_PERCENT,
        "within_tolerance": abs(difference) <= TOLERANCE_PERCENT,
        "runs": runs, "threads": 1, "loadavg_start": load_start, "loadavg_end": os.getloadavg(),
        "machine": describe(), "command": "python " + " ".join(shlex.quote(a) for a in sys.argv),
    }
    if args.control:
        control = runs["torch-ulp"]["test_loss"]
        result["control_difference_percent"] = 100 * (control - theirs) / theirs
    out = args.out or RESULTS / (f"vae_side_by_side_{data_tag(args.data)}"
                                 + ("" if args.epochs == 10 else f"_{args.epochs}ep")
                                 + ("" if args.dtype == "float32" else f"_{args.dtype}") + ".json")
    from minigan.runs import _write_json
    os.makedirs(os.path.dirname(os.fspath(out)) or ".", exist_ok=True)
    _write_json(out, result)
    print(f"minigan {ours:.4f} vs PyTorch {theirs:.4f} per image: {difference:+.2f} %"
          + (f" (PyTorch vs PyTorch one ulp apart: {result['control_difference_percent']:+.2f} %)"
             if args.control else "") + f" -> {out}")
    return 0 if result["within_tolerance"] else 1


if __name__ == "__main__":
    sys.exit(main())
