"""``gradcheck`` and ``gradgradcheck``: compare autograd with float64 finite differences.

Usable in anyone's test suite, as ``torch.autograd.gradcheck`` is::

    x = minigan.randn(3, 4, dtype=minigan.float64, requires_grad=True)
    assert minigan.gradcheck(lambda x: (x * x).sum(dim=1), (x,))

Two modes:

* full (default): the whole Jacobian of every output with respect to every input that
  requires a gradient, column by column with central differences
  ``(f(x + eps e_j) - f(x - eps e_j)) / 2 eps``, row by row with backward passes.
* ``fast_mode=True``: random directional derivatives ``v^T J u`` (one backward, two forward
  passes per input), for conv-sized inputs where a full Jacobian is too costly.

On a mismatch the error names the output, the input, the element index, both values and the
tolerances (the habit of Chainer's ``gradient_check``).
"""
from __future__ import annotations

import numpy as np

from . import backend as B
from .autograd import grad as autograd_grad
from .tensor import Tensor


class GradcheckError(RuntimeError):
    """Raised by gradcheck when analytic and numerical gradients disagree."""


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _outputs(fn, inputs):
    out = _as_tuple(fn(*inputs))
    for i, o in enumerate(out):
        if not isinstance(o, Tensor):
            raise TypeError(f"gradcheck: output {i} of fn is a {type(o).__name__}, not a Tensor")
    return out


def _host(t: Tensor) -> np.ndarray:
    return np.asarray(t.backend.xp.to_numpy(t.data), dtype=np.float64)


def _check_inputs(inputs):
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad; pass tensors made with requires_grad=True")
    for i in checked:
        if inputs[i].dtype != B.float64:
            raise TypeError(f"gradcheck: input {i} is {inputs[i].dtype.name}; finite differences "
                            "need float64 inputs (use .double() or dtype=minigan.float64)")
    return checked


def _perturbed(x: Tensor, original, flat_index: int, delta: float):
    """Set one element of ``x.data`` to its ``original`` value plus ``delta`` (slice assignment
    only). Starting from the original each time leaves no rounding residue behind."""
    idx = np.unravel_index(flat_index, x.shape) if x.ndim else ()
    idx = tuple(int(i) for i in idx)
    x.data[idx] = original[idx] + delta


def _fail(message, raise_exception):
    if raise_exception:
        raise GradcheckError(message)
    return False


def _close(numeric, analytic, atol, rtol):
    return np.abs(numeric - analytic) <= atol + rtol * np.abs(numeric)


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, fast_mode=False, raise_exception=True,
              seed=0):
    """True if autograd's gradients of ``fn`` at ``inputs`` match central finite differences.

    ``inputs`` is a tensor or a tuple; every float64 tensor with ``requires_grad`` is checked.
    """
    inputs = _as_tuple(inputs)
    checked = _check_inputs(inputs)
    originals = {i: inputs[i].data for i in checked}
    for i in checked:  # own, writable copies: we perturb them in place
        x = inputs[i]
        x.data = x.backend.xp.astype(x.data, x.data.dtype, copy=True)
    try:
        if fast_mode:
            return _fast_check(fn, inputs, checked, eps, atol, rtol, raise_exception, seed)
        return _full_check(fn, inputs, checked, eps, atol, rtol, raise_exception)
    finally:  # the caller's tensors get their own arrays back, untouched
        for i, data in originals.items():
            inputs[i].data = data


def _numerical_jacobian(fn, inputs, i, eps, n_out_total):
    x = inputs[i]
    jac = np.zeros((n_out_total, x.numel()))
    # no no_grad() here: fn may itself call autograd (as gradgradcheck's function does)
    original = x.backend.xp.astype(x.data, x.data.dtype, copy=True)
    for j in range(x.numel()):
        _perturbed(x, original, j, eps)
        plus = np.concatenate([_host(o).ravel() for o in _outputs(fn, inputs)])
        _perturbed(x, original, j, -eps)
        minus = np.concatenate([_host(o).ravel() for o in _outputs(fn, inputs)])
        _perturbed(x, original, j, 0.0)
        jac[:, j] = (plus - minus) / (2 * eps)
    return jac


def _analytical_jacobians(fn, inputs, checked):
    outs = _outputs(fn, inputs)
    sizes = [o.numel() for o in outs]
    jacs = {i: np.zeros((sum(sizes), inputs[i].numel())) for i in checked}
    row = 0
    wanted = [inputs[i] for i in checked]
    for k, o in enumerate(outs):
        if not o.requires_grad:
            row += sizes[k]
            continue
        xp = o.backend.xp
        for r in range(sizes[k]):
            seeds = []
            for kk, oo in enumerate(outs):
                g = np.zeros(oo.shape, dtype=np.float64)
                if kk == k:
                    g.reshape(-1)[r] = 1.0
                seeds.append(Tensor._wrap(xp.from_numpy(g), oo.backend))
            pairs = [(oo, s) for oo, s in zip(outs, seeds) if oo.requires_grad]
            grads = autograd_grad([p[0] for p in pairs], wanted, [p[1] for p in pairs],
                                  retain_graph=True, allow_unused=True)
            for i, g in zip(checked, grads):
                if g is not None:
                    if g.dtype != inputs[i].dtype or g.shape != inputs[i].shape:
                        raise GradcheckError(
                            f"gradcheck: gradient of input {i} has shape {g.shape} and dtype "
                            f"{g.dtype.name}; the input has {inputs[i].shape} and {inputs[i].dtype.name}")
                    jacs[i][row + r] = _host(g).ravel()
        row += sizes[k]
    return jacs, outs


