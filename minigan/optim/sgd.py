"""Stochastic gradient descent (book section 1.2: ``SGD(self.parameters(), lr=0.01)``).

PyTorch's update, for each parameter ``p`` with gradient ``g``::

    d = -g if maximize else g
    d = d + weight_decay * p                              if weight_decay != 0
    buf = d (first step)  or  momentum * buf + (1 - dampening) * d     if momentum != 0
    d = d + momentum * buf  if nesterov  else  buf                     if momentum != 0
    p = p - lr * d

Plain SGD (the book's) is two array passes per parameter: ``tmp = -lr * g`` and ``p += tmp``.
"""
from __future__ import annotations

from ..tensor import Tensor
from .optimizer import IN_PLACE_LIBRARIES, Optimizer, Scratch, cast_like, hyper


#: Parameters up to this many elements take the inline update of the book's plain SGD.
_SMALL = 4096


class SGD(Optimizer):
    """``torch.optim.SGD``: same arguments, defaults, checks and update."""

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                 *, maximize=False, foreach=None, fused=None):
        lr = hyper(lr, "lr")
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        # foreach / fused pick PyTorch kernels; minigan has one in-place path and records them only.
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach, fused=fused)
        super().__init__(params, defaults)
        self._scratch = Scratch()

    def _step_group(self, group):
        lr = hyper(group["lr"], "lr")
        momentum, dampening = group["momentum"], group["dampening"]
        weight_decay, nesterov, maximize = group["weight_decay"], group["nesterov"], group["maximize"]
        plain = momentum == 0 and weight_decay == 0 and not maximize
        for p in group["params"]:
            g = p.grad
            if g is None:
                continue
            g, param = g.data, p.data
            if g.shape != param.shape:
                raise RuntimeError(f"SGD: gradient of shape {tuple(g.shape)} for a parameter of "
                                   f"shape {tuple(param.shape)}")
            if plain and g.size <= _SMALL and param.dtype == g.dtype and p.backend.xp.name == "numpy" \
                    and param.flags.writeable:
                # the book's SGD on a small parameter, inline: p += (-lr) * g. The temporary
                # is cheaper than a scratch view here; the numbers are those of _sgd_in_place.
                param += g * -lr
                continue
            state = None
            if momentum != 0:
                state = self.state.setdefault(p, {})
                buf = state.get("momentum_buffer")
                if buf is not None and (buf.backend is not p.backend or buf.dtype != p.dtype):
                    state["momentum_buffer"] = cast_like(buf, p)  # the model was moved (Module.to)
            update = _sgd_in_place if p.backend.xp.name in IN_PLACE_LIBRARIES else _sgd_plain
            update(self._scratch, p, g, state, lr, momentum, dampening, weight_decay,
                   nesterov, maximize)


def _sgd_in_place(scratch, p, g, state, lr, momentum, dampening, weight_decay, nesterov, maximize):
    """The update through ufuncs with ``out=``: no allocation after the first step.

    ``d`` is the direction so far; ``owned`` says whether it is a scratch array that may be
    overwritten (the gradient and the momentum buffer must not be).
    """
    xp, backend, param = p.backend.xp, p.backend, p.data
    if xp.name == "numpy" and not param.flags.writeable:  # e.g. from_numpy of a read-only array
        p.data = param = param.copy()
    shape, dtype = param.shape, param.dtype
    d, owned = g, False
    if weight_decay != 0:  # d = (+-g) + weight_decay * p
        d, owned = scratch.get(backend, dtype, shape, 0), True
        xp.multiply(param, weight_decay, out=d)
        (xp.subtract if maximize else xp.add)(d, g, out=d)
    elif maximize:
        d, owned = xp.negative(g, out=scratch.get(backend, dtype, shape, 0)), True
    if momentum != 0:
        buf = state.get("momentum_buffer")
        if buf is None:  # the first step: the buffer is the direction itself
            buf = Tensor._wrap(d.copy(), backend)
            state["momentum_buffer"] = buf
            buf = buf.data
        else:
            buf = buf.data
            buf *= momentum
            if dampening == 0:
                buf += d
            else:  # nesterov excludes dampening, so d is not needed after this
                if owned:
                    d *= 1 - dampening
                else:
                    d, owned = xp.multiply(g, 1 - dampening, out=scratch.get(backend, dtype, shape, 0)), True
                buf += d
        if nesterov:  # d + momentum * buf
            step = xp.multiply(buf, momentum, out=scratch.get(backend, dtype, shape, 1))
            step += d
            d, owned = step, True
        else:
            d, owned = buf, False
    if owned:
        d *= -lr
    else:
        d = xp.multiply(d, -lr, out=scratch.get(backend, dtype, shape, 0))
    param += d


def _sgd_plain(scratch, p, g, state, lr, momentum, dampening, weight_decay, nesterov, maximize):
    """The same update written as expressions, for any array-API library."""
    param = p.data
    d = -g if maximize else g
    if weight_decay != 0:
        d = d + weight_decay * param
    if momentum != 0:
        buf = state.get("momentum_buffer")
        if buf is None:
            state["momentum_buffer"] = buf = Tensor._wrap(p.backend.xp.asarray(d, copy=True), p.backend)
        else:
            buf.data = buf.data * momentum + (1 - dampening) * d
        d = d + momentum * buf.data if nesterov else buf.data
    p.data = param + (-lr) * d
