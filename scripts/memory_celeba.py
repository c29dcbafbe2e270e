"""The book's memory comparison of its two CelebA GANs (BOOK_SPEC 4.12, 4.14), on the CPU.

The book reads ``torch.cuda.memory_allocated`` / ``max_memory_allocated`` after training each
GAN on a GPU: 0.700 / 1.094 GiB for the fully connected GAN, 0.142 / 0.204 GiB for the
convolutional one - "about 20 %". minigan counts the bytes its tensors hold on any device
(:mod:`minigan.memory`), so here the same figures are measured on the CPU, through the very
calls the book makes (``minigan.cuda.memory_allocated("cpu")`` ...).

For each GAN: build D and G (float32, as the book), run one GAN iteration (the book's three
steps, :func:`minigan.training.gan_step`) so that gradients and Adam's state exist, then
measure a second iteration: allocated after it, and the peak during it. The allocated figure
is split into parameters, gradients, Adam's state and buffers; 16 bytes per parameter
(weights, gradients, two Adam moments, 4 bytes each) is the book-level expectation
(BOOK_SPEC 4.12). ``tracemalloc`` also measures the same iteration, counting every array
NumPy allocates, inside tensors or not (convolution scratch, backward's transient gradients).

    python scripts/memory_celeba.py            # -> benchmarks/results/memory_celeba.json

Takes about 15 seconds on two cores.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time

import numpy as np

import minigan
from minigan.book.celeba_gan import CELEBA_GAN, IMAGE_HWC
from minigan.book.conv_celeba_gan import CONV_CELEBA_GAN, IMAGE_SHAPE
from minigan.training import gan_step

GIB = 1024 ** 3
#: BOOK_SPEC 4.12 / 4.14 (notebook outputs, GPU): allocated and peak, GiB
BOOK = {"celeba-gan": {"allocated_gib": 0.700, "peak_gib": 1.094, "gpu": "Tesla T4"},
        "conv-celeba-gan": {"allocated_gib": 0.142, "peak_gib": 0.204, "gpu": "Tesla P100"}}
DEVICE = "cpu"


def _unique_bytes(arrays) -> int:
    """Bytes under ``arrays``, each underlying buffer once (Adam's moments share flat vectors)."""
    seen, total = set(), 0
    for a in arrays:
        root = a.base if a.base is not None else a
        if id(root) not in seen:
            seen.add(id(root))
            total += root.nbytes
    return total


def breakdown(nets) -> dict:
    """Parameters, gradients, Adam state and buffers of both networks, in bytes."""
    params, grads, state, buffers = [], [], [], []
    for net in (nets.D, nets.G):
        for p in net.module.parameters():
            params.append(p.data)
            if p.grad is not None:
                grads.append(p.grad.data)
        for record in net.optimiser.state.values():
            state += [v.data for v in record.values() if isinstance(v, minigan.Tensor)]
        buffers += [b.data for b in net.module.buffers()]
    return {"parameters": _unique_bytes(params), "gradients": _unique_bytes(grads),
            "adam_state": _unique_bytes(state), "buffers": _unique_bytes(buffers)}


def _numpy_traced_bytes() -> int:
    """Bytes of all NumPy arrays allocated since tracemalloc started and still alive."""
    import tracemalloc
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.DomainFilter(True, np.lib.tracemalloc_domain)])
    return sum(t.size for t in snapshot.traces)