def _locate(flat, shape):
    return tuple(int(i) for i in np.unravel_index(flat, shape)) if shape else ()


def _full_check(fn, inputs, checked, eps, atol, rtol, raise_exception):
    analytic, outs = _analytical_jacobians(fn, inputs, checked)
    n_out = sum(o.numel() for o in outs)
    bounds = np.cumsum([0] + [o.numel() for o in outs])
    for i in checked:
        numeric = _numerical_jacobian(fn, inputs, i, eps, n_out)
        ok = _close(numeric, analytic[i], atol, rtol)
        if not ok.all():
            r, c = np.argwhere(~ok)[0]
            k = int(np.searchsorted(bounds, r, side="right") - 1)
            return _fail(
                f"gradcheck: Jacobian mismatch for output {k} (shape {outs[k].shape}) with respect to "
                f"input {i} (shape {inputs[i].shape}):\n"
                f"  d output{list(_locate(r - bounds[k], outs[k].shape))} / d input{list(_locate(c, inputs[i].shape))}: "
                f"numerical {numeric[r, c]:.10g}, analytical {analytic[i][r, c]:.10g}\n"
                f"  tolerance: |numerical - analytical| <= atol {atol} + rtol {rtol} * |numerical|; "
                f"{int((~ok).sum())} of {ok.size} entries differ", raise_exception)
    return True


def _fast_check(fn, inputs, checked, eps, atol, rtol, raise_exception, seed):
    rng = np.random.default_rng(seed)
    outs = _outputs(fn, inputs)
    vs = [rng.standard_normal(o.shape) for o in outs]
    seeds = [Tensor._wrap(o.backend.xp.from_numpy(v), o.backend) for o, v in zip(outs, vs)]
    pairs = [(o, s) for o, s in zip(outs, seeds) if o.requires_grad]
    grads = autograd_grad([p[0] for p in pairs], [inputs[i] for i in checked], [p[1] for p in pairs],
                          allow_unused=True)

    def weighted_sum():
        return sum(float((_host(o) * v).sum()) for o, v in zip(_outputs(fn, inputs), vs))

    for i, g in zip(checked, grads):
        x = inputs[i]
        u = rng.standard_normal(x.shape)
        u /= np.linalg.norm(u) or 1.0
        analytic = 0.0 if g is None else float((_host(g) * u).sum())
        u_dev = x.backend.xp.from_numpy(u)
        original = x.data
        x.data = original + eps * u_dev
        plus = weighted_sum()
        x.data = original - eps * u_dev
        minus = weighted_sum()
        x.data = original
        numeric = (plus - minus) / (2 * eps)
        if not _close(numeric, analytic, atol, rtol):
            return _fail(
                f"gradcheck (fast mode): directional derivative v^T J u mismatch for input {i} "
                f"(shape {x.shape}): numerical {numeric:.10g}, analytical {analytic:.10g}; tolerance "
                f"atol {atol} + rtol {rtol} * |numerical|", raise_exception)
    return True


def gradgradcheck(fn, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3, fast_mode=False,
                  raise_exception=True, seed=0):
    """Check second derivatives: gradcheck of ``x, v -> d(v . fn(x))/dx`` (create_graph=True)."""
    inputs = _as_tuple(inputs)
    checked = _check_inputs(inputs)
    outs = _outputs(fn, inputs)
    rng = np.random.default_rng(seed + 1)
    if grad_outputs is None:
        grad_outputs = [Tensor._wrap(o.backend.xp.from_numpy(rng.standard_normal(o.shape)), o.backend)
                        for o in outs]
    grad_outputs = [g.detach().requires_grad_(True) for g in _as_tuple(grad_outputs)]
    n_in = len(inputs)

    def first_derivatives(*args):
        xs, gs = args[:n_in], args[n_in:]
        ys = _outputs(fn, xs)
        pairs = [(y, g) for y, g in zip(ys, gs) if y.requires_grad]
        grads = autograd_grad([p[0] for p in pairs], [xs[i] for i in checked], [p[1] for p in pairs],
                              create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(first_derivatives, tuple(inputs) + tuple(grad_outputs), eps=eps, atol=atol,
                     rtol=rtol, fast_mode=fast_mode, raise_exception=raise_exception, seed=seed)
