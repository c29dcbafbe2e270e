"""Helpers for test suites: compare minigan with PyTorch, and hypothesis strategies.

Use them in your own tests the way you would use ``torch.testing``. The central helper runs
the *same* function on both frameworks (tinygrad's habit): the function gets the framework
module as its first argument, then the inputs as that framework's tensors::

    import numpy as np
    from minigan.testing import assert_matches_torch

    def test_sigmoid_of_product():
        rng = np.random.default_rng(0)
        x, w = rng.standard_normal((4, 3)), rng.standard_normal((3, 2))
        # runs fn(minigan, x_mg, w_mg) and fn(torch, x_pt, w_pt), compares the outputs, then
        # backpropagates one random upstream gradient on both and compares x.grad and w.grad
        assert_matches_torch(lambda F, x, w: F.sigmoid(x @ w).sum(dim=1), x, w)

With hypothesis, the strategies here draw shapes, broadcastable shape pairs and arrays kept
away from an op's kinks (``away_from=[0.0]`` for relu, ``distinct=True`` for max ties)::

    from hypothesis import given, settings
    from minigan.testing import arrays, broadcastable_pairs

    @settings(max_examples=25, deadline=None)
    @given(data=st.data())
    def test_mul(data):
        sa, sb = data.draw(broadcastable_pairs())
        assert_matches_torch(lambda F, a, b: a * b, data.draw(arrays(sa)), data.draw(arrays(sb)))

PyTorch and hypothesis are imported only when a helper needs them. A missing PyTorch raises
:class:`TorchUnavailableError` (an ``ImportError``) saying how to install it; it never skips
a test by itself.
"""
from __future__ import annotations

import numpy as np

import minigan

__all__ = [
    "TorchUnavailableError", "import_torch", "assert_matches_torch", "assert_close", "compare_tensors",
    "to_torch", "from_torch", "default_tolerances",
    "shapes", "broadcastable_shapes", "broadcastable_pairs", "arrays", "tensors",
]


# ============================================================================== PyTorch
class TorchUnavailableError(ImportError):
    """PyTorch is needed for a comparison but is not importable."""


def import_torch():
    """Return the ``torch`` module, or raise :class:`TorchUnavailableError` saying why."""
    try:
        import torch
    except Exception as e:  # ImportError, or a broken install raising anything else
        raise TorchUnavailableError(
            "minigan.testing: PyTorch is needed to compare with it but is not importable "
            f"({type(e).__name__}: {e}); install the CPU build with `pip install torch`") from e
    return torch


def default_tolerances(dtype):
    """``(rtol, atol)`` for a dtype name: tight for float64, float32-sized for float32."""
    name = _dtype_name(dtype)
    if name == "float64":
        return 1e-7, 1e-10
    if name == "float32":
        return 1e-4, 1e-5
    return 0.0, 0.0  # integers and booleans must match exactly


def _dtype_name(dtype) -> str:
    """'float32' for minigan.float32, torch.float32, np.float32 or the string itself."""
    if isinstance(dtype, str):
        return dtype.rsplit(".", 1)[-1]
    if isinstance(dtype, np.dtype):
        return dtype.name
    text = str(dtype)
    if text.startswith("torch."):
        return text[len("torch."):]
    return np.dtype(dtype).name


def to_torch(t, requires_grad=None):
    """A CPU ``torch.Tensor`` copy of a minigan Tensor (its ``requires_grad`` kept by default)."""
    torch = import_torch()
    host = np.array(t.detach().numpy(), copy=True)
    out = torch.from_numpy(host)
    rg = t.requires_grad if requires_grad is None else requires_grad
    return out.requires_grad_(True) if rg else out


def from_torch(t, device="cpu", requires_grad=None):
    """A minigan Tensor copy of a ``torch.Tensor`` on ``device``."""
    host = t.detach().cpu().numpy()
    rg = t.requires_grad if requires_grad is None else requires_grad
    return minigan.tensor(host, device=device, requires_grad=bool(rg))


def _host(t) -> np.ndarray:
    """A host NumPy array of a minigan Tensor (any device), a torch tensor, an array or number."""
    if isinstance(t, minigan.Tensor):
        return np.asarray(t.detach().cpu().numpy())
    if type(t).__module__.startswith("torch"):
        return t.detach().cpu().numpy()
    return np.asarray(t)


