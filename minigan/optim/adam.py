"""Adam (book section 1.3: ``Adam(self.parameters())``; the GANs use ``lr=0.0001``).

PyTorch's update at step t of a parameter p with gradient g::

    g = -g                       if maximize
    g = g + weight_decay * p     (or p = p * (1 - lr * weight_decay) if decoupled, as AdamW)
    exp_avg    = beta1 * exp_avg    + (1 - beta1) * g
    exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * g * g
    max_exp_avg_sq = max(max_exp_avg_sq, exp_avg_sq)      if amsgrad (used below instead)
    p = p - lr / (1 - beta1**t) * exp_avg / (sqrt(exp_avg_sq / (1 - beta2**t)) + eps)

Making it cheap at batch 1
--------------------------
The book trains on one sample per step, so Adam is most of a step (BASELINES.md section 4:
1.1 ms of 1.77 ms). It is memory-bound: its cost is the number of passes over
parameter-sized arrays, plus about a microsecond of Python per array call. Four choices:

1. **Discounted sums instead of averages.** minigan keeps ``exp_sum = exp_avg / (1 - beta1)``
   and ``exp_sum_sq = exp_avg_sq / (1 - beta2)``. Their updates have no factor on the gradient::

       exp_sum    = beta1 * exp_sum    + g          2 passes (3 for exp_avg)
       exp_sum_sq = beta2 * exp_sum_sq + g * g      3 passes (4 for exp_avg_sq)

   and the two factors ``(1 - beta)`` move into the scalars of the last line::

       p += s * exp_sum / (sqrt(exp_sum_sq) + eps / c)                        5 passes
       c = sqrt((1 - beta2) / (1 - beta2**t)),  s = -lr * (1 - beta1) / ((1 - beta1**t) * c)

   Ten passes per parameter instead of twelve, with the same result up to rounding.
   ``state_dict()`` stores the sums themselves, so a resumed run continues bit for bit;
   ``load_state_dict()`` also accepts PyTorch's ``exp_avg`` / ``exp_avg_sq``. If ``betas``
   change between steps (a momentum schedule), the decay factor absorbs the change of scale
   (``beta1 * (1 - old_beta1) / (1 - beta1)``), which keeps PyTorch's recurrence exactly.
2. **In place, into preallocated buffers** (NumPy and CuPy): ufuncs with ``out=`` into the
   state and one scratch array; a step allocates nothing.
3. **Small parameters batched.** Biases and LayerNorm weights (under ``SMALL`` elements) of a
   group share flat state vectors: their gradients are gathered by one ``concatenate`` and all
   of them are updated by ten calls, instead of ten calls each. Big weights are updated where
   they lie; gathering them would cost a copy pass for every pass saved.
4. **Very big parameters in cache-sized blocks** (NumPy). A weight of a million numbers or
   more (the conv GAN's 256 -> 256 kernels have 4.2 million) does not fit in the CPU's
   caches, so each of the ten passes would stream it from memory again. Stepped in blocks of
   ``BLOCK`` numbers instead, the ten passes over a block find it in the cache: 4.8 instead
   of 6.6 ms for 4.2 million numbers (Zen 5). The results are the same bit for bit (each
   number sees the same operations); smaller parameters gain nothing from blocks and pay
   ten calls per block, so they are stepped whole.

benchmarks/bench_adam.py measures this against PyTorch's default and fused Adam.
"""
from __future__ import annotations

import math

from ..tensor import Tensor, tensor
from .optimizer import IN_PLACE_LIBRARIES, Optimizer, cast_like, hyper

SMALL = 8192  # parameters with fewer elements share flat vectors (see point 3 above)
BLOCK = 1 << 17  # numbers per block of a very big parameter's step (point 4): 512 KiB of float32
BLOCKED_FROM = 1 << 20  # parameters with at least this many numbers are stepped in blocks

_MOMENTS = ("exp_sum", "exp_sum_sq", "max_exp_sum_sq")


