"""minigan.memory: the bytes tensors hold per device, and ``minigan.cuda``'s memory calls on it.

The count must be exact where the answer is known: a tensor's buffer once however many
tensors view it, parameters and buffers as built, and after one training step of the book's
conv GAN exactly 16 bytes per parameter (weights, gradients, Adam's two moments) plus the
BatchNorm buffers (BOOK_SPEC 4.12 / 5.3).
"""
from __future__ import annotations

import copy
import gc
import tracemalloc

import numpy as np
import pytest

import minigan
from minigan import memory


def now(device="cpu"):
    gc.collect()
    return memory.allocated(device)


def test_a_tensor_counts_its_bytes_and_gives_them_back():
    base = now()
    x = minigan.zeros(1000)                      # float32
    assert now() - base == 4000
    y = minigan.zeros(10, dtype=minigan.float64)
    assert now() - base == 4080
    del x, y
    assert now() == base


def test_views_detach_and_shared_arrays_count_once():
    base = now()
    x = minigan.zeros(100, 10)
    views = [x.view(1000), x[3:7], x.T, x.detach(), copy.copy(x), x.reshape(10, 100)]
    assert now() - base == 4000
    a = np.zeros(2500)                           # 20,000 bytes
    shared = [minigan.from_numpy(a), minigan.from_numpy(a), minigan.from_numpy(a[::5]),
              minigan.from_numpy(np.broadcast_to(a, (4, 2500)))]
    assert now() - base == 24000
    del x                                        # the views keep the buffer alive: still counted
    assert now() - base == 24000
    del views, shared
    assert now() == base


def test_reassigning_data_moves_the_count():
    base = now()
    p = minigan.nn.Parameter(minigan.zeros(250))          # 1,000 bytes
    assert now() - base == 1000
    p.data = np.ones(250, dtype=np.float64)               # a new, bigger buffer
    assert now() - base == 2000
    with minigan.no_grad():
        p.zero_()
        p.uniform_()
    assert now() - base == 2000
    layer = minigan.nn.Linear(100, 10).to(minigan.float64)
    assert now() - base == 2000 + 8 * (100 * 10 + 10)
    del p, layer
    assert now() == base


def test_peak_and_reset():
    minigan.cuda.reset_peak_memory_stats("cpu")
    base = now()
    assert minigan.cuda.max_memory_allocated("cpu") >= base
    big = minigan.zeros(250_000)                          # 1 MB
    del big
    assert now() == base
    assert minigan.cuda.max_memory_allocated("cpu") >= base + 1_000_000
    assert memory.max_allocated("cpu") == minigan.cuda.max_memory_allocated("cpu")
    minigan.cuda.reset_peak_memory_stats("cpu")
    assert minigan.cuda.max_memory_allocated("cpu") == now()


def test_cuda_calls_answer_for_the_cpu():
    x = minigan.ones(123)  # noqa: F841  (held)
    assert minigan.cuda.memory_allocated("cpu") == memory.allocated("cpu") == now()
    assert minigan.cuda.memory_reserved("cpu") == memory.allocated("cpu")
    if not minigan.cuda.is_available():   # the book's calls with no device: the default device
        assert minigan.cuda.memory_allocated() == memory.allocated()
        assert "allocated now" in minigan.cuda.memory_summary()


def test_devices_are_counted_apart():
    cpu, strict = now("cpu"), now("strict")
    x = minigan.zeros(100, device="strict")
    y = x * 2.0
    assert now("strict") - strict == 800 and now("cpu") == cpu
    del x, y
    assert now("strict") == strict


def test_a_copy_to_another_device_is_counted_on_that_device():
    # (ToDevice's output is made by Function.__call__ on the input's device, then moved)
    x = minigan.zeros(1000)
    cpu, strict = now("cpu"), now("strict")
    y = x.to("strict")
    assert now("strict") - strict == 4000 and now("cpu") == cpu
    z = y.cpu()
    assert now("cpu") - cpu == 4000 and now("strict") - strict == 4000
    del y, z
    assert now("cpu") == cpu and now("strict") == strict


def test_a_training_loop_does_not_leak_count():
    from minigan.book.mnist_gan import MNIST_GAN
    from minigan.training import gan_step
    minigan.manual_seed(0)
    nets = MNIST_GAN.build()
    real, ones, zeros = minigan.rand(784), minigan.ones(1), minigan.zeros(1)
    gan_step(nets.D, nets.G, real, minigan.randn(100), minigan.randn(100), ones, zeros)
    after_one = now()
    for _ in range(20):
        gan_step(nets.D, nets.G, real, minigan.randn(100), minigan.randn(100), ones, zeros)
    assert now() == after_one


def _module_bytes(module):
    return (sum(p.data.nbytes for p in module.parameters())
            + sum(b.data.nbytes for b in module.buffers()))


