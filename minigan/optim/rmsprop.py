"""RMSprop (beyond the book: WGAN trains its critic and generator with ``RMSprop(lr=5e-5)``).

PyTorch's update, for each parameter ``p`` with gradient ``g`` (``alpha`` the smoothing
constant, 0.99 by default)::

    g = -g                                           if maximize
    g = g + weight_decay * p                         if weight_decay != 0
    square_avg = alpha * square_avg + (1 - alpha) * g * g
    grad_avg   = lerp(grad_avg, g, 1 - alpha)        if centered
    avg = sqrt(square_avg - grad_avg**2) + eps       if centered, else sqrt(square_avg) + eps
    buf = momentum * buf + g / avg;  p = p - lr * buf        if momentum > 0
    p = p - lr * g / avg                                     otherwise

As in sgd.py, NumPy and CuPy run it in place through ufuncs with ``out=`` (nothing is
allocated per step after the first), and any other array-API library (the ``strict`` test
device, the stand-in for CuPy) takes a plain path with the same formulas as expressions.
The state has PyTorch's names: ``step``, ``square_avg``, ``momentum_buffer`` (momentum > 0)
and ``grad_avg`` (centered), so ``state_dict()`` looks like PyTorch's and a PyTorch state
dict converted to minigan tensors loads.
"""
from __future__ import annotations

from ..tensor import Tensor
from .optimizer import IN_PLACE_LIBRARIES, Optimizer, Scratch, cast_like, hyper

__all__ = ["RMSprop"]

_BUFFERS = ("square_avg", "momentum_buffer", "grad_avg")


class RMSprop(Optimizer):
    """``torch.optim.RMSprop``: same arguments, defaults, checks and update.

    ``capturable``, ``foreach`` and ``differentiable`` select PyTorch kernels; minigan has one
    path and only records them in the groups.
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False, differentiable=False):
        lr = hyper(lr, "lr")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)
        self._scratch = Scratch()

    def _step_group(self, group):
        lr = hyper(group["lr"], "lr")
        options = (lr, group["alpha"], group["eps"], group["weight_decay"], group["momentum"],
                   group["centered"], group["maximize"])
        for p in group["params"]:
            g = p.grad
            if g is None:
                continue
            if tuple(g.shape) != tuple(p.data.shape):
                raise RuntimeError(f"RMSprop: gradient of shape {tuple(g.shape)} for a parameter of "
                                   f"shape {tuple(p.data.shape)}")
            state = self._state_of(p, group)
            state["step"] += 1
            update = _rmsprop_in_place if p.backend.xp.name in IN_PLACE_LIBRARIES else _rmsprop_plain
            update(self._scratch, p, g.data, state, *options)

    def _state_of(self, p, group):
        """The parameter's state, made on its first step (zeros like p) and re-cast if the
        parameter has moved to another device or dtype since (``Module.to``)."""
        state = self.state.get(p)
        if not state:
            xp = p.backend.xp
            state = self.state[p] = {"step": 0}
            names = ["square_avg"] + (["momentum_buffer"] if group["momentum"] > 0 else []) \
                + (["grad_avg"] if group["centered"] else [])
            for name in names:
                state[name] = Tensor._wrap(xp.zeros_like(p.data), p.backend)
            return state
        for name in _BUFFERS:
            buf = state.get(name)
            if buf is not None and (buf.backend is not p.backend or buf.dtype != p.dtype):
                state[name] = cast_like(buf, p)
        return state

    def _import_state(self, p, saved, group):
        """Buffers moved to ``p``'s device and dtype; ``step`` (a tensor in PyTorch) as an int."""
        record = super()._import_state(p, saved, group)
        step = record.get("step", 0)
        record["step"] = int(float(step.item() if isinstance(step, Tensor) else step))
        return record


def _rmsprop_in_place(scratch, p, g, state, lr, alpha, eps, weight_decay, momentum, centered, maximize):
    """The update through ufuncs with ``out=`` into the state and two scratch arrays."""
    xp, backend, param = p.backend.xp, p.backend, p.data
    if xp.name == "numpy" and not param.flags.writeable:  # e.g. from_numpy of a read-only array
        p.data = param = param.copy()
    shape, dtype = param.shape, param.dtype
    d = g
    if weight_decay != 0:  # d = (+-g) + weight_decay * p
        d = xp.multiply(param, weight_decay, out=scratch.get(backend, dtype, shape, 0))
        (xp.subtract if maximize else xp.add)(d, g, out=d)
    elif maximize:
        d = xp.negative(g, out=scratch.get(backend, dtype, shape, 0))
    tmp = scratch.get(backend, dtype, shape, 1)
    square_avg = state["square_avg"].data
    square_avg *= alpha
    xp.multiply(d, d, out=tmp)
    tmp *= 1 - alpha
    square_avg += tmp
    if centered:
        grad_avg = state["grad_avg"].data
        weight = 1 - alpha
        xp.subtract(d, grad_avg, out=tmp)  # lerp as PyTorch computes it, from the nearer end
        if weight < 0.5:
            tmp *= weight
            grad_avg += tmp
        else:
            tmp *= 1 - weight
            xp.subtract(d, tmp, out=grad_avg)
        avg = xp.multiply(grad_avg, grad_avg, out=tmp)
        xp.subtract(square_avg, avg, out=avg)
        xp.sqrt(avg, out=avg)
    else:
        avg = xp.sqrt(square_avg, out=tmp)
    avg += eps
    step = xp.divide(d, avg, out=avg)  # g / avg
    if momentum > 0:
        buf = state["momentum_buffer"].data
        buf *= momentum
        buf += step
        step = xp.multiply(buf, -lr, out=step)
    else:
        step *= -lr
    param += step


def _rmsprop_plain(scratch, p, g, state, lr, alpha, eps, weight_decay, momentum, centered, maximize):
    """The same update written as expressions, for any array-API library."""
    xp, param = p.backend.xp, p.data
    d = -g if maximize else g
    if weight_decay != 0:
        d = d + weight_decay * param
    sq = state["square_avg"]
    sq.data = sq.data * alpha + (d * d) * (1 - alpha)
    if centered:
        ga = state["grad_avg"]
        weight = 1 - alpha
        ga.data = ga.data + (d - ga.data) * weight if weight < 0.5 else d - (d - ga.data) * (1 - weight)
        avg = xp.sqrt(sq.data - ga.data * ga.data) + eps
    else:
        avg = xp.sqrt(sq.data) + eps
    if momentum > 0:
        buf = state["momentum_buffer"]
        buf.data = buf.data * momentum + d / avg
        p.data = param + buf.data * (-lr)
    else:
        p.data = param + (d / avg) * (-lr)