def measure(experiment, real, seed=0, traced=False) -> dict:
    """Memory of ``experiment``'s GAN iteration on ``real``.

    ``traced=False``: minigan's count (``minigan.cuda.memory_allocated`` and
    ``max_memory_allocated`` on the CPU). ``traced=True``: the same run under tracemalloc from
    before the networks are built, so every NumPy array is seen - in tensors or not.
    """
    import tracemalloc
    gc.collect()
    if traced:
        tracemalloc.start()
    base = minigan.cuda.memory_allocated(DEVICE)
    minigan.manual_seed(seed)
    nets = experiment.build(device=DEVICE)
    ones, zeros = experiment.targets(minigan, None, DEVICE)
    n_params = sum(p.numel() for net in (nets.D, nets.G) for p in net.module.parameters())
    after_build = minigan.cuda.memory_allocated(DEVICE) - base

    def iteration():
        seed_a, seed_b = experiment.seed(minigan, None, DEVICE), experiment.seed(minigan, None, DEVICE)
        losses = gan_step(nets.D, nets.G, real, seed_a, seed_b, ones, zeros)
        return [float(loss.item()) for loss in losses]

    start = time.perf_counter()
    iteration()                                   # gradients and Adam's state now exist
    first_seconds = time.perf_counter() - start
    gc.collect()
    before = minigan.cuda.memory_allocated(DEVICE)
    minigan.cuda.reset_peak_memory_stats(DEVICE)  # the book's cells, on the CPU
    if traced:
        numpy_before = _numpy_traced_bytes()
        tracemalloc.reset_peak()
        all_before = tracemalloc.get_traced_memory()[0]
    start = time.perf_counter()
    losses = iteration()
    seconds = time.perf_counter() - start
    if traced:
        all_peak = tracemalloc.get_traced_memory()[1]
        gc.collect()
        numpy_after = _numpy_traced_bytes()
        tracemalloc.stop()
        del nets
        gc.collect()
        # the peak of everything traced, less the non-NumPy part held at the start; the
        # Python objects made during one iteration are a rounding error beside the arrays
        return {"allocated_after_step": numpy_after,
                "peak_during_step": numpy_before + (all_peak - all_before),
                "seconds_iteration_traced": round(seconds, 2)}
    gc.collect()
    allocated = minigan.cuda.memory_allocated(DEVICE) - base
    peak = minigan.cuda.max_memory_allocated(DEVICE) - base
    parts = breakdown(nets)
    result = {
        "experiment": experiment.name, "parameters": n_params,
        "parameters_book": sum(experiment.parameters),
        "bytes": {"after_build": after_build, "allocated_after_step": allocated,
                  "peak_during_step": peak, "activations_peak": peak - (before - base),
                  **parts, "other": allocated - sum(parts.values())},
        "gib": {"allocated": allocated / GIB, "peak": peak / GIB},
        "bytes_per_parameter_allocated": allocated / n_params,
        "expected_16_bytes_per_parameter_gib": 16 * n_params / GIB,
        "seconds_first_iteration": round(first_seconds, 2), "seconds_iteration": round(seconds, 2),
        "losses": losses, "book": BOOK[experiment.name],
    }
    del nets
    gc.collect()
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/results/memory_celeba.json")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    # a real image's memory does not depend on its pixels: uniform [0, 1) of the book's shapes
    fc_real = minigan.tensor(rng.random(IMAGE_HWC, dtype=np.float32))
    conv_real = minigan.tensor(rng.random(IMAGE_SHAPE, dtype=np.float32))
    rows = {}
    for experiment, real in ((CELEBA_GAN, fc_real), (CONV_CELEBA_GAN, conv_real)):
        print(f"measuring {experiment.name} ...", file=sys.stderr, flush=True)
        row = rows[experiment.name] = measure(experiment, real)
        traced = measure(experiment, real, traced=True)
        row["traced_numpy"] = {
            "allocated_after_step_gib": traced["allocated_after_step"] / GIB,
            "peak_during_step_gib": traced["peak_during_step"] / GIB,
            "seconds_iteration_traced": traced["seconds_iteration_traced"],
            "note": "tracemalloc from before the networks were built: every array NumPy "
                    "allocates, in tensors or not (Adam's work buffers, convolution scratch, "
                    "backward's transient gradients)"}
    fc, conv = rows["celeba-gan"], rows["conv-celeba-gan"]
    ratio = {"allocated": conv["gib"]["allocated"] / fc["gib"]["allocated"],
             "peak": conv["gib"]["peak"] / fc["gib"]["peak"],
             "traced_numpy_allocated": conv["traced_numpy"]["allocated_after_step_gib"]
             / fc["traced_numpy"]["allocated_after_step_gib"],
             "traced_numpy_peak": conv["traced_numpy"]["peak_during_step_gib"]
             / fc["traced_numpy"]["peak_during_step_gib"],
             "book_allocated": 0.142 / 0.700, "book_peak": 0.204 / 1.094}
    try:
        from minigan.bench.machine import describe, summary_line
        machine = describe(include_torch=False)
        machine_line = summary_line(machine)
    except Exception as e:  # the measurement stands without the machine's description
        machine, machine_line = {"error": repr(e)}, "unknown machine"
    result = {"what": "memory of one GAN iteration (D real, D fake, G) of the book's two CelebA "
                      "GANs, float32 on the CPU, counted by minigan.memory (tensors' buffers, "
                      "each once) through minigan.cuda.memory_allocated / max_memory_allocated",
              "command": "python scripts/memory_celeba.py", "machine": machine,
              "machine_summary": machine_line, "minigan": minigan.__version__,
              "models": rows, "ratio_conv_to_fc": ratio}
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    print(f"GiB{'':15s}{'allocated':>10s}{'peak':>8s}   {'book:':>6s}{'allocated':>10s}{'peak':>7s}"
          f"   {'all NumPy:':>10s}{'after':>7s}{'peak':>7s}")
    for name, row in rows.items():
        t = row["traced_numpy"]
        print(f"{name:18s}{row['gib']['allocated']:10.3f}{row['gib']['peak']:8.3f}   {'':6s}"
              f"{row['book']['allocated_gib']:10.3f}{row['book']['peak_gib']:7.3f}   {'':10s}"
              f"{t['allocated_after_step_gib']:7.3f}{t['peak_during_step_gib']:7.3f}")
    print(f"conv / FC: allocated {ratio['allocated']:.1%} (book {ratio['book_allocated']:.1%}), "
          f"peak {ratio['peak']:.1%} (book {ratio['book_peak']:.1%}); all NumPy arrays: after "
          f"{ratio['traced_numpy_allocated']:.1%}, peak {ratio['traced_numpy_peak']:.1%}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
