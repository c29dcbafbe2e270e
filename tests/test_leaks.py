"""No leaks over long runs (issue 9): 10,000 book-style iterations of the improved MNIST GAN
keep memory flat.

The book trains one sample at a time for hours, so anything a step leaves behind - a graph
node, a tensor, a cache entry, a Python float - adds up. This runs 10,000 iterations of the
book's loop (``minigan.training.gan_step`` on real bundled digits in stored order, with two
``randn(100)`` seeds each) and compares iteration 1,000 with iteration 10,000:

* live ``Tensor`` and ``Function`` objects (``gc.get_objects()`` after ``gc.collect()``): the
  same count, within 8 (a leak of one per iteration would add 9,000);
* the bytes ``tracemalloc`` traces (every Python object and every NumPy buffer allocated
  while it runs; it starts at iteration 900, so that the arrays each step replaces - the
  gradients, D's and G's 1.3 MB of them - are traced at both samples): grown by at most the
  book's own progress lists (a float per network every 10th call, measured exactly) plus
  64 KiB. 64 KiB absorbs the allocator's noise (a dict or list resizing in some cache, the
  interpreter's free lists); the smallest plausible leak, one 0-d NumPy array per iteration,
  is 9,000 x ~100 bytes = 0.9 MB, and one Python float per iteration is 216 KB.

Also: after every step the graph is freed (each loss's Function has dropped its inputs) and
the real sample and the seeds are not kept alive by anything.

tracemalloc doubles the cost of an iteration, so this takes ~25 s of CPU (marked slow; it
runs in CI).
"""
from __future__ import annotations

import gc
import tracemalloc
import weakref

import pytest

import minigan
from minigan import book
from minigan.autograd import Function
from minigan.data import bundled_mnist
from minigan.tensor import Tensor
from minigan.training import gan_step

ITERATIONS = 10_000
FIRST = 1_000
TRACE_FROM = 900
OBJECT_SLACK = 8
BYTE_SLACK = 64 << 10


def live_objects() -> tuple[int, int]:
    """(live Tensors, live Functions), after a full collection."""
    gc.collect()
    tensors = functions = 0
    for obj in gc.get_objects():
        kind = type(obj)  # not isinstance: some objects answer __class__ lazily (torch.distributed)
        if issubclass(kind, Tensor):
            tensors += 1
        elif issubclass(kind, Function):
            functions += 1
    return tensors, functions


def progress_bytes(nets) -> int:
    """What the book's progress lists hold: the list storage and one float object per entry."""
    import sys
    total = 0
    for net in (nets.D, nets.G):
        total += sys.getsizeof(net.progress) + sum(sys.getsizeof(v) for v in net.progress)
    return total


@pytest.mark.slow
def test_ten_thousand_book_iterations_keep_memory_flat():
    minigan.manual_seed(0)
    experiment = book.get("mnist-gan")
    nets = experiment.build()
    data = bundled_mnist("train")
    ones, zeros = experiment.targets(minigan)
    n = len(data)
    was_tracing = tracemalloc.is_tracing()
    samples = {}
    try:
        for i in range(1, ITERATIONS + 1):
            if i == TRACE_FROM and not was_tracing:
                tracemalloc.start()
            _, image, _ = data[(i - 1) % n]
            seed_a, seed_b = minigan.randn(100), minigan.randn(100)
            losses = gan_step(nets.D, nets.G, image, seed_a, seed_b, ones, zeros)
            if i in (FIRST, ITERATIONS) or i % 997 == 0:
                # the graph is freed: each loss's Function has let go of its inputs
                for loss in losses:
                    assert loss.creator is not None and loss.creator.inputs == (), \
                        f"iteration {i}: the graph behind a loss was kept"
                refs = [weakref.ref(t) for t in (image, seed_a, seed_b)]
                del image, seed_a, seed_b
                dead = [r() is None for r in refs]
                assert all(dead), f"iteration {i}: the real sample or a seed outlived its step"
            if i in (FIRST, ITERATIONS):
                tensors, functions = live_objects()
                samples[i] = {"tensors": tensors, "functions": functions,
                              "traced": tracemalloc.get_traced_memory()[0],
                              "progress": progress_bytes(nets)}
    finally:
        if not was_tracing:
            tracemalloc.stop()

    first, last = samples[FIRST], samples[ITERATIONS]
    report = f"iteration {FIRST}: {first}; iteration {ITERATIONS}: {last}"
    print(report)  # the figures, with pytest -s
    assert last["tensors"] <= first["tensors"] + OBJECT_SLACK, "live Tensors grew: " + report
    assert last["functions"] <= first["functions"] + OBJECT_SLACK, "live Functions grew: " + report
    allowed = (last["progress"] - first["progress"]) + BYTE_SLACK
    grown = last["traced"] - first["traced"]
    assert grown <= allowed, (f"traced memory grew by {grown} bytes over {ITERATIONS - FIRST} "
                              f"iterations (allowed {allowed}: the progress lists + "
                              f"{BYTE_SLACK}); " + report)
    # sanity: the book's progress lists did grow (every 10th call), so the run was real
    assert len(nets.G.progress) == ITERATIONS // 10 and len(nets.D.progress) == 2 * ITERATIONS // 10
