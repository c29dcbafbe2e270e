"""Containers and shape layers: Sequential, ModuleList, ModuleDict, Identity, Flatten, Unflatten.

Every network of the book is an ``nn.Sequential`` of layers held by a ``Module`` subclass
(book section 1.2, notebook 03: ``self.model = nn.Sequential(nn.Linear(784, 200), ...)``).
Children are named "0", "1", ... as in PyTorch, so parameter names and state_dict keys
(``model.0.weight``) are PyTorch's.
"""
from __future__ import annotations

import operator
from collections import OrderedDict

from ..functional.shape import reshape
from .module import Module

_module_call = Module.__call__

__all__ = ["Sequential", "ModuleList", "ModuleDict", "Identity", "Flatten", "Unflatten"]


def _check_module(container, module):
    if not isinstance(module, Module):
        raise TypeError(f"{container}: {type(module).__name__} is not a Module subclass")
    return module


def _position(container, idx, n):
    """A Python index (negatives allowed) as 0..n-1, or IndexError as PyTorch words it."""
    idx = operator.index(idx)
    if not -n <= idx < n:
        raise IndexError(f"{container}: index {idx} is out of range")
    return idx % n


def _number(container, modules):
    """Register ``modules`` under the names "0", "1", ... (consecutive after a deletion or an
    insertion, as PyTorch keeps them)."""
    container._modules.clear()
    for i, m in enumerate(modules):
        container._modules[str(i)] = m


class _ModuleSequence(Module):
    """What Sequential and ModuleList share: children named "0", "1", ... and list-like
    access to them. ``_kind`` (each subclass's) names the container in errors."""

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def _slice(self, idx):
        return type(self)(list(self._modules.values())[idx])

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return self._slice(idx)
        keys = list(self._modules)
        return self._modules[keys[_position(self._kind, idx, len(keys))]]

    def __setitem__(self, idx, module):
        keys = list(self._modules)
        self._modules[keys[_position(self._kind, idx, len(keys))]] = _check_module(self._kind, module)

    def __delitem__(self, idx):
        keys = list(self._modules)
        if isinstance(idx, slice):
            for key in keys[idx]:
                del self._modules[key]
        else:
            del self._modules[keys[_position(self._kind, idx, len(keys))]]
        _number(self, list(self._modules.values()))  # consecutive names again, as PyTorch

    def append(self, module):
        self.add_module(str(len(self)), _check_module(self._kind, module))
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self


class Sequential(_ModuleSequence):
    """Apply the child modules in order: ``Sequential(a, b, c)(x) == c(b(a(x)))``.

    Built from modules (named "0", "1", ...) or from one ``OrderedDict`` of names to modules.
    Supports ``len``, iteration, ``seq[i]``, ``seq[i:j]`` (a new Sequential keeping the
    names), item assignment and deletion, ``append``, ``extend``, ``insert`` and ``pop``.
    """

    _kind = "Sequential"

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, _check_module("Sequential", module))
        else:
            for i, module in enumerate(args):
                self.add_module(str(i), _check_module("Sequential", module))

    def forward(self, input):
        for module in self._modules.values():
            # module(input) is Module.__call__, which only calls forward: skip that frame
            # unless a module defines its own __call__ or has forward hooks (a call saved per
            # layer and sample)
            if type(module).__call__ is _module_call and not module._has_hooks:
                input = module.forward(input)
            else:
                input = module(input)
        return input

    def _slice(self, idx):
        return type(self)(OrderedDict(list(self._modules.items())[idx]))  # the names kept

    def insert(self, index, module):
        _check_module("Sequential", module)
        n = len(self)
        if not -n <= index <= n:
            raise IndexError(f"Sequential: index {index} is out of range")
        index = index % (n + 1) if index < 0 else index
        modules = list(self._modules.values())
        modules.insert(index, module)
        _number(self, modules)
        return self

    def pop(self, index=-1):
        module = self[index]
        del self[index]
        return module

    def __add__(self, other):
        if not isinstance(other, Sequential):
            raise TypeError(f"add operator supports only Sequential objects, got {type(other).__name__}")
        return Sequential(*self, *other)

    def __dir__(self):
        return [k for k in super().__dir__() if not k.isdigit()]


class ModuleList(_ModuleSequence):
    """A list of modules whose parameters the parent module sees (no ``forward`` of its own)."""

    _kind = "ModuleList"

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def insert(self, index, module):
        modules = list(self._modules.values())
        modules.insert(index, _check_module("ModuleList", module))
        _number(self, modules)

    def __iadd__(self, modules):
        return self.extend(modules)

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleList has no forward(): iterate over it and call the modules")


class ModuleDict(Module):
    """A dict of modules, registered under their keys."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, _check_module("ModuleDict", module))

    def __delitem__(self, key):
        del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def update(self, modules):
        items = modules.items() if hasattr(modules, "items") else modules
        for key, module in items:
            self[key] = module

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleDict has no forward(): look modules up by key and call them")


class Identity(Module):
    """Returns its input (any constructor arguments are ignored, as in PyTorch)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Flatten(Module):
    """Flatten dims ``start_dim..end_dim`` into one (default: all but the batch dim).

    The book writes its own ``View`` module for this (notebooks 12-15, BOOK_SPEC section 2).
    """

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input):
        ndim = input.ndim
        if ndim == 0:
            return reshape(input, (1,))
        s, e = self.start_dim % ndim, self.end_dim % ndim
        if not (-ndim <= self.start_dim < ndim and -ndim <= self.end_dim < ndim) or s > e:
            raise IndexError(f"Flatten: start_dim={self.start_dim}, end_dim={self.end_dim} do not "
                             f"fit an input of shape {input.shape}")
        shape = input.shape
        n = 1
        for d in shape[s:e + 1]:
            n *= d
        return reshape(input, shape[:s] + (n,) + shape[e + 1:])

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size`` (one entry may be -1)."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim = dim
        self.unflattened_size = tuple(unflattened_size)

    def forward(self, input):
        d = self.dim % input.ndim
        return reshape(input, input.shape[:d] + self.unflattened_size + input.shape[d + 1:])

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
