"""Backward hooks of a Module: functions called with the gradients of its outputs and inputs.

``m.register_full_backward_pre_hook(fn)``: ``fn(module, grad_output)`` runs when the gradients
of the module's outputs are ready, and may return a tuple that replaces them (what flows into
the module). ``m.register_full_backward_hook(fn)``: ``fn(module, grad_input, grad_output)``
runs when the gradients of its positional Tensor arguments are computed, and may return a
tuple that replaces them (what flows on to earlier layers). Both are PyTorch's (torch 2.x
``torch.utils.hooks.BackwardHook``), down to when a hook is skipped and what the tuples hold:
``grad_input`` has one entry per positional argument: ``None`` for what is not a Tensor,
zeros for a Tensor that got no gradient (or needs none), and all ``None`` when no argument
needs a gradient - then the hooks run as soon as the outputs' gradients are ready, with a
warning. ``grad_output`` has one entry per output (a single Tensor output gives a 1-tuple),
``None`` for one that is not a Tensor or got no gradient.

How it is done: identity nodes around the module, made per call, and only for a module with
such hooks (``Module.__call__`` goes through :func:`minigan.nn.hooks.call` only then). A
minigan Function has one output, so an identity on n tensors is two kinds of node::

    x1 ... xn  --Gather-->  marker (a 0-d zero)  --Pick(i)-->  y_i (x_i's numbers, unchanged)

Each ``Pick`` hands its gradient to the shared :class:`BackwardHook` and sends a zero on to
the marker; ``Gather`` has a lower generation than every ``Pick``, so both graph walks (newest
generation first) run it after all of them, once, with every gradient collected: there the
hooks are called and their results sent on to ``x1 ... xn``. On the outputs' side the
``Gather`` calls the pre-hooks, on the inputs' side the hooks. (:func:`minigan.unbind` is the
same trick with one input: its ``Slice`` is the ``Pick`` here.) With ``create_graph=True`` the
gradients are Tensors and pass through as they are, so second derivatives see plain identities.

One difference from PyTorch: ``minigan.autograd.grad(y, wanted)`` walks every node it can
reach (short of ``wanted``), where PyTorch runs only the nodes on a path to ``wanted``; so
with ``grad`` of a loss with respect to parameters only, the hook of a module whose input
requires a gradient that nobody asked for runs here (with that gradient), not in PyTorch.
``Tensor.register_hook`` hooks behave the same way (minigan/grad_hooks.py).
"""
from __future__ import annotations

import warnings

from ..autograd import Function, is_grad_enabled
from ..functional.unbind import Slice
from ..tensor import Tensor