def _differences(a: np.ndarray, b: np.ndarray, rtol, atol, equal_nan=True):
    """(how many elements differ, largest difference, its index) for same-shape host arrays."""
    if a.dtype.kind in "fc" or b.dtype.kind in "fc":
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        same_nan = np.isnan(a64) & np.isnan(b64) & equal_nan
        same_inf = np.isinf(a64) & (a64 == b64)
        with np.errstate(invalid="ignore"):  # inf - inf: handled by same_inf
            diff = np.where(same_nan | same_inf, 0.0, np.abs(a64 - b64))
        diff = np.where(np.isnan(diff), np.inf, diff)
        bad = diff > atol + rtol * np.abs(np.where(np.isfinite(b64), b64, 0.0))
    else:
        diff = np.abs(a.astype(np.int64) - b.astype(np.int64)).astype(np.float64)
        bad = a != b
    if diff.size == 0:
        return 0, 0.0, ()
    flat = int(np.argmax(np.where(bad, diff, -1.0))) if bad.any() else int(np.argmax(diff))
    index = tuple(int(i) for i in np.unravel_index(flat, diff.shape)) if diff.ndim else ()
    return int(bad.sum()), float(diff.reshape(-1)[flat]), index


def compare_tensors(minigan_t, torch_t, rtol=None, atol=None, name="tensor", check_dtype=True):
    """Assert a minigan tensor equals a torch tensor: shape, dtype name, then values.

    ``rtol``/``atol`` default to :func:`default_tolerances` of the torch tensor's dtype. The
    message names ``name``, both shapes, the largest difference and where it is.
    """
    if not isinstance(minigan_t, minigan.Tensor):
        raise AssertionError(f"{name}: minigan gave a {type(minigan_t).__name__}, not a Tensor")
    m_shape, t_shape = tuple(minigan_t.shape), tuple(torch_t.shape)
    if m_shape != t_shape:
        raise AssertionError(f"{name}: shape differs: minigan {m_shape}, torch {t_shape}")
    m_dtype, t_dtype = _dtype_name(minigan_t.dtype), _dtype_name(torch_t.dtype)
    if check_dtype and m_dtype != t_dtype:
        raise AssertionError(f"{name}: dtype differs: minigan {m_dtype}, torch {t_dtype} "
                             f"(shape {m_shape})")
    d_rtol, d_atol = default_tolerances(t_dtype)
    rtol = d_rtol if rtol is None else rtol
    atol = d_atol if atol is None else atol
    a, b = _host(minigan_t), _host(torch_t)
    n_bad, worst, index = _differences(a, b, rtol, atol)
    if n_bad:
        raise AssertionError(
            f"{name}: values differ (shape {m_shape}, dtype {m_dtype}): max abs diff {worst:.3g} "
            f"at index {list(index)}: minigan {a[index].item()!r}, torch {b[index].item()!r} "
            f"(rtol {rtol}, atol {atol}; {n_bad} of {a.size} elements differ)")


# ============================================================================== assert_close
_CLOSE_TOLERANCES = {"float32": (1.3e-6, 1e-5), "float64": (1e-7, 1e-7)}  # torch.testing's


def assert_close(actual, expected, *, rtol=None, atol=None, equal_nan=False, check_dtype=True,
                 msg=None):
    """``torch.testing.assert_close`` for minigan: ``|actual - expected| <= atol + rtol *
    |expected|`` everywhere, with the same shape (and dtype, when both are tensors or arrays).

    Tolerances default by dtype as PyTorch's (float32: rtol 1.3e-6, atol 1e-5; float64: 1e-7,
    1e-7; integers and bools exact), for the less precise of the two. Equal infinities are
    close; NaN is close to NaN only with ``equal_nan=True``. Either side may be a minigan
    Tensor on any device, a NumPy array, a torch tensor or a Python number or list; a number
    or list is compared without the dtype check. The error says how many elements differ and
    where the largest difference is, with both values; ``msg`` is put in front of it.
    """
    if (rtol is None) != (atol is None):
        raise ValueError("assert_close: give both rtol and atol, or neither")
    a, b = _host(actual), _host(expected)
    prefix = f"{msg}: " if msg else ""
    if a.shape != b.shape:
        raise AssertionError(f"{prefix}shapes differ: actual {a.shape}, expected {b.shape}")
    plain = any(isinstance(x, (int, float, bool, list, tuple)) for x in (actual, expected))
    if check_dtype and not plain and a.dtype != b.dtype:
        raise AssertionError(f"{prefix}dtypes differ: actual {a.dtype.name}, expected {b.dtype.name}")
    if rtol is None:
        names = {a.dtype.name, b.dtype.name}
        rtol, atol = next((_CLOSE_TOLERANCES[n] for n in ("float32", "float64") if n in names),
                          (0.0, 0.0))
    n_bad, worst, index = _differences(a, b, rtol, atol, equal_nan=equal_nan)
    if n_bad:
        raise AssertionError(
            f"{prefix}not close: {n_bad} of {a.size} elements differ (shape {a.shape}, dtype "
            f"{a.dtype.name}); the largest difference {worst:.6g} at index {list(index)}: actual "
            f"{a[index].item()!r}, expected {b[index].item()!r} (allowed: atol {atol} + rtol "
            f"{rtol} * |expected|)")