class Adam(Optimizer):
    """``torch.optim.Adam``: same arguments, defaults, checks and results.

    ``foreach`` and ``fused`` select PyTorch kernels; minigan has one in-place path and only
    records them in the groups. ``small_numel`` (default ``SMALL``) is the size under which
    parameters share flat state vectors; 0 updates every parameter on its own.
    """

    small_numel = SMALL
    blocked_from = BLOCKED_FROM  # point 4 of the module docstring; tests lower it

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, fused=None,
                 decoupled_weight_decay=False):
        lr = hyper(lr, "lr")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        betas = (hyper(betas[0], "betas[0]"), hyper(betas[1], "betas[1]"))
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, foreach=foreach, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        self._plans = {}
        super().__init__(params, defaults)

    def _forget_layout(self):
        self._plans = {}

    # ------------------------------------------------------------------ the step
    def _step_group(self, group):
        plan = self._plans.get(id(group))
        if plan is None or not plan.fits(group):
            plan = self._plans[id(group)] = _GroupPlan(self, group)
        h = _Hyper(group)
        for bucket in plan.buckets:
            bucket.step(self.state, h)
        for p in plan.plain:
            if p.grad is not None:
                _adam_plain(self.state, p, _check_grad(p, p.data.shape), h)

    # ------------------------------------------------------------------ state dicts
    def _import_group(self, saved_group):
        saved_group["betas"] = tuple(saved_group["betas"])
        return saved_group

    def _export_state(self, p, state, group):
        out = {"step": state["step"], "betas": tuple(state["betas"])}
        for key in _MOMENTS:
            if key in state:
                out[key] = tensor(state[key])
        return out

    def _import_state(self, p, saved, group):
        """minigan's sums as saved, or PyTorch's averages (``exp_avg`` ...) divided by (1 - beta)."""
        step = saved.get("step", 0)
        record = {"step": int(float(step.item() if isinstance(step, Tensor) else step))}
        if "exp_sum" in saved:
            record["betas"] = tuple(float(b) for b in saved.get("betas", group["betas"]))
            for key in _MOMENTS:
                if key in saved:
                    record[key] = cast_like(_as_tensor(saved[key]), p)
        elif "exp_avg" in saved:
            beta1, beta2 = record["betas"] = tuple(float(b) for b in group["betas"])
            for key, avg_key, beta in (("exp_sum", "exp_avg", beta1), ("exp_sum_sq", "exp_avg_sq", beta2),
                                       ("max_exp_sum_sq", "max_exp_avg_sq", beta2)):
                if avg_key in saved:
                    t = cast_like(_as_tensor(saved[avg_key]), p)
                    record[key] = Tensor._wrap(t.data / (1 - beta), t.backend)
        else:
            raise ValueError("Adam.load_state_dict: a parameter's state has neither minigan's "
                             f"'exp_sum' nor PyTorch's 'exp_avg' (keys: {sorted(saved)})")
        return record


class AdamW(Adam):
    """``torch.optim.AdamW``: Adam with decoupled weight decay (default 0.01)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, foreach=None, maximize=False, fused=None):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, foreach=foreach, maximize=maximize, fused=fused,
                         decoupled_weight_decay=True)


# ============================================================================== the maths
class _Hyper:
    """One group's options for one step, as plain floats."""

    __slots__ = ("lr", "beta1", "beta2", "betas", "eps", "weight_decay", "amsgrad", "maximize",
                 "decoupled")

    def __init__(self, group):
        self.lr = hyper(group["lr"], "lr")
        self.beta1, self.beta2 = self.betas = tuple(group["betas"])
        self.eps = group["eps"]
        self.weight_decay = group["weight_decay"]
        self.amsgrad = group["amsgrad"]
        self.maximize = group["maximize"]
        self.decoupled = group.get("decoupled_weight_decay", False)


