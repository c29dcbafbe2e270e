"""Forward hooks of a Module: functions called around its ``forward``, as in PyTorch.

``m.register_forward_pre_hook(fn)``: ``fn(module, args)`` runs before ``forward`` and may
return new positional arguments (a tuple, or one value that becomes a 1-tuple).
``m.register_forward_hook(fn)``: ``fn(module, args, output)`` runs after it and may return a
new output. With ``with_kwargs=True`` the hooks also see the keyword arguments:
``fn(module, args, kwargs)`` returning ``None`` or ``(args, kwargs)``, and ``fn(module, args,
kwargs, output)``. Hooks run in the order registered (``prepend=True`` puts one first); the
returned handle's ``remove()`` takes it away, and it works as a context manager.

They are how :func:`minigan.nn.utils.spectral_norm` recomputes a weight before each forward,
and how one looks at activations (their scale in each layer of a discriminator) without
editing a model. A module without hooks pays one attribute test per call: the hooks live in
the module's ``__dict__``, created on the first registration.
"""
from __future__ import annotations

from collections import OrderedDict
from itertools import count

_ids = count()

PRE, POST = "_forward_pre_hooks", "_forward_hooks"


class RemovableHandle:
    """What ``register_forward_pre_hook`` / ``register_forward_hook`` return."""

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
    d["_has_hooks"] = bool(d.get(PRE)) or bool(d.get(POST))


def register(module, table, hook, prepend, with_kwargs):
    if not callable(hook):
        raise TypeError(f"{type(module).__name__}.register_{'forward_pre' if table == PRE else 'forward'}"
                        f"_hook: the hook must be callable, got {type(hook).__name__}")
    hooks = module.__dict__.setdefault(table, OrderedDict())
    key = next(_ids)
    hooks[key] = (hook, bool(with_kwargs))
    if prepend:
        hooks.move_to_end(key, last=False)
    _update_flag(module)
    return RemovableHandle(module, table, key)


def call(module, args, kwargs):
    """``module(*args, **kwargs)`` with its hooks: the pre-hooks, ``forward``, the hooks."""
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
    output = module.forward(*args, **kwargs)
    for hook, with_kwargs in list(d.get(POST, {}).values()):
        result = hook(module, args, kwargs, output) if with_kwargs else hook(module, args, output)
        if result is not None:
            output = result
    return output
