"""``Module`` and ``Parameter``: the containers every network of the book subclasses.

The book's classes (``class Discriminator(nn.Module)``) set layers and an optimiser as
attributes in ``__init__`` and *override* ``train()`` with their own training step (BOOK_SPEC
section 1.5). So, as in PyTorch, ``Module`` finds parameters through attributes, and nothing
in minigan calls ``self.train(...)`` on a user's module expecting the mode switch.
"""
from __future__ import annotations

from collections import OrderedDict

from ..autograd import ARRAY_FIX
from ..tensor import Tensor
from . import hooks as _hooks


class Parameter(Tensor):
    """A Tensor that a Module registers as learnable (``requires_grad=True`` by default)."""

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            from ..tensor import empty
            data = empty(0)
        src = data if isinstance(data, Tensor) else Tensor(data)
        self.data, self.backend = src.data, src.backend
        self.grad, self.creator, self.generation = None, None, 0
        self._retains_grad, self.name, self._pending = False, None, None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self):
        return "Parameter containing:\n" + Tensor.__repr__(self)

    def __reduce_ex__(self, protocol):
        raise TypeError("minigan never pickles tensors; use minigan.save(module.state_dict(), path)")

    def __deepcopy__(self, memo):
        """A new Parameter on a copy of the numbers, with the same ``requires_grad``; as in
        PyTorch its ``grad`` is not copied (``deepcopy(model)`` starts with no gradients)."""
        if id(self) in memo:
            return memo[id(self)]
        result = type(self)(Tensor._wrap(self.backend.xp.astype(self.data, self.data.dtype, copy=True),
                                         self.backend), self.requires_grad)
        memo[id(self)] = result
        return result


def _refuse_arrays(module, args, error):
    """The TypeError for a layer called on an array instead of a Tensor. A NumPy array's
    ``.data`` is a memoryview, so without this the error would be about a memoryview (which
    is still quoted, for a layer of one's own that takes arrays on purpose)."""
    for a in args:
        if not isinstance(a, Tensor) and hasattr(a, "shape") and hasattr(a, "dtype"):
            raise TypeError(f"{type(module).__name__}: input must be a Tensor, got "
                            f"{type(a).__module__}.{type(a).__name__} of shape {tuple(a.shape)}: "
                            f"{ARRAY_FIX} (the layer "
                            f"failed with {type(error).__name__}: {error})") from None


