"""Devices: the strict test device, CUDA detection, ``.to()`` and friends, MINIGAN_DEVICE."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import minigan
from minigan import backend as B

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_python(code, **env):
    """Run ``code`` in a fresh interpreter (env variables are read at import time)."""
    full_env = dict(os.environ, PYTHONPATH=ROOT, **env)
    for key, value in env.items():
        if value is None:
            full_env.pop(key)
    return subprocess.run([sys.executable, "-c", code], env=full_env, capture_output=True,
                          text=True, timeout=120)


# ----------------------------------------------------------------------------- the device object
def test_device_object():
    d = minigan.device("cuda:1")
    assert (d.type, d.index, str(d)) == ("cuda", 1, "cuda:1")
    assert minigan.device("cuda") == minigan.device("cuda", 0) == "cuda:0"
    assert minigan.device("cpu") == "cpu" and minigan.device("cpu") != "strict"
    assert minigan.device(minigan.device("strict")) == "strict"
    assert repr(minigan.device("cpu")) == "device(type='cpu')"
    assert len({minigan.device("cpu"), minigan.device("cpu")}) == 1
    with pytest.raises(ValueError, match="unknown device type 'tpu'"):
        minigan.device("tpu")
    with pytest.raises(ValueError, match="bad device index"):
        minigan.device("cuda:x")
    with pytest.raises(TypeError):
        minigan.device(3)


# ----------------------------------------------------------------------------- strict device
def test_strict_tensors_hold_array_api_strict_arrays():
    import array_api_strict
    x = minigan.randn(3, device="strict")
    assert x.device == "strict" and x.device.type == "strict"
    assert type(x.data).__module__.startswith("array_api_strict")
    assert isinstance(x.numpy(), np.ndarray)
    y = (x * 2 + 1).exp().sum()
    assert y.device == "strict"
    with pytest.raises(Exception):  # a NumPy-only idiom the strict arrays refuse
        x.data.ravel()
    assert array_api_strict.isdtype(x.data.dtype, "real floating")


def test_creation_on_strict():
    for t in (minigan.zeros(2, 3, device="strict"), minigan.ones(2, device="strict"),
              minigan.full((2,), 3.0, device="strict"), minigan.arange(4, device="strict"),
              minigan.rand(3, device="strict"), minigan.tensor([1.0, 2.0], device="strict"),
              minigan.zeros_like(minigan.zeros(2, device="strict")),
              minigan.randint(0, 5, (3,), device="strict")):
        assert t.device == "strict"
    assert minigan.tensor(np.arange(3.0), device="strict").tolist() == [0.0, 1.0, 2.0]


@pytest.mark.parametrize("source, target", [("cpu", "strict"), ("strict", "cpu")])
def test_to_moves_between_devices_and_gradients_flow_back(source, target):
    x = minigan.tensor([1.0, 2.0, 3.0], device=source, requires_grad=True)
    y = x.to(target)
    assert y.device == target and x.device == source
    np.testing.assert_array_equal(y.detach().numpy(), [1.0, 2.0, 3.0])
    (y * y).sum().backward()
    assert x.grad.device == source
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0, 6.0])


def test_to_device_double_backward():
    x = minigan.tensor([1.0, 2.0], dtype=minigan.float64, device="strict", requires_grad=True)
    assert minigan.gradgradcheck(lambda t: (t.to("cpu") ** 3).to("strict"), (x,))


def test_to_variants():
    x = minigan.tensor([1.5, -2.5])
    assert x.to("cpu") is x and x.to(minigan.float32) is x
    assert x.to(minigan.float64).dtype == minigan.float64
    y = x.to("strict", minigan.float64)
    assert y.device == "strict" and y.dtype == minigan.float64
    z = x.to(device="strict", dtype=minigan.float64)
    assert (z.device, z.dtype) == (y.device, y.dtype)
    w = minigan.zeros(1, dtype=minigan.float64, device="strict")
    assert x.to(w).device == "strict" and x.to(w).dtype == minigan.float64
    assert y.cpu().device == "cpu" and y.cpu().tolist() == [1.5, -2.5]
    assert x.to(minigan.device("strict")).device == "strict"
    assert minigan.tensor(y).device == "strict"  # tensor(tensor) stays where it is
    assert minigan.tensor(y, device="cpu").device == "cpu"


def test_default_device():
    minigan.set_default_device("strict")
    assert minigan.get_default_device() == "strict"
    assert minigan.zeros(2).device == "strict" and minigan.randn(2).device == "strict"
    assert minigan.tensor([1.0]).device == "strict"
    minigan.set_default_device("cpu")
    assert minigan.zeros(2).device == "cpu"


def test_minigan_device_environment_variable():
    run = run_python("import minigan; print(minigan.zeros(2).device, minigan.get_default_device())",
                     MINIGAN_DEVICE="strict")
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["strict", "strict"]
    run = run_python("import minigan; print(minigan.zeros(2).device)", MINIGAN_DEVICE=None)
    assert run.stdout.strip() == "cpu"


# ----------------------------------------------------------------------------- CUDA detection
def test_cuda_is_available_returns_a_bool():
    assert isinstance(minigan.cuda.is_available(), bool)
    assert isinstance(minigan.cuda.unavailable_reason(), str)
    assert (minigan.cuda.unavailable_reason() == "") == minigan.cuda.is_available()
    assert isinstance(minigan.cuda.device_count(), int)


def test_cuda_disabled_by_environment_says_why():
    code = ("import minigan\n"
            "print(minigan.cuda.is_available(), minigan.cuda.device_count())\n"
            "try:\n    minigan.zeros(1, device='cuda')\n"
            "except RuntimeError as e:\n    print('RuntimeError:', e)\n")
    run = run_python(code, MINIGAN_DISABLE_CUDA="1")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "False 0"
    assert lines[1].startswith("RuntimeError: device cuda:0 was asked for, but CUDA is not available")
    assert "MINIGAN_DISABLE_CUDA" in lines[1]


def test_cuda_unavailable_raises_with_the_reason(monkeypatch):
    monkeypatch.setattr(B, "_cuda_status", (False, "no GPU in this test (monkeypatched)", None))
    monkeypatch.setattr(B, "_backends", {k: v for k, v in B._backends.items() if k.type != "cuda"})
    assert minigan.cuda.is_available() is False
    assert minigan.cuda.device_count() == 0
    for make in (lambda: minigan.zeros(1, device="cuda"), lambda: minigan.randn(2).cuda(),
                 lambda: minigan.randn(2).to("cuda:0"), lambda: minigan.cuda.FloatTensor([1.0]),
                 lambda: minigan.set_default_device("cuda"), lambda: minigan.cuda.get_device_name(0),
                 lambda: minigan.set_default_tensor_type(minigan.cuda.FloatTensor)):
        with pytest.raises(RuntimeError, match="CUDA is not available.*monkeypatched"):
            make()
    assert minigan.get_default_device() == "cpu"  # a failed switch leaves the default alone
    minigan.cuda.synchronize()  # harmless without CUDA
    minigan.cuda.empty_cache()


def test_cuda_detection_never_raises_and_is_cached():
    status = B.cuda_status()
    assert status is B.cuda_status()
    ok, reason, module = status
    assert isinstance(ok, bool) and isinstance(reason, str)
    assert (module is not None) == ok


def test_the_seed_gradient_of_backward_on_a_backend_without_read_only_arrays():
    # loss.backward() seeds the walk with ArrayOps.scalar_one: a shared read-only 0-d one on
    # NumPy; CuPy's arrays have .flags but no writeable flag to set (its Flags object has
    # read-only c_contiguous, f_contiguous and owndata only), so there it is a fresh one
    from minigan.array_ops import ArrayOps

    class CupyLikeFlags:
        __slots__ = ()          # no attribute can be set, as on cupy's Flags
        c_contiguous = f_contiguous = owndata = True

    class CupyLikeArray:
        flags = CupyLikeFlags()

    class CupyLikeNamespace:
        name = "cupy"
        sum_floats = staticmethod(sum)

        def ones(self, shape, dtype=None):
            return CupyLikeArray()

    ops = ArrayOps(CupyLikeNamespace())
    first, second = ops.scalar_one(minigan.float32), ops.scalar_one(minigan.float32)
    assert isinstance(first, CupyLikeArray) and first is not second
    numpy_one = minigan.backend.get_backend("cpu").ops.scalar_one(minigan.float32)
    assert not numpy_one.flags.writeable


def test_the_cuda_tests_pass_on_a_numpy_stand_in_for_cupy():
    """The ``cuda`` tests, run where no GPU is, on tests/fake_cupy: NumPy arrays that refuse
    to mix with host arrays and have CuPy's flags. It tests the device plumbing (every array of
    a cuda tensor stays on the device, data moves only through asarray/asnumpy), not CUDA; it
    found that every ``loss.backward()`` on CuPy would have raised. A real GPU runs the same
    tests for real (benchmarks/gpu_check.sh)."""
    if minigan.cuda.is_available():
        pytest.skip("a CUDA GPU is here: the cuda tests run on it, not on the stand-in")
    root = os.path.join(os.path.dirname(__file__), "..")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [os.path.join(root, "tests", "fake_cupy")] + os.environ.get("PYTHONPATH", "").split(os.pathsep)))
    env.pop("MINIGAN_DISABLE_CUDA", None)
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-m", "cuda", "-p", "no:cacheprovider",
                           "tests"], cwd=root, env=env, capture_output=True, text=True, timeout=900)
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in summary and "skipped" not in summary and "failed" not in summary, summary