def _as_outputs(out):
    if isinstance(out, (tuple, list)):
        return tuple(out)
    return (out,)


def assert_matches_torch(fn, *arrays, torch_fn=None, dtype="float64", atol=None, rtol=None,
                         grad=True, seed=0, device="cpu"):
    """Run ``fn`` on minigan and on PyTorch with the same inputs; compare outputs and gradients.

    ``fn(minigan, *minigan_tensors)`` and ``(torch_fn or fn)(torch, *torch_tensors)`` are
    called; each may return a tensor or a tuple/list of tensors. Inputs are NumPy arrays:
    floating ones become ``dtype`` tensors that require grad (``dtype=None`` keeps each
    array's dtype), integer and boolean ones become constant tensors; anything else (a
    Python number, a tuple) is passed to ``fn`` as it is. minigan tensors are made on
    ``device`` (``"cpu"``, ``"strict"`` or ``"cuda"``); PyTorch always runs on its CPU.

    Checks, in order: the number of outputs; each output's shape, dtype name and values;
    then, if ``grad``, the SAME random upstream gradient (seeded by ``seed``) is
    backpropagated from every floating output on both sides and every input's gradient is
    compared (shape, dtype and values; a gradient that is None on one side must be all
    zeros on the other). Tolerances default to rtol 1e-7 / atol 1e-10 for float64 and rtol
    1e-4 / atol 1e-5 for float32. Returns the minigan outputs (a tuple).
    """
    torch = import_torch()
    m_inputs, t_inputs = [], []
    for a in arrays:
        if isinstance(a, (np.ndarray, np.generic)):
            a = np.asarray(a)
            if a.dtype.kind == "f":
                host = a.astype(dtype) if dtype is not None else a
                m_inputs.append(minigan.tensor(host, device=device, requires_grad=True))
                t_inputs.append(torch.tensor(host, requires_grad=True))
            elif a.dtype.kind in "biu":
                m_inputs.append(minigan.tensor(a, device=device))
                t_inputs.append(torch.tensor(a))
            else:
                raise TypeError(f"assert_matches_torch: unsupported input dtype {a.dtype}")
        else:
            m_inputs.append(a)
            t_inputs.append(a)

    m_out = _as_outputs(fn(minigan, *m_inputs))
    t_out = _as_outputs((torch_fn or fn)(torch, *t_inputs))
    if len(m_out) != len(t_out):
        raise AssertionError(f"number of outputs differs: minigan {len(m_out)}, torch {len(t_out)}")
    for k, (m, t) in enumerate(zip(m_out, t_out)):
        if isinstance(t, torch.Tensor) and isinstance(m, minigan.Tensor) and m.device != device:
            raise AssertionError(f"output {k}: on device {m.device}, expected {device}")
        compare_tensors(m, t, rtol=rtol, atol=atol, name=f"output {k}")
    if not grad:
        return m_out

    rng = np.random.default_rng(seed)
    m_roots, m_grads, t_roots, t_grads = [], [], [], []
    for k, (m, t) in enumerate(zip(m_out, t_out)):
        if m.requires_grad != t.requires_grad:
            raise AssertionError(f"output {k}: requires_grad differs: minigan {m.requires_grad}, "
                                 f"torch {t.requires_grad}")
        if not t.requires_grad:
            continue
        g = rng.standard_normal(tuple(t.shape))
        m_roots.append(m)
        m_grads.append(minigan.tensor(g, dtype=m.dtype, device=m.device))
        t_roots.append(t)
        t_grads.append(torch.tensor(g, dtype=t.dtype))
    if not m_roots:
        return m_out
    minigan.autograd.backward(m_roots, m_grads)
    torch.autograd.backward(t_roots, t_grads)
    for i, (m, t) in enumerate(zip(m_inputs, t_inputs)):
        if not isinstance(t, torch.Tensor) or not t.requires_grad:
            continue
        mg, tg = m.grad, t.grad
        what = f"gradient of input {i} (shape {tuple(t.shape)})"
        if mg is None and tg is None:
            continue
        if mg is None:
            if np.any(_host(tg) != 0):
                raise AssertionError(f"{what}: minigan gave None, torch a nonzero gradient")
            continue
        if tg is None:
            if np.any(_host(mg) != 0):
                raise AssertionError(f"{what}: torch gave None (input unused), minigan a nonzero gradient")
            continue
        if mg.device != m.device:
            raise AssertionError(f"{what}: on device {mg.device}, the input on {m.device}")
        compare_tensors(mg, tg, rtol=rtol, atol=atol, name=what)
    return m_out