def _decays(previous_betas, h):
    """Decay factors of exp_sum, exp_sum_sq and the rescale of max_exp_sum_sq.

    With unchanged betas they are beta1, beta2 and 1. If the betas changed since the last
    step, the sums were accumulated at scale 1 / (1 - old beta) and are moved to the new one.
    """
    old1, old2 = previous_betas
    d1 = h.beta1 if old1 == h.beta1 else h.beta1 * (1 - old1) / (1 - h.beta1)
    if old2 == h.beta2:
        return d1, h.beta2, 1.0
    rescale = (1 - old2) / (1 - h.beta2)
    return d1, h.beta2 * rescale, rescale


def _scalars(t, h):
    """``eps / c`` and ``s`` of the final line (module docstring), for step ``t``."""
    bias_correction1 = 1 - h.beta1 ** t
    bias_correction2 = 1 - h.beta2 ** t
    c = math.sqrt((1 - h.beta2) / bias_correction2)
    return h.eps / c, -h.lr * (1 - h.beta1) / (bias_correction1 * c)


def _adam_in_place(xp, param, grad, exp_sum, exp_sum_sq, max_sq, tmp, wd_tmp, t, d1, d2, rescale, h):
    """One Adam step on arrays, in place: ten passes (plus weight decay / amsgrad if asked)."""
    negate = h.maximize
    if h.weight_decay != 0:
        if h.decoupled:
            param *= 1 - h.lr * h.weight_decay
        else:  # grad = (+-grad) + weight_decay * param
            xp.multiply(param, h.weight_decay, out=wd_tmp)
            (xp.subtract if negate else xp.add)(wd_tmp, grad, out=wd_tmp)
            grad, negate = wd_tmp, False
    exp_sum *= d1
    if negate:
        exp_sum -= grad
    else:
        exp_sum += grad
    exp_sum_sq *= d2
    xp.multiply(grad, grad, out=tmp)
    exp_sum_sq += tmp
    second = exp_sum_sq
    if h.amsgrad:
        if rescale != 1.0:
            max_sq *= rescale
        xp.maximum(max_sq, exp_sum_sq, out=max_sq)
        second = max_sq
    eps_c, s = _scalars(t, h)
    xp.sqrt(second, out=tmp)
    tmp += eps_c
    xp.divide(exp_sum, tmp, out=tmp)
    tmp *= s
    param += tmp


def _adam_plain(state, p, grad, h):
    """The same step written as expressions, for any array-API library (rebinds the arrays)."""
    xp = p.backend.xp
    record = state.get(p)
    if record is None:
        record = state[p] = {"step": 0, "betas": h.betas}
    for key in _MOMENTS[:3 if h.amsgrad else 2]:
        if key not in record:
            record[key] = Tensor._wrap(xp.zeros_like(p.data), p.backend)
    t = record["step"] + 1
    d1, d2, rescale = _decays(record["betas"], h)
    param = p.data
    if h.maximize:
        grad = -grad
    if h.weight_decay != 0:
        if h.decoupled:
            param = param * (1 - h.lr * h.weight_decay)
        else:
            grad = grad + h.weight_decay * param
    exp_sum = record["exp_sum"].data * d1 + grad
    exp_sum_sq = record["exp_sum_sq"].data * d2 + grad * grad
    record["exp_sum"].data, record["exp_sum_sq"].data = exp_sum, exp_sum_sq
    second = exp_sum_sq
    if h.amsgrad:
        old = record["max_exp_sum_sq"].data
        second = record["max_exp_sum_sq"].data = xp.maximum(old * rescale if rescale != 1.0 else old,
                                                              exp_sum_sq)
    eps_c, s = _scalars(t, h)
    p.data = param + s * (exp_sum / (xp.sqrt(second) + eps_c))
    record["step"], record["betas"] = t, h.betas