def test_conv_gan_step_holds_16_bytes_per_parameter():
    """BOOK_SPEC 4.14 / 5.3: D 4,294,448 + G 4,330,816 parameters, float32.

    Built: 4 bytes each, plus BatchNorm's running statistics. After one GAN iteration:
    weights, gradients (every parameter has one: G's step leaves D's too) and Adam's two
    moments - 16 bytes each - plus the same buffers, exactly; the peak lies above.
    """
    from minigan.book.conv_celeba_gan import CONV_CELEBA_GAN, IMAGE_SHAPE
    from minigan.training import gan_step, train_step
    minigan.manual_seed(0)
    real = minigan.rand(*IMAGE_SHAPE)
    seed_a, seed_b = minigan.randn(100), minigan.randn(100)
    ones, zeros = CONV_CELEBA_GAN.targets(minigan)
    base = now()
    nets = CONV_CELEBA_GAN.build()
    params = sum(p.numel() for net in (nets.D, nets.G) for p in net.parameters())
    assert params == 4_294_448 + 4_330_816
    buffers = sum(b.data.nbytes for net in (nets.D, nets.G) for b in net.module.buffers())
    assert buffers == 4 * 2 * (256 + 256 + 256 + 256 + 3) + 8 * 5   # mean, var; batches seen
    assert now() - base == 4 * params + buffers
    minigan.cuda.reset_peak_memory_stats("cpu")
    losses = gan_step(nets.D, nets.G, real, seed_a, seed_b, ones, zeros)
    del losses
    assert all(p.grad is not None for net in (nets.D, nets.G) for p in net.parameters())
    assert now() - base == 16 * params + buffers
    peak = minigan.cuda.max_memory_allocated("cpu") - base
    assert peak >= 16 * params + buffers
    assert peak < 20 * params                                   # activations: tens of MB, not more
    # the first D step, before any gradient or moment exists: weights plus activations
    minigan.cuda.reset_peak_memory_stats("cpu")
    fresh = CONV_CELEBA_GAN.build()
    start = minigan.cuda.memory_allocated("cpu")
    train_step(fresh.D, real, ones)
    assert minigan.cuda.max_memory_allocated("cpu") > start + 4 * 256 * 61 * 61   # D's first maps


def test_count_is_within_what_numpy_allocates():
    """tracemalloc sees every NumPy allocation; tensors' buffers are a part of them."""
    from minigan.book.mnist_gan import MNIST_GAN
    from minigan.training import gan_step
    gc.collect()
    tracemalloc.start()
    try:
        base = memory.allocated("cpu")
        nets = MNIST_GAN.build()
        gan_step(nets.D, nets.G, minigan.rand(784), minigan.randn(100), minigan.randn(100),
                 minigan.ones(1), minigan.zeros(1))
        gc.collect()
        counted = memory.allocated("cpu") - base
        snapshot = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.DomainFilter(True, np.lib.tracemalloc_domain)])
        traced = sum(t.size for t in snapshot.traces)
    finally:
        tracemalloc.stop()
    held = sum(_module_bytes(net.module) for net in (nets.D, nets.G))
    assert counted == 4 * held            # weights, gradients, two Adam moments (no buffers)
    assert counted <= traced


def test_many_buffers_come_and_go():
    base = now()
    kept = [minigan.zeros(10) for _ in range(200)]
    assert now() - base == 200 * 40 and len(memory.live_buffers("cpu")) >= 200
    del kept[::2]
    assert now() - base == 100 * 40
    del kept
    assert now() == base


def test_summary_names_the_device():
    text = memory.summary("cpu")
    assert text.startswith("minigan memory on cpu") and "peak" in text


def test_counting_can_be_switched_off_at_import():
    """``MINIGAN_COUNT_MEMORY=0``: plain tensors (a slot, no finaliser); the queries say why not."""
    import os
    import subprocess
    import sys
    code = ("import minigan, copy\n"
            "assert type(minigan.Tensor.__dict__['data']).__name__ == 'member_descriptor'\n"
            "assert not hasattr(minigan.Tensor, '__del__')\n"
            "x = minigan.ones(3); x.data = x.data * 2; y = copy.copy(x) + x\n"
            "assert y.tolist() == [4.0, 4.0, 4.0]\n"
            "try:\n    minigan.cuda.memory_allocated('cpu')\nexcept RuntimeError as e:\n"
            "    print(e)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, MINIGAN_COUNT_MEMORY="0"))
    assert done.returncode == 0, done.stderr
    assert "MINIGAN_COUNT_MEMORY=0" in done.stdout


def _run(code, **env):
    import os
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, **env))
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_counting_starts_at_the_first_query_and_finds_the_tensors_made_before():
    """Unset: plain tensors (no finaliser, no per-tensor cost) until something asks; the first
    query then charges every live tensor, so the answer is exact, and counts from then on."""
    code = ("import os, gc, minigan\n"
            "os.environ.pop('MINIGAN_COUNT_MEMORY', None)\n"
            "from minigan import memory\n"
            "assert not memory.COUNTING and not hasattr(minigan.Tensor, '__del__')\n"
            "layer = minigan.nn.Linear(100, 10)\n"
            "x = minigan.zeros(1000); view = x[10:20]\n"
            "gc.collect()\n"
            "base = memory.allocated('cpu')\n"
            "assert memory.COUNTING and hasattr(minigan.Tensor, '__del__')\n"
            "assert base >= 4 * (100 * 10 + 10) + 4000, base\n"
            "del x\n"
            "gc.collect(); assert memory.allocated('cpu') == base   # the view keeps the buffer\n"
            "del view\n"
            "gc.collect(); assert memory.allocated('cpu') == base - 4000\n"
            "del layer\n"
            "gc.collect(); assert memory.allocated('cpu') == base - 4000 - 4 * 1010\n"
            "y = minigan.ones(250); assert memory.allocated('cpu') == base - 4000 - 4040 + 1000\n"
            "assert memory.max_allocated('cpu') == base   # the peak is measured from the first query\n"
            "print('ok')\n")
    assert _run(code, MINIGAN_COUNT_MEMORY="").strip() == "ok"


def test_counting_from_import_when_asked_in_the_environment():
    code = ("import minigan\n"
            "from minigan import memory\n"
            "assert memory.COUNTING and hasattr(minigan.Tensor, '__del__')\n"
            "print('ok')\n")
    assert _run(code, MINIGAN_COUNT_MEMORY="1").strip() == "ok"