# ============================================================================== hypothesis
def _st():
    try:
        from hypothesis import strategies as st
        from hypothesis.extra import numpy as hnp
    except ImportError as e:  # pragma: no cover - hypothesis is a dev dependency
        raise ImportError("minigan.testing's strategies need hypothesis: pip install hypothesis") from e
    return st, hnp


def shapes(min_dims=0, max_dims=4, min_side=1, max_side=5):
    """Strategy: a shape tuple with ``min_dims..max_dims`` axes of ``min_side..max_side``."""
    st, hnp = _st()
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def broadcastable_shapes(shape, min_dims=0, max_dims=None, min_side=1, max_side=5):
    """Strategy: a shape that broadcasts with ``shape`` (it may add leading axes or 1s)."""
    st, hnp = _st()
    if max_dims is None:
        max_dims = max(len(shape), min_dims)
    return hnp.broadcastable_shapes(tuple(shape), min_dims=min_dims, max_dims=max_dims,
                                    min_side=min_side, max_side=max_side)


def broadcastable_pairs(min_dims=0, max_dims=4, min_side=1, max_side=5):
    """Strategy: two shapes ``(a, b)`` that broadcast together (either may be the larger)."""
    st, hnp = _st()
    return hnp.mutually_broadcastable_shapes(
        num_shapes=2, min_dims=min_dims, max_dims=max_dims, min_side=min_side,
        max_side=max_side).map(lambda s: tuple(s.input_shapes))


def _push_away(values, points, margin):
    """Move every value closer than ``margin`` to one of ``points`` out to that distance."""
    for p in points:
        d = values - p
        near = np.abs(d) < margin
        side = np.where(d >= 0, 1.0, -1.0)
        values = np.where(near, p + side * margin, values)
    return values


def arrays(shape, dtype="float64", elements=None, away_from=None, min_magnitude=None,
           min_value=-2.0, max_value=2.0, margin=0.05, distinct=False):
    """Strategy: a NumPy array of ``shape`` (a tuple or a strategy of tuples).

    Floating arrays draw finite values in ``[min_value, max_value]`` unless ``elements`` (a
    hypothesis strategy of numbers) is given. To keep inputs off an op's kinks:

    * ``away_from=[0.0]`` moves values within ``margin`` of a point out to ``margin`` (relu,
      abs, leaky_relu at 0; clamp at its bounds);
    * ``min_magnitude=m`` keeps ``|x| >= m`` (division, log of abs);
    * ``distinct=True`` makes all elements differ by at least
      ``(max_value - min_value) / (2 * max(100, size))`` (max, min and amax without ties),
      far above gradcheck's eps.

    Integer dtypes draw from ``[min_value, max_value]`` as integers; ``bool`` draws booleans.
    """
    st, hnp = _st()
    dt = np.dtype(dtype)
    shape_st = shape if hasattr(shape, "example") else st.just(tuple(shape))

    @st.composite
    def draw_array(draw):
        shp = draw(shape_st)
        n = int(np.prod(shp, dtype=np.int64))
        if dt.kind == "b":
            return draw(hnp.arrays(dt, shp, elements=elements or st.booleans()))
        if dt.kind in "iu":
            el = elements or st.integers(int(np.ceil(min_value)), int(np.floor(max_value)))
            return draw(hnp.arrays(dt, shp, elements=el))
        if distinct:
            steps = max(100, n)
            ints = draw(hnp.arrays(np.int64, shp, elements=st.integers(-steps, steps), unique=True))
            lo, hi = float(min_value), float(max_value)
            values = lo + (ints + steps) * ((hi - lo) / (2 * steps))
        else:
            el = elements if elements is not None else st.floats(
                float(min_value), float(max_value), allow_nan=False, allow_infinity=False,
                allow_subnormal=False, width=64)
            values = np.asarray(draw(hnp.arrays(np.float64, shp, elements=el)), dtype=np.float64)
        if min_magnitude is not None:
            values = np.where(values >= 0, np.maximum(values, min_magnitude),
                              np.minimum(values, -min_magnitude))
        if away_from is not None:
            points = [away_from] if np.isscalar(away_from) else list(away_from)
            values = _push_away(values, points, margin)
        return np.asarray(values, dtype=dt)

    return draw_array()


def tensors(shape=None, dtype="float64", device="cpu", requires_grad=None, **array_kwargs):
    """Strategy: a minigan Tensor with values from :func:`arrays` (shape drawn by default).

    Floating tensors require grad unless ``requires_grad=False``; ``array_kwargs`` go to
    :func:`arrays` (``away_from``, ``min_magnitude``, ``distinct`` ...).
    """
    if shape is None:
        shape = shapes()
    dt = np.dtype(dtype)
    rg = dt.kind == "f" if requires_grad is None else requires_grad
    return arrays(shape, dtype=dt, **array_kwargs).map(
        lambda a: minigan.tensor(a, device=device, requires_grad=rg))