class BackwardHook:
    """The state one call of a hooked module shares between its nodes (torch's BackwardHook):
    the hooks as they were at the call, the gradients collected so far and ``grad_outputs``,
    set on the outputs' side and used, then cleared, on the inputs' side."""

    def __init__(self, module, hooks, pre_hooks):
        self.module, self.hooks, self.pre_hooks = module, hooks, pre_hooks
        self.grad_outputs = None
        self.n_inputs = self.n_outputs = -1
        self.input_index = self.output_index = None  # positions of the wrapped tensors

    # ---------------------------------------------------------------- forward: the wrapping
    def setup_input_hook(self, args):
        self.n_inputs = len(args)
        # what a Tensor argument that gets no gradient is given instead: zeros, as in torch
        self.input_zeros = [(i, a.data.shape, a.data.dtype, a.backend)
                            for i, a in enumerate(args) if isinstance(a, Tensor)]
        args, self.input_index = self._wrap(args, "input")
        return args

    def setup_output_hook(self, result):
        if not isinstance(result, (Tensor, tuple)):
            warnings.warn("For backward hooks to be called, module output should be a Tensor or a "
                          f"tuple of Tensors but received {type(result)}", stacklevel=3)
        single = not isinstance(result, tuple)
        outputs = (result,) if single else result
        self.n_outputs = len(outputs)
        outputs, self.output_index = self._wrap(outputs, "output")
        return outputs[0] if single else outputs

    def _wrap(self, values, side):
        """``values`` with every Tensor that requires a gradient passed through Gather/Pick;
        and their positions (None when there is none, or no graph is recorded)."""
        index = [i for i, v in enumerate(values) if isinstance(v, Tensor) and v.requires_grad]
        if not index or not is_grad_enabled():
            return values, None
        gather = _Gather(self, side, index)
        marker = gather(*[values[i] for i in index])
        new = list(values)
        for slot, i in enumerate(index):
            new[i] = _Pick(gather, slot, values[i].data)(marker)
        return (tuple(new) if type(values) is tuple else type(values)(*new)), index  # namedtuples too

    # ---------------------------------------------------------------- backward: the hooks
    def _name(self):
        return type(self.module).__name__

    def outputs_ready(self, grads):
        """The outputs' gradients (one per wrapped output, None where none arrived): the
        pre-hooks may replace them; with no input to wait for, the hooks run here too."""
        grad_outputs = _pack(self.output_index, grads, self.n_outputs)
        for hook in self.pre_hooks:
            result = hook(self.module, grad_outputs)
            if result is None:
                continue
            _check_length(result, len(grad_outputs), f"{self._name()}: backward pre hook",
                          "grad_output")
            grad_outputs = tuple(result)
        self.grad_outputs = grad_outputs
        if self.input_index is None:  # no input needs a gradient: torch calls the hooks now
            if self.hooks:
                warnings.warn("Full backward hook is firing when gradients are computed with respect "
                              "to module outputs since no inputs require gradients (as in PyTorch: "
                              f"{self._name()}'s grad_input is all None)", stacklevel=2)
            grad_inputs = (None,) * self.n_inputs
            for hook in self.hooks:
                result = hook(self.module, grad_inputs, grad_outputs)
                if result is not None and not (isinstance(result, (tuple, list))
                                               and all(g is None for g in result)):
                    raise RuntimeError(f"{self._name()}: backward hook for Modules where no input "
                                       "requires gradient should always return None or None for "
                                       "all gradients")
            self.grad_outputs = None
        return [grad_outputs[i] for i in self.output_index]

    def inputs_ready(self, grads):
        """The inputs' gradients: the hooks see them with ``grad_outputs`` and may replace
        them. Skipped, as in torch, when no gradient came through the outputs first."""
        if self.grad_outputs is None:
            return grads
        grad_inputs = list(_pack(self.input_index, grads, self.n_inputs))
        for i, shape, dtype, backend in self.input_zeros:  # torch's Function fills in zeros
            if grad_inputs[i] is None:
                grad_inputs[i] = Tensor._wrap(backend.xp.zeros(shape, dtype=dtype), backend)
        grad_inputs = tuple(grad_inputs)
        for hook in self.hooks:
            result = hook(self.module, grad_inputs, self.grad_outputs)
            if result is None:
                continue
            _check_length(result, len(grad_inputs), f"{self._name()}: backward hook", "grad_input")
            grad_inputs = tuple(result)
        self.grad_outputs = None
        return [grad_inputs[i] for i in self.input_index]


def _pack(index, values, size):
    """``values`` at positions ``index`` of a ``size``-tuple, None elsewhere (torch's _pack_with_none)."""
    res = [None] * size
    for i, v in zip(index, values):
        res[i] = v
    return tuple(res)


def _check_length(result, expected, who, what):
    if not isinstance(result, (tuple, list)):
        raise TypeError(f"{who} must return None or a tuple of {expected} {what} entries, got "
                        f"{type(result).__name__}")
    if len(result) != expected:
        raise RuntimeError(f"{who} returned an invalid number of {what}, got {len(result)}, "
                           f"but expected {expected}")


class _Gather(Function):
    """The tensors one side of a hooked module wraps, as one node; its output is a 0-d zero.
    Its backward runs once all the Picks have handed in their gradients (see module doc)."""

    def __init__(self, state, side, index):
        self.state, self.side, self.index = state, side, index
        self.grads = [None] * len(index)

    def forward(self, *arrays):
        return self.xp.zeros((), dtype=arrays[0].dtype)

    def backward(self, F, gy):
        grads, self.grads = self.grads, [None] * len(self.grads)
        array_mode = F.is_array_mode
        if array_mode:  # hooks see Tensors, as in PyTorch
            grads = [None if g is None else Tensor._wrap(g, x.backend) for g, x in zip(grads, self.inputs)]
        state = self.state
        if self.side == "output":
            new = state.outputs_ready(grads)
        else:
            new = state.inputs_ready(grads)
        out = []
        for g, x, i in zip(new, self.inputs, self.index):
            if g is not None:
                if not isinstance(g, Tensor) or tuple(g.shape) != tuple(x.shape) \
                        or g.backend is not x.backend:
                    got = (f"{tuple(g.shape)} on {g.device}" if isinstance(g, Tensor)
                           else type(g).__name__)
                    raise RuntimeError(
                        f"{state._name()}: a backward {'pre ' if self.side == 'output' else ''}hook "
                        f"returned {got} for the gradient of {self.side} {i}, of shape "
                        f"{tuple(x.shape)} on {x.device}; it must be None or a tensor like that")
                if array_mode:
                    g = g.data
            out.append(g)
        return tuple(out)


class _Pick(Slice):
    """Tensor ``slot`` of a Gather, unchanged (the same array): what the module (inputs' side)
    or its caller (outputs' side) uses. It is :func:`minigan.unbind`'s ``Slice``: backward
    hands the gradient to the Gather (``gather.grads[slot]``) and sends a zero on."""