# ============================================================================== layout
class _GroupPlan:
    """How one group's parameters are stepped: buckets per (device, dtype), and plain ones.

    Rebuilt whenever a parameter's device, dtype or shape changes (``Module.to``), the group's
    parameter list changes, or ``amsgrad`` is switched: ``fits`` checks this every step.
    """

    def __init__(self, opt, group):
        params, seen = [], set()
        for p in group["params"]:  # a duplicate is updated once
            if id(p) not in seen:
                seen.add(id(p))
                params.append(p)
        self.checks = [(p, p.backend, p.data.shape, p.data.dtype) for p in group["params"]]
        self.amsgrad = group["amsgrad"]
        by_key, self.plain = {}, []
        for p in params:
            if p.backend.xp.name in IN_PLACE_LIBRARIES:
                by_key.setdefault((p.backend, p.data.dtype), []).append(p)
            else:
                self.plain.append(p)
        self.buckets = [_Bucket(opt.state, ps, backend, dtype, _Hyper(group), opt.small_numel,
                                opt.blocked_from)
                        for (backend, dtype), ps in by_key.items()]

    def fits(self, group):
        params = group["params"]
        if len(params) != len(self.checks) or group["amsgrad"] != self.amsgrad:
            return False
        for p, (q, backend, shape, dtype) in zip(params, self.checks):
            if p is not q or p.backend is not backend:
                return False
            data = p.data
            if data.shape != shape or data.dtype != dtype:
                return False
        return True


