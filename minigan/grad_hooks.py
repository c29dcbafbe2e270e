"""``Tensor.register_hook``: a function called with a tensor's gradient during backward.

``h.register_hook(fn)``: when backward has summed the whole gradient of ``h``, it calls
``fn(grad)``; a returned tensor (of the same shape) replaces the gradient - for the rest of
the walk if ``h`` was computed, in ``h.grad`` if ``h`` is a leaf. Several hooks run in the
order they were registered; ``handle.remove()`` takes one away. Used to look at gradients as
they flow (their norms in a GAN's discriminator, say) or to change them (clipping one layer's).

The hooks live here, keyed by the tensor's id and dropped when the tensor goes away, not on
the tensor: making a tensor costs nothing more. While any tensor has a hook, ``backward``
takes the general graph walk (``run_backward``) instead of the fast one, which never looks
for hooks.
"""
from __future__ import annotations

import weakref

HOOKS = {}  # id(tensor) -> (weakref to the tensor, [hook, ...]); empty: no tensor has a hook


class RemovableHandle:
    """What ``register_hook`` returns: ``remove()`` unregisters that hook."""

    def __init__(self, key, hook):
        self._key, self._hook = key, hook

    def remove(self):
        entry = HOOKS.get(self._key)
        if entry is not None:
            hooks = entry[1]
            for i, h in enumerate(hooks):
                if h is self._hook:
                    del hooks[i]
                    break
            if not hooks:
                del HOOKS[self._key]


def register(tensor, hook):
    if not tensor.requires_grad:
        raise RuntimeError("register_hook: cannot register a hook on a tensor that doesn't require "
                           "gradient")
    if not callable(hook):
        raise TypeError(f"register_hook: the hook must be callable, got {type(hook).__name__}")
    key = id(tensor)
    entry = HOOKS.get(key)
    if entry is None:
        # the callback drops the entry when the tensor dies, before its id can be reused
        entry = HOOKS[key] = (weakref.ref(tensor, lambda _, key=key: HOOKS.pop(key, None)), [])
    entry[1].append(hook)
    return RemovableHandle(key, hook)


def apply(tensor, grad, create_graph):
    """``grad`` (an array, or a Tensor when ``create_graph``) after ``tensor``'s hooks."""
    entry = HOOKS.get(id(tensor))
    if entry is None:
        return grad
    from .tensor import Tensor
    g = grad if create_graph else Tensor._wrap(grad, tensor.backend)
    for hook in list(entry[1]):
        new = hook(g)
        if new is not None:
            if not isinstance(new, Tensor) or tuple(new.shape) != tuple(g.shape):
                raise RuntimeError(f"register_hook: a hook returned "
                                   f"{type(new).__name__ if not isinstance(new, Tensor) else tuple(new.shape)} "
                                   f"for a gradient of shape {tuple(g.shape)}; it must return None or "
                                   f"a tensor of that shape")
            g = new
    return g if create_graph else g.data
