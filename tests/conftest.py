"""Shared pytest set-up for minigan's tests.

PyTorch comparisons must never be skipped quietly. With ``MINIGAN_REQUIRE_TORCH=1`` (CI sets
it) a missing or broken PyTorch stops the whole session with an error. Without it, the
modules that compare with PyTorch skip themselves (``pytest.importorskip``) with a reason
that the summary shows, and the report header says so.
"""
from __future__ import annotations

import os

import pytest

import minigan


def _torch_problem():
    """None if PyTorch imports, else why not."""
    try:
        import torch  # noqa: F401
    except Exception as e:
        return f"{type(e).__name__}: {e}"
    return None


TORCH_PROBLEM = _torch_problem()
TORCH_REQUIRED = os.environ.get("MINIGAN_REQUIRE_TORCH", "") not in ("", "0")


def pytest_configure(config):
    if TORCH_PROBLEM is not None and TORCH_REQUIRED:
        raise pytest.UsageError(
            "MINIGAN_REQUIRE_TORCH=1 but PyTorch is not importable "
            f"({TORCH_PROBLEM}); install it (pip install torch) - the PyTorch comparisons "
            "must run, not skip")


def pytest_report_header(config):
    cuda = "available" if minigan.cuda.is_available() else f"not available ({minigan.cuda.unavailable_reason()})"
    if minigan.cuda.is_available() and getattr(minigan.backend.cuda_status()[2], "FAKE", False):
        cuda = "FAKE: tests/fake_cupy, NumPy standing in for CuPy (device plumbing only, no GPU)"
    torch_line = "importable" if TORCH_PROBLEM is None else (
        f"NOT importable ({TORCH_PROBLEM}): the PyTorch comparison modules are SKIPPED")
    return [f"minigan: PyTorch {torch_line}; CUDA {cuda}"]


@pytest.fixture
def torch():
    """The ``torch`` module. Test modules that need it everywhere use
    ``torch = pytest.importorskip("torch")`` at the top: under MINIGAN_REQUIRE_TORCH=1 the
    session has already stopped if it is missing, so that skip can only happen locally."""
    return pytest.importorskip("torch", reason=f"PyTorch is not importable: {TORCH_PROBLEM}")


@pytest.fixture(scope="module")
def one_torch_thread():
    """PyTorch on one thread for a module's tests (``pytestmark = pytest.mark.usefixtures(
    "one_torch_thread")``): small steps gain nothing from threads, and on a busy 2-core machine
    PyTorch's two OpenMP threads slow down 10x (benchmarks/README.md)."""
    torch = pytest.importorskip("torch", reason=f"PyTorch is not importable: {TORCH_PROBLEM}")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def _restore_global_state():
    """Tests that change minigan's defaults must not leak them into later tests."""
    from minigan import backend as B
    dtype, dev = B.get_default_dtype(), B.get_default_device()
    grad_mode = minigan.is_grad_enabled()
    yield
    B._default_dtype = dtype
    B._default_device = dev
    minigan.autograd._grad_enabled = grad_mode