class Module:
    """Base class of layers and models, in PyTorch's shape."""

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # ------------------------------------------------------------------ registration
    def __setattr__(self, name, value):
        if isinstance(getattr(type(self), name, None), property):
            # a parametrized tensor (nn.utils.parametrize): its setter stores a value; a
            # Parameter would shadow the parametrization, and PyTorch refuses it too
            if isinstance(value, Parameter):
                raise KeyError(f"attribute '{name}' already exists")
            object.__setattr__(self, name, value)
            return
        if "_parameters" not in self.__dict__ and isinstance(value, (Parameter, Module)):
            raise AttributeError(f"cannot assign {type(value).__name__} '{name}' before "
                                 f"{type(self).__name__}.__init__() called super().__init__()")
        params, modules, buffers = (self.__dict__.get(k) for k in ("_parameters", "_modules", "_buffers"))
        for d in (params, modules, buffers):
            if d is not None and name in d:
                del d[name]
        if isinstance(value, Parameter):
            params[name] = value
        elif isinstance(value, Module):
            modules[name] = value
        elif buffers is not None and isinstance(value, Tensor) and name in getattr(self, "_buffer_names", ()):
            buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        d = self.__dict__
        for key in ("_parameters", "_buffers", "_modules"):
            table = d.get(key)
            if table is not None and name in table:
                return table[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for key in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__.get(key, {}):
                del self.__dict__[key][name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name, param):
        if param is None:
            self._parameters[name] = None
        else:
            setattr(self, name, param)

    def register_buffer(self, name, tensor, persistent=True):
        """A tensor that belongs to the module's state but is not learnt (running means)."""
        names = self.__dict__.setdefault("_buffer_names", set())
        names.add(name)
        if not persistent:
            self.__dict__.setdefault("_non_persistent", set()).add(name)
        self._buffers[name] = tensor

    def add_module(self, name, module):
        self._modules[name] = module

    # ------------------------------------------------------------------ forward
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    _has_hooks = False  # set in the instance by the first hook (minigan/nn/hooks.py)

    def __call__(self, *args, **kwargs):
        try:  # free in Python 3.11+ unless raised
            if self._has_hooks:
                return _hooks.call(self, args, kwargs)
            return self.forward(*args, **kwargs)
        except (AttributeError, TypeError) as e:
            _refuse_arrays(self, args, e)  # a NumPy array passed for a Tensor: say so, by layer
            raise

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """Call ``hook(module, args)`` before every ``forward``; a returned value replaces the
        arguments. Returns a handle whose ``remove()`` undoes it (minigan/nn/hooks.py)."""
        return _hooks.register(self, _hooks.PRE, hook, prepend, with_kwargs)

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False):
        """Call ``hook(module, args, output)`` after every ``forward``; a returned value
        replaces the output. Returns a handle whose ``remove()`` undoes it."""
        return _hooks.register(self, _hooks.POST, hook, prepend, with_kwargs)

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """Call ``hook(module, grad_output)`` when the gradients of the outputs are ready; a
        returned tuple replaces them (minigan/nn/backward_hooks.py). Returns a handle."""
        return _hooks.register(self, _hooks.BACKWARD_PRE, hook, prepend, False)

    def register_full_backward_hook(self, hook, prepend=False):
        """Call ``hook(module, grad_input, grad_output)`` when the gradients of the positional
        Tensor arguments are computed; a returned tuple replaces ``grad_input``. Returns a handle."""
        return _hooks.register(self, _hooks.BACKWARD, hook, prepend, False)

    # ------------------------------------------------------------------ traversal
    def named_modules(self, memo=None, prefix=""):
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(memo, prefix + ("." if prefix else "") + name)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        for name, m in self._modules.items():
            if m is not None:
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def apply(self, fn):
        """Call ``fn`` on every submodule (children first, as PyTorch) and then on this module;
        returns self. DCGAN's initialisation: ``netG.apply(weights_init)``."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def named_parameters(self, prefix="", recurse=True):
        seen = set()
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mod_prefix, m in mods:
            for name, p in m._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield mod_prefix + ("." if mod_prefix else "") + name, p

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True):
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mod_prefix, m in mods:
            for name, b in m._buffers.items():
                if b is not None:
                    yield mod_prefix + ("." if mod_prefix else "") + name, b

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def num_parameters(self, trainable_only=False):
        """How many numbers the module learns (BOOK_SPEC section 5.3 lists the book's counts)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    # ------------------------------------------------------------------ modes and grads
    def train(self, mode=True):
        """Set training mode on this module and its children (``Module.train(self, mode)``
        still works from a subclass that overrides ``train`` with a training step)."""
        if not isinstance(mode, bool):
            raise TypeError(f"train(mode): mode must be a bool, got {type(mode).__name__}")
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self):
        return Module.train(self, False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad = p.grad.detach().zero_()

    # ------------------------------------------------------------------ devices and dtypes
    def _apply(self, fn):
        for m in self.modules():
            for name, p in list(m._parameters.items()):
                if p is not None:
                    moved = fn(p)
                    if moved is not p:
                        p.data, p.backend = moved.data, moved.backend
                        if p.grad is not None:
                            g = fn(p.grad)
                            p.grad = g
            for name, b in list(m._buffers.items()):
                if b is not None:
                    m._buffers[name] = fn(b)
        return self

    def to(self, *args, **kwargs):
        """Move parameters and buffers in place: ``to(device)``, ``to(dtype)``, or both.

        Parameters keep their identity (an optimiser made before ``to`` still holds them);
        only floating tensors change dtype.
        """
        from ..backend import FLOAT_DTYPES, as_dtype, device as Device
        dev, dtype = kwargs.get("device"), kwargs.get("dtype")
        for a in args:
            if isinstance(a, (Device, str)) and not (isinstance(a, str) and a in ("float32", "float64")):
                dev = a
            else:
                dtype = a
        dtype = as_dtype(dtype) if dtype is not None else None

        def convert(t):
            out = t.detach()
            if dtype is not None and t.dtype in FLOAT_DTYPES:
                out = out.to(dtype)
            return out.to(dev) if dev is not None else out
        return self._apply(convert)

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to("cuda" if device is None else f"cuda:{device}" if isinstance(device, int) else device)

    def double(self):
        return self.to(dtype=_float64())

    def float(self):
        return self.to(dtype=_float32())

    # ------------------------------------------------------------------ state
    def state_dict(self, prefix=""):
        """Parameters and persistent buffers by dotted name, as detached tensors."""
        out = OrderedDict()
        seen = set()  # a shared parameter is listed once, as named_parameters() does
        for m_prefix, m in self.named_modules(prefix=prefix.rstrip(".")):
            dot = m_prefix + ("." if m_prefix else "")
            for name, p in m._parameters.items():  # PyTorch's order: a module's parameters,
                if p is not None and id(p) not in seen:  # then its buffers, then its children
                    seen.add(id(p))
                    out[dot + name] = p.detach()
            skip = m.__dict__.get("_non_persistent", ())
            for name, b in m._buffers.items():
                if b is not None and name not in skip:
                    out[dot + name] = b.detach()
        return out

    def load_state_dict(self, state_dict, strict=True):
        """Copy values in; every missing, unexpected, mis-shaped or unusable key is listed in
        one error. All or nothing: every value is converted to its target's dtype and device
        first, and only then are they all assigned, so an error leaves the module unchanged."""
        own = self.state_dict()
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        unusable = [f"{k}: a {type(state_dict[k]).__name__}, not a tensor"
                    for k in own if k in state_dict and not _is_array_like(state_dict[k])]
        mismatched = [f"{k}: checkpoint {tuple(state_dict[k].shape)} vs model {own[k].shape}"
                      for k in own if k in state_dict and _is_array_like(state_dict[k])
                      and tuple(state_dict[k].shape) != own[k].shape]
        problems = []
        if mismatched:
            problems.append("size mismatch for " + "; ".join(mismatched))
        if unusable:
            problems.append("unusable values for " + "; ".join(unusable))
        if strict and missing:
            problems.append("missing keys: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        if problems:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n  "
                               + "\n  ".join(problems))
        targets = dict(self.named_parameters())
        for m_prefix, m in self.named_modules():
            for name in m._buffers:
                targets[m_prefix + ("." if m_prefix else "") + name] = (m, name)
        from ..autograd import no_grad
        staged = []  # (target, new value): converted first, assigned only when all converted
        with no_grad():
            for k, v in state_dict.items():
                if k not in own:
                    continue
                target = targets[k]
                try:
                    if isinstance(target, tuple):
                        m, name = target
                        old = m._buffers[name]
                        new = Tensor(v, dtype=old.dtype, device=old.device) if not isinstance(v, Tensor) \
                            else v.detach().to(old.device).to(old.dtype).clone()
                    else:  # Tensor.copy_'s conversion, without its assignment
                        src = (v if isinstance(v, Tensor) else Tensor(v)).to(target.device)
                        new = target.backend.xp.astype(src.data, target.data.dtype, copy=True)
                except (TypeError, ValueError) as e:
                    raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:"
                                       f"\n  can't convert {k}: {e}") from None
                staged.append((target, new))
        for target, new in staged:  # plain stores: nothing here can fail half way
            if isinstance(target, tuple):
                m, name = target
                m._buffers[name] = new
            else:
                target.data = new
        return _IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------ printing
    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = []
        for name, m in self._modules.items():
            body = repr(m).replace("\n", "\n  ")
            lines.append(f"({name}): {body}")
        head = type(self).__name__ + "(" + self.extra_repr()
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"


class _IncompatibleKeys(tuple):
    def __new__(cls, missing, unexpected):
        t = super().__new__(cls, (missing, unexpected))
        t.missing_keys, t.unexpected_keys = missing, unexpected
        return t


def _is_array_like(v):
    return isinstance(v, Tensor) or (hasattr(v, "shape") and hasattr(v, "dtype"))


def _float64():
    from ..backend import float64
    return float64


def _float32():
    from ..backend import float32
    return float32
