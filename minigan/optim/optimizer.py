"""``Optimizer``: parameter groups, ``zero_grad``, ``step`` and state dicts, as in PyTorch.

An optimiser holds ``param_groups``, a list of dicts, each with a ``'params'`` list and that
group's options (``lr``, ``momentum``, ``betas`` ...; missing options come from the
constructor's defaults), and ``state``, a dict from each parameter to what the optimiser
remembers about it (a momentum buffer, Adam's moments, a step count).

``state_dict()`` has PyTorch's structure: parameters become their position in the groups::

    {'state': {0: {...}, 1: {...}},
     'param_groups': [{'lr': 0.001, ..., 'params': [0, 1]}]}

A step reads ``p.data`` and ``p.grad.data`` and writes ``p.data``: it works on raw arrays
only, so it never records a graph (PyTorch runs its steps under ``no_grad``).

On NumPy and CuPy the updates run in place, through ufuncs with ``out=`` into preallocated
buffers: no array is allocated per step. Any other array-API library (the ``strict`` test
device) takes a plain path that writes the same formulas as expressions and rebinds the
arrays; both paths are tested against PyTorch.
"""
from __future__ import annotations

import warnings

from ..autograd import enable_grad
from ..tensor import Tensor, tensor

# Array libraries whose ufuncs take ``out=`` (and whose arrays support in-place operators).
IN_PLACE_LIBRARIES = ("numpy", "cupy")


class _RequiredParameter:
    """Marks an option that has no default: every group must give it."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


class Scratch:
    """Reusable work arrays, one flat buffer per (device, dtype, slot), grown on demand.

    ``get(backend, dtype, shape, slot)`` returns a view of the first ``prod(shape)`` elements,
    so one buffer serves every parameter and a step allocates nothing.
    """

    def __init__(self):
        self._buffers = {}

    def get(self, backend, dtype, shape, slot=0):
        n = 1
        for s in shape:
            n *= s
        key = (backend, dtype, slot)
        buf = self._buffers.get(key)
        if buf is None or buf.shape[0] < n:
            buf = backend.xp.empty((n,), dtype=dtype)
            self._buffers[key] = buf
        return buf[:n].reshape(shape)


class Optimizer:
    """Base class of optimisers (``torch.optim.Optimizer``).

    Subclasses implement ``_step_group(group)`` and may override ``_export_state`` /
    ``_import_state`` when their internal state differs from what ``state_dict`` shows.
    """

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = {}  # parameter -> dict; Tensors hash by identity
        self.param_groups = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got {params.type()}")
        if isinstance(params, (set, frozenset)):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but "
                            "the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group):
        """Add a group of parameters with its own options (e.g. another learning rate)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but "
                            "the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        else:
            params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is "
                                f"{type(p).__module__}.{type(p).__name__}")
            if p.creator is not None:
                raise ValueError("can't optimize a non-leaf Tensor")
        param_group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError("parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            param_group.setdefault(name, default)
        ids = [id(p) for p in params]
        if len(ids) != len(set(ids)):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; "
                          "each is updated once per occurrence", stacklevel=3)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if seen.intersection(ids):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)
        self._forget_layout()

    # ------------------------------------------------------------------ the training step
    def zero_grad(self, set_to_none=True):
        """Clear every parameter's gradient: drop it (default) or set it to zeros.

        Zeros are new arrays, never written into the old gradient: the engine may share a
        gradient array with another tensor.
        """
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.detach_().zero_()

    def step(self, closure=None):
        """Update every parameter that has a gradient; ``closure`` re-evaluates the loss."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._step_group(group)
        return loss

    def _step_group(self, group):
        raise NotImplementedError(f"{type(self).__name__} defines no update")

    def _forget_layout(self):
        """Called when groups or state are replaced; subclasses drop cached buffers here."""

    # ------------------------------------------------------------------ state dicts
    def state_dict(self):
        """A snapshot of the state and options, with parameters replaced by their index.

        Tensors in it are copies, so later steps don't change a state dict already taken.
        """
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        owner = {id(p): g for g in self.param_groups for p in g["params"]}
        state = {}
        for p, s in self.state.items():
            if id(p) in index:
                state[index[id(p)]] = self._export_state(p, s, owner[id(p)])
        state = dict(sorted(state.items()))
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore state and options saved by ``state_dict`` (from this or a same-shaped optimiser)."""
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError("load_state_dict: expected a dict with 'state' and 'param_groups' "
                             "(as returned by Optimizer.state_dict())")
        groups = self.param_groups
        saved_groups = state_dict["param_groups"]
        if len(groups) != len(saved_groups):
            raise ValueError(f"loaded state dict has a different number of parameter groups "
                             f"({len(saved_groups)}) than the optimizer ({len(groups)})")
        for i, (g, sg) in enumerate(zip(groups, saved_groups)):
            if len(g["params"]) != len(sg["params"]):
                raise ValueError(f"loaded state dict contains a parameter group that doesn't match "
                                 f"the size of optimizer's group: group {i} has "
                                 f"{len(sg['params'])} parameters there and {len(g['params'])} here")
        by_index = {}
        for g, sg in zip(groups, saved_groups):
            for p, i in zip(g["params"], sg["params"]):
                by_index[int(i)] = p
        new_groups = []
        for g, sg in zip(groups, saved_groups):
            ng = self._import_group(dict(sg))
            ng["params"] = g["params"]
            new_groups.append(ng)
        owner = {id(p): g for g in new_groups for p in g["params"]}
        state = {}
        for key, saved in state_dict["state"].items():
            key = int(key)  # a checkpoint written as JSON elsewhere may carry string keys
            if key not in by_index:
                raise ValueError(f"load_state_dict: state for parameter {key}, which no group holds")
            p = by_index[key]
            _check_state_shapes(key, p, saved)
            state[p] = self._import_state(p, dict(saved), owner[id(p)])
        self.param_groups = new_groups
        self.state = state
        self._forget_layout()

    def _import_group(self, saved_group):
        """A saved group's options as this optimiser keeps them (hook for subclasses)."""
        return saved_group

    def _export_state(self, p, state, group):
        """One parameter's state as ``state_dict`` shows it (tensors copied)."""
        return {k: (tensor(v) if isinstance(v, Tensor) else v) for k, v in state.items()}

    def _import_state(self, p, saved, group):
        """One parameter's saved state, with floating tensors moved to ``p``'s device and dtype."""
        return {k: cast_like(v, p) if isinstance(v, Tensor) else v for k, v in saved.items()}

    # ------------------------------------------------------------------ printing
    def __repr__(self):
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


def _check_state_shapes(key, p, saved):
    """A moment of another shape than its parameter is refused on loading, not at the next
    step (0-d entries such as a step count are left alone)."""
    for k, v in saved.items():
        shape = getattr(v, "shape", ())
        if len(shape) > 0 and tuple(shape) != tuple(p.shape):
            raise ValueError(f"load_state_dict: state {k!r} of parameter {key} has shape "
                             f"{tuple(shape)}, but the parameter has shape {tuple(p.shape)}")


def cast_like(value, p):
    """A copy of tensor ``value`` on ``p``'s device, in ``p``'s dtype when both are floating."""
    dtype = p.dtype if (value.is_floating_point() and p.is_floating_point()) else value.dtype
    return tensor(value, dtype=dtype, device=p.device)


def hyper(value, name):
    """An option as a Python float (PyTorch also accepts a one-element tensor)."""
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ValueError(f"Tensor {name} must be 1-element")
        return float(value.item())
    return value