class _Bucket:
    """The parameters of one group on one device and dtype, with flat state vectors.

    Layout of ``exp_sum`` (and ``exp_sum_sq``, ``max_exp_sum_sq``)::

        [ small params ... | big param 1 | big param 2 | ... ]

    Each parameter's ``state[p]['exp_sum']`` is a Tensor viewing its slice, so the state seen
    by ``state_dict`` and the vectors updated here are the same memory.
    """

    def __init__(self, state, params, backend, dtype, h, small_numel, blocked_from=BLOCKED_FROM):
        xp = self.xp = backend.xp
        self.backend = backend
        self.blocked_from = blocked_from if xp.name == "numpy" else None  # CPU caches only
        small = [p for p in params if p.numel() < small_numel]
        big = [p for p in params if p.numel() >= small_numel]
        sizes = [p.numel() for p in small + big]
        total = sum(sizes)
        n_small = sum(sizes[:len(small)])
        keys = _MOMENTS if (h.amsgrad or any("max_exp_sum_sq" in state.get(p, ()) for p in params)) \
            else _MOMENTS[:2]
        flats = [xp.zeros((total,), dtype=dtype) for _ in keys]
        width = max(max(sizes), n_small)  # scratch for the largest unit: a big param or the small set
        tmp, wd_tmp = xp.empty((width,), dtype=dtype), xp.empty((width,), dtype=dtype)

        records, units, offset = [], [], 0
        for p, n in zip(small + big, sizes):
            if xp.name == "numpy" and not p.data.flags.writeable:  # e.g. a read-only from_numpy
                p.data = p.data.copy()
            shape = p.data.shape
            record = state.get(p)
            if record is None:  # registered in state at its first update, as PyTorch
                record = {"step": 0, "betas": h.betas}
            for key, flat in zip(keys, flats):
                view = flat[offset:offset + n].reshape(shape)
                old = record.get(key)
                if old is not None:
                    xp.copyto(view, _on(old, backend, dtype))
                record[key] = Tensor._wrap(view, backend)
            records.append(record)
            views = [record[k].data for k in keys] + [None] * (3 - len(keys))
            units.append((p, record, shape, *views, tmp[:n].reshape(shape), wd_tmp[:n].reshape(shape)))
            offset += n

        self.small = small
        self.small_units = units[:len(small)]
        self.big_units = units[len(small):]
        self.small_records = records[:len(small)]
        self.small_shapes = [p.data.shape for p in small]
        self.small_uniform = _uniform(self.small_records)
        if small:
            self.flat_moments = [f[:n_small] for f in flats] + [None] * (3 - len(keys))
            self.p_flat = xp.empty((n_small,), dtype=dtype)
            self.g_flat = xp.empty((n_small,), dtype=dtype)
            self.small_tmp, self.small_wd = tmp[:n_small], wd_tmp[:n_small]
            self.p_views, offset = [], 0
            for p, n in zip(small, sizes):
                self.p_views.append(self.p_flat[offset:offset + n].reshape(p.data.shape))
                offset += n

    def step(self, state, h):
        if self.small:
            grads = [p.grad for p in self.small]
            if self.small_uniform and all(g is not None for g in grads):
                self._step_small_together(state, grads, h)
            else:  # some have no gradient, or their step counts differ: one by one
                for unit in self.small_units:
                    self._step_one(state, unit, h)
                self.small_uniform = _uniform(self.small_records)
        for unit in self.big_units:
            self._step_one(state, unit, h)

    def _step_small_together(self, state, grads, h):
        xp = self.xp
        arrays = [g.data for g in grads]
        for a, shape in zip(arrays, self.small_shapes):
            if a.shape != shape:
                raise RuntimeError(f"Adam: gradient of shape {tuple(a.shape)} for a parameter "
                                   f"of shape {tuple(shape)}")
        xp.concatenate(arrays, axis=None, out=self.g_flat)  # axis=None: flattened, one call
        xp.concatenate([p.data for p in self.small], axis=None, out=self.p_flat)
        first = self.small_records[0]
        t = first["step"] + 1
        d1, d2, rescale = _decays(first["betas"], h)
        _adam_in_place(xp, self.p_flat, self.g_flat, *self.flat_moments, self.small_tmp,
                       self.small_wd, t, d1, d2, rescale, h)
        for p, view in zip(self.small, self.p_views):
            xp.copyto(p.data, view)
        betas = h.betas
        for p, record in zip(self.small, self.small_records):
            record["step"], record["betas"] = t, betas
            if t == 1:
                state[p] = record

    def _step_one(self, state, unit, h):
        p, record, shape, exp_sum, exp_sum_sq, max_sq, tmp, wd_tmp = unit
        if p.grad is None:
            return
        t = record["step"] + 1
        d1, d2, rescale = _decays(record["betas"], h)
        arrays = (p.data, _check_grad(p, shape), exp_sum, exp_sum_sq, max_sq, tmp, wd_tmp)
        n = arrays[0].size
        if self.blocked_from is not None and n >= self.blocked_from \
                and arrays[0].flags.c_contiguous and arrays[1].flags.c_contiguous:
            # point 4 of the module docstring: flat views, stepped one cache-sized block at a
            # time (views only of contiguous arrays: a flattened copy of the parameter would
            # take the update away, one of the gradient would cost a pass)
            flat = [None if a is None else a.reshape(-1) for a in arrays]
            for lo in range(0, n, BLOCK):
                block = [None if a is None else a[lo:lo + BLOCK] for a in flat]
                _adam_in_place(self.xp, *block, t, d1, d2, rescale, h)
        else:
            _adam_in_place(self.xp, *arrays, t, d1, d2, rescale, h)
        record["step"], record["betas"] = t, h.betas
        if t == 1:
            state[p] = record


def _uniform(records):
    """Whether the records can be stepped as one: same step count and betas."""
    return all(r["step"] == records[0]["step"] and r["betas"] == records[0]["betas"] for r in records)


def _check_grad(p, shape):
    a = p.grad.data
    if a.shape != shape:
        raise RuntimeError(f"Adam: gradient of shape {tuple(a.shape)} for a parameter of shape "
                           f"{tuple(shape)}")
    return a


def _on(t, backend, dtype):
    """Tensor ``t``'s array on ``backend`` in ``dtype`` (no copy when it already is)."""
    if t.backend is backend and t.data.dtype == dtype:
        return t.data
    return tensor(t, dtype=dtype, device=backend.device).data


def _as_tensor(value):
    return value if isinstance(value, Tensor) else tensor(value)
