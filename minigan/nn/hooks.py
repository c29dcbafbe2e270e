"""Forward hooks of a Module: functions called around its ``forward``, as in PyTorch.

``m.register_forward_pre_hook(fn)``: ``fn(module, args)`` runs before ``forward`` and may
return new positional arguments (a tuple, or one value that becomes a 1-tuple).
``m.register_forward_hook(fn)``: ``fn(module, args, output)`` runs after it and may return a
new output. With ``with_kwargs=True`` the hooks also see the keyword arguments:
``fn(module, args, kwargs)`` returning ``None`` or ``(args, kwargs)``, and ``fn(module, args,
kwargs, output)``. Hooks run in the order registered (``prepend=True`` puts one first); the
returned handle's ``remove()`` takes it away, and it works as a context manager. The backward
hooks (``register_full_backward_hook`` and its pre-hook) are registered here too and set up
by :func:`call`; what they do is in :mod:`minigan.nn.backward_hooks`.

They are how :func:`minigan.nn.utils.spectral_norm` recomputes a weight before each forward,
and how one looks at activations (their scale in each layer of a discriminator) without
editing a model. A module without hooks pays one attribute test per call: the hooks live in
the module's ``__dict__``, created on the first registration.
"""
from __future__ import annotations

from collections import OrderedDict
from itertools import count

from . import backward_hooks as _backward_hooks

_ids = count()

PRE, POST = "_forward_pre_hooks", "_forward_hooks"
BACKWARD_PRE, BACKWARD = "_backward_pre_hooks", "_backward_hooks"
_METHODS = {PRE: "register_forward_pre_hook", POST: "register_forward_hook",
            BACKWARD_PRE: "register_full_backward_pre_hook", BACKWARD: "register_full_backward_hook"}


class RemovableHandle:
    """What the ``register_*_hook`` methods of a Module return."""

    def __init__(self, module, table, key):
        self._module, self._table, self.id = module, table, key

    def remove(self):
        """Unregister the hook (again: nothing happens)."""
        hooks = self._module.__dict__.get(self._table)
        if hooks is not None:
            hooks.pop(self.id, None)
            _update_flag(self._module)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _update_flag(module):
    d = module.__dict__
    d["_has_hooks"] = any(d.get(table) for table in _METHODS)


def register(module, table, hook, prepend, with_kwargs):
    if not callable(hook):
        raise TypeError(f"{type(module).__name__}.{_METHODS[table]}: the hook must be callable, "
                        f"got {type(hook).__name__}")
    hooks = module.__dict__.setdefault(table, OrderedDict())
    key = next(_ids)
    hooks[key] = (hook, bool(with_kwargs))
    if prepend:
        hooks.move_to_end(key, last=False)
    _update_flag(module)
    return RemovableHandle(module, table, key)


def call(module, args, kwargs):
    """``module(*args, **kwargs)`` with its hooks: the pre-hooks, ``forward``, the hooks; with
    backward hooks, identity nodes around the inputs and outputs (PyTorch's order: inputs
    after the forward pre-hooks, outputs after the forward hooks)."""
    d = module.__dict__
    for hook, with_kwargs in list(d.get(PRE, {}).values()):
        if with_kwargs:
            result = hook(module, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError(f"{type(module).__name__}: a forward pre-hook registered "
                                       "with_kwargs=True must return None or a tuple (args, kwargs), "
                                       f"got {type(result).__name__}")
                args, kwargs = result
        else:
            result = hook(module, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
    backward_hook = None
    if d.get(BACKWARD) or d.get(BACKWARD_PRE):  # the hooks as they are now, as in PyTorch
        backward_hook = _backward_hooks.BackwardHook(
            module, [h for h, _ in d.get(BACKWARD, {}).values()],
            [h for h, _ in d.get(BACKWARD_PRE, {}).values()])
        args = backward_hook.setup_input_hook(args)
    output = module.forward(*args, **kwargs)
    for hook, with_kwargs in list(d.get(POST, {}).values()):
        result = hook(module, args, kwargs, output) if with_kwargs else hook(module, args, output)
        if result is not None:
            output = result
    if backward_hook is not None:
        output = backward_hook.setup_output_hook(output)
    return output
