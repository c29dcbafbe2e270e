"""CUDA (CuPy): the op tests on device "cuda", against PyTorch and against minigan's CPU.

They run wherever ``minigan.cuda.is_available()`` is True and are skipped, with the reason,
everywhere else. The tests at the bottom run everywhere: detection must answer safely.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import minigan
from minigan.testing import assert_matches_torch

from op_cases import CASES, GRADCHECK_SIZE, TORCH_SIZE, to_minigan

def cuda_only(test):
    """Mark a test ``cuda`` and skip it, saying why, where CUDA is not available."""
    test = pytest.mark.skipif(not minigan.cuda.is_available(),
                              reason=f"CUDA is not available: {minigan.cuda.unavailable_reason()}")(test)
    return pytest.mark.cuda(test)

SETTINGS = settings(max_examples=15, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def _outputs(out):
    return out if isinstance(out, tuple) else (out,)


@cuda_only
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@pytest.mark.usefixtures("torch")
@SETTINGS
@given(data=st.data())
def test_op_on_cuda_matches_torch(case, data):
    inputs = data.draw(case.inputs(TORCH_SIZE, False), label="inputs")
    outs = assert_matches_torch(case.fn, *inputs, torch_fn=case.torch_fn, dtype=case.dtype,
                                device="cuda")
    for o in outs:
        assert o.device.type == "cuda" and o.is_cuda


@cuda_only
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@SETTINGS
@given(data=st.data())
def test_op_on_cuda_matches_cpu(case, dtype, data):
    """The same op, inputs and upstream gradient on CPU and CUDA: same outputs and grads."""
    inputs = data.draw(case.inputs(TORCH_SIZE, False), label="inputs")
    dtype = case.dtype if case.dtype != "float64" else dtype
    results = {}
    for device in ("cpu", "cuda"):
        xs = to_minigan(inputs, device=device, dtype=dtype)
        outs = _outputs(case.fn(minigan, *xs))
        roots = [o for o in outs if o.requires_grad]
        rng = np.random.default_rng(0)
        grads = [minigan.tensor(rng.standard_normal(o.shape), dtype=o.dtype, device=device) for o in roots]
        if roots:
            minigan.autograd.backward(roots, grads)
        results[device] = ([o.detach().cpu().numpy() for o in outs],
                           [x.grad.cpu().numpy() if isinstance(x, minigan.Tensor) and x.grad is not None
                            else None for x in xs])
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == "float64" else dict(rtol=1e-4, atol=1e-5)
    for a, b in zip(results["cpu"][0], results["cuda"][0]):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(b, a, **tol)
    for a, b in zip(results["cpu"][1], results["cuda"][1]):
        assert (a is None) == (b is None)
        if a is not None:
            assert a.dtype == b.dtype
            np.testing.assert_allclose(b, a, **tol)


@cuda_only
@pytest.mark.parametrize("case", [c for c in CASES if "casts" not in c.tags], ids=lambda c: c.name)
@settings(SETTINGS, max_examples=5)
@given(data=st.data())
def test_gradcheck_on_cuda(case, data):
    inputs = data.draw(case.inputs(GRADCHECK_SIZE, True), label="inputs")
    args = to_minigan(inputs, device="cuda")
    assert minigan.gradcheck(lambda *xs: case.fn(minigan, *xs), args)


@cuda_only
def test_cuda_surface():
    x = minigan.cuda.FloatTensor([1.0, 2.0])
    assert x.type() == "torch.cuda.FloatTensor" and x.is_cuda
    assert isinstance(x, minigan.cuda.FloatTensor)
    y = minigan.randn(3).cuda()
    assert y.device == "cuda:0" and y.cpu().device == "cpu"
    assert isinstance(minigan.cuda.get_device_name(0), str)
    assert minigan.cuda.memory_allocated() >= 0 and minigan.cuda.max_memory_allocated() >= 0
    minigan.manual_seed(3)
    on_gpu = minigan.randn(5, device="cuda").cpu().tolist()
    minigan.manual_seed(3)
    assert minigan.randn(5).tolist() == on_gpu  # one host generator for every device
    minigan.cuda.synchronize()


@cuda_only
def test_mixing_cuda_and_cpu_names_both_devices():
    with pytest.raises(RuntimeError, match="same device.*cuda:0.*cpu|same device.*cpu.*cuda:0"):
        minigan.randn(2, device="cuda") + minigan.randn(2)


# ----------------------------------------------------------------------------- everywhere
def test_is_available_is_a_bool_and_never_raises():
    assert minigan.cuda.is_available() in (True, False)


def test_asking_for_cuda_without_it_raises_saying_why(monkeypatch):
    monkeypatch.setattr(minigan.backend, "_cuda_status",
                        (False, "CuPy is not importable (monkeypatched for this test)", None))
    monkeypatch.setattr(minigan.backend, "_backends",
                        {k: v for k, v in minigan.backend._backends.items() if k.type != "cuda"})
    with pytest.raises(RuntimeError, match="cuda:0 was asked for, but CUDA is not available: "
                                           "CuPy is not importable"):
        minigan.zeros(2, device="cuda")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        minigan.randn(2).cuda()
