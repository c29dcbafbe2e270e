"""Reverse-mode automatic differentiation: ``Function`` and the walk over the graph.

Book section 1.1 ("PyTorch basics", notebooks 00/01) explains the idea: every operation
remembers its inputs, and ``backward()`` applies the chain rule from the output back to the
leaves. Here that is:

* A :class:`Function` computes ``forward`` on raw arrays and records itself as the
  ``creator`` of its output tensor, with its inputs, when any input requires a gradient.
* :func:`backward` visits the recorded functions newest-generation first (a heap; no
  recursion, so graphs of any depth work) and hands each its output's gradient.

Two kinds of backward
---------------------
*Primitive* functions (add, mul, exp, matmul, reshape ...) write ``backward(F, gy)`` once, in
PyTorch's vocabulary, against a namespace ``F``. On the common path (``create_graph=False``)
``F`` is :class:`minigan.array_ops.ArrayOps` and ``gy`` a raw array: the backward runs at
NumPy speed and records nothing. With ``create_graph=True`` ``F`` is :mod:`minigan.functional`
and ``gy`` a Tensor, so the very same formulas build a graph and can be differentiated again.

*Fused* functions (linear, layer_norm, conv2d ...) compute their backward on arrays with
hand-derived formulas and saved intermediates (``backward_arrays``), which is fast. For
``create_graph=True`` they also define ``composite(F, *inputs)``, the same maths in
primitives; the engine differentiates that instead, so second derivatives are exact.

Broadcasting is undone in one place: after every backward, each input's gradient is summed
to that input's shape (``sum_to``) and cast to its dtype; op code never thinks about it.

Anomaly mode (:func:`detect_anomaly`, in :mod:`minigan.anomaly`) checks every output and
gradient for NaN and Inf; off, it costs one flag test per call and one per backward walk.
"""
from __future__ import annotations

import heapq
import weakref
from heapq import heappop, heappush


_grad_enabled = True
_anomaly_enabled = False  # anomaly mode (minigan.anomaly); read once per Function call
_anomaly_check_nan = True


def is_grad_enabled() -> bool:
    return _grad_enabled


class set_grad_enabled:
    """Switches graph recording on or off: as a plain call (``set_grad_enabled(False)``
    takes effect at once, as in PyTorch), a context manager or a decorator."""

    def __new__(cls, *args):
        if cls is not set_grad_enabled and len(args) == 1 and callable(args[0]):
            return cls()(args[0])  # @minigan.no_grad without parentheses, as PyTorch allows
        return super().__new__(cls)

    def __init__(self, mode: bool):
        global _grad_enabled
        self.mode = bool(mode)
        self.prev = _grad_enabled
        if type(self) is set_grad_enabled:
            _grad_enabled = self.mode

    def __enter__(self):
        global _grad_enabled
        if type(self) is not set_grad_enabled:  # set_grad_enabled saved it in __init__
            self.prev = _grad_enabled
        _grad_enabled = self.mode
        return self

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self.prev
        return False

    def __call__(self, fn):
        import functools
        global _grad_enabled
        if type(self) is set_grad_enabled:  # a decorator: undo the switch __init__ made
            _grad_enabled = self.prev

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)(self.mode) if type(self) is set_grad_enabled else type(self)():
                return fn(*args, **kwargs)
        return wrapper


class no_grad(set_grad_enabled):
    """``with minigan.no_grad():`` or ``@minigan.no_grad()``: record no graph (inference)."""

    def __init__(self, fn=None):
        super().__init__(False)


class inference_mode(set_grad_enabled):
    """``torch.inference_mode(mode=True)``: here the same as ``no_grad`` (minigan keeps no
    version counters or view tracking for it to switch off as well)."""

    def __init__(self, mode=True):
        super().__init__(not mode if isinstance(mode, bool) else False)


class enable_grad(set_grad_enabled):
    """Re-enable recording inside a ``no_grad`` block."""

    def __init__(self, fn=None):
        super().__init__(True)


class Function:
    """One differentiable operation. Subclasses define ``forward`` and a backward.

    Instance attributes set by ``__call__``: ``xp`` (the array namespace of the inputs'
    device), ``inputs`` (the input Tensors, only while a graph is recorded), ``needs_input_grad``
    (which inputs want a gradient; backward may skip the others by returning ``None``).
    """

    generation = 0
    inputs = ()
    output_ref = None
    freed = False
    differentiable = True
    walk = None  # the token of the last backward walk that queued this function
    output_backend = None  # the device of the output where it is not the inputs' (ToDevice)

    created_at = None  # (user frame, minigan frame), recorded only in anomaly mode

    def __call__(self, *inputs):
        # The hot path of every op: one- and two-input functions get straight-line code
        # (no generator expressions), since the book trains one sample at a time and this
        # runs a few hundred times per step.
        if _anomaly_enabled:  # the one test anomaly mode costs when it is off
            return _anomaly.checked_call(self, inputs)
        try:  # free in Python 3.11+ unless raised: the hot path pays nothing for it
            x = inputs[0]
            backend = x.backend
            self.xp = backend.xp
            n = len(inputs)
            if n == 1:
                out = Tensor._wrap(self.forward(x.data), backend)
                if _grad_enabled and x.requires_grad and self.differentiable:
                    self.needs_input_grad = (True,)
                    # _record, inline (as in the two branches below): a call saved per op
                    self.inputs = inputs
                    self.generation = generation = x.generation
                    out.requires_grad = True
                    out.creator = self
                    out.generation = generation + 1
                    self.output_ref = weakref.ref(out)
                return out
            if n == 2:
                y = inputs[1]
                if y.backend is not backend:
                    raise RuntimeError(f"{type(self).__name__}: expected all tensors on the same device, "
                                       f"got {backend.device} and {y.backend.device}")
                out = Tensor._wrap(self.forward(x.data, y.data), backend)
                if _grad_enabled and (x.requires_grad or y.requires_grad) and self.differentiable:
                    self.needs_input_grad = (x.requires_grad, y.requires_grad)
                    gx, gy = x.generation, y.generation
                    self.inputs = inputs
                    self.generation = generation = gx if gx > gy else gy
                    out.requires_grad = True
                    out.creator = self
                    out.generation = generation + 1
                    self.output_ref = weakref.ref(out)
                return out
            if n == 3:   # Linear with a bias, the book's most common op
                y, z = inputs[1], inputs[2]
                if y.backend is not backend or z.backend is not backend:
                    raise RuntimeError(f"{type(self).__name__}: expected all tensors on the same device, "
                                       f"got {backend.device}, {y.backend.device} and {z.backend.device}")
                out = Tensor._wrap(self.forward(x.data, y.data, z.data), backend)
                if _grad_enabled and self.differentiable and (x.requires_grad or y.requires_grad
                                                              or z.requires_grad):
                    self.needs_input_grad = (x.requires_grad, y.requires_grad, z.requires_grad)
                    generation = max(x.generation, y.generation, z.generation)
                    self.inputs = inputs
                    self.generation = generation
                    out.requires_grad = True
                    out.creator = self
                    out.generation = generation + 1
                    self.output_ref = weakref.ref(out)
                return out
            for t in inputs:
                if t.backend is not backend:
                    raise RuntimeError(f"{type(self).__name__}: expected all tensors on the same device, "
                                       f"got {backend.device} and {t.backend.device}")
            out = Tensor._wrap(self.forward(*[t.data for t in inputs]), backend)
            if _grad_enabled and self.differentiable:
                needs = tuple([t.requires_grad for t in inputs])
                if True in needs:
                    self.needs_input_grad = needs
                    self._record(inputs, max([t.generation for t in inputs]), out)
            return out
        except (AttributeError, TypeError):
            _refuse_non_tensors(self, inputs)  # a NumPy array passed for a Tensor: say so
            raise

    def _record(self, inputs, generation, out):
        """Link ``out`` into the graph: it was made by ``self`` from ``inputs``."""
        self.inputs = inputs
        self.generation = generation
        out.requires_grad = True
        out.creator = self
        out.generation = generation + 1
        self.output_ref = weakref.ref(out)

    def forward(self, *arrays):
        raise NotImplementedError

    # Primitive functions override this one ...
    def backward(self, F, gy):
        """Gradients of the inputs, written with ``F`` (arrays or Tensors, see module doc)."""
        if F.is_array_mode:
            return self.backward_arrays(gy)
        return self.backward_composite(gy)

    # ... fused functions override these two.
    def backward_arrays(self, gy):
        raise NotImplementedError(f"{type(self).__name__} defines no backward")

    def composite(self, F, *inputs):
        raise NotImplementedError(
            f"{type(self).__name__}: double backward (create_graph=True) is not supported")

    def backward_composite(self, gy):
        """Second-order path for fused ops: differentiate ``composite`` on the input Tensors."""
        F = _tensor_ops()
        inputs = [x if x.requires_grad else x.detach() for x in self.inputs]
        with enable_grad():
            y = self.composite(F, *inputs)
            wanted = [x for x in inputs if x.requires_grad]
            grads = grad(y, wanted, gy, create_graph=True, allow_unused=True)
        it = iter(grads)
        return tuple(next(it) if x.requires_grad else None for x in inputs)

    # ---- helpers for backward code
    def output(self, F):
        """The output, as an array (fast path) or as the output Tensor (create_graph)."""
        out = self.output_ref()
        if out is None:
            raise RuntimeError(f"{type(self).__name__}: the output needed by backward was freed")
        return out.data if F.is_array_mode else out

    def input(self, F, i):
        """Input ``i``, as an array (fast path) or as the input Tensor (create_graph)."""
        x = self.inputs[i]
        return x.data if F.is_array_mode else x


ARRAY_FIX = "minigan.from_numpy(a) or minigan.tensor(a) makes one"  # told to whoever passes an array


def _refuse_non_tensors(fn, inputs):
    """The TypeError for an op given something that is not a Tensor (a NumPy array has no
    ``backend``, and its ``data`` is a memoryview), naming the op and what it got; or given a
    Tensor whose ``data`` is a Tensor: PyTorch's ``p.data = p.data - lr * p.grad`` stores one
    there, since minigan's ``data`` is the raw array (a checked setter would make every read
    of ``.data``, several per op, a property call: 2 % of the 1010 GAN's step)."""
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            hint = f" ({ARRAY_FIX})" if hasattr(t, "shape") and hasattr(t, "dtype") else ""
            raise TypeError(f"{type(fn).__name__}: input {i} must be a Tensor, got "
                            f"{type(t).__module__}.{type(t).__name__}{hint}") from None
        if isinstance(t.data, Tensor):
            raise TypeError(f"{type(fn).__name__}: input {i} holds a Tensor in its .data, which is "
                            "minigan's raw array (an assignment such as p.data = p.data - lr * "
                            "p.grad put it there): assign an array, p.data = new.data, or copy, "
                            "with minigan.no_grad(): p.copy_(new)") from None


# ----------------------------------------------------------------------------- the graph walk
def _accumulate(grads, key, g):
    old = grads.get(key)
    grads[key] = g if old is None else old + g


_SECOND_BACKWARD = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Specify retain_graph=True if you need to backward through the "
    "graph a second time.")


def _pop_next(heap):
    """The next function to run (newest generation first) and its output, if still alive."""
    fn = heapq.heappop(heap)[2]
    if fn.freed:
        raise RuntimeError(_SECOND_BACKWARD)
    return fn, fn.output_ref()


def _fit_to_input(fn, x, gx, ops, gx_dtype):
    """``gx`` summed to input ``x``'s shape and cast to its dtype: the one place where
    broadcasting is undone. ``ops`` is the namespace ``gx`` lives in (arrays or Tensors)."""
    shape, dtype = x.data.shape, x.data.dtype
    if gx.shape != shape:
        gx = ops.sum_to(gx, shape)
        if gx.shape != shape:
            raise RuntimeError(f"{type(fn).__name__}.backward: gradient of shape {tuple(gx.shape)} "
                               f"for an input of shape {tuple(shape)}")
    if gx_dtype is not dtype and gx_dtype != dtype:  # identity first: the cheap common case
        gx = ops.to_dtype(gx, dtype)
    return gx


def backward_fast(root, root_grad, retain_graph=False):
    """``loss.backward()`` on the fast path: one root, raw arrays, nothing recorded.

    The same walk as :func:`run_backward`, with the bookkeeping on the objects themselves: a
    tensor's pending gradient sits in ``tensor._pending`` and a queued function is marked with
    this walk's token, instead of dicts and sets keyed by ``id()``. At batch 1 the walk's own
    Python is most of backward's cost, so this matters (BASELINES.md section 4).
    """
    global _grad_enabled
    token = object()
    touched = [root]
    root._pending = root_grad
    fn = root.creator
    heap = []
    fn.walk = token
    counter = 1
    check = _anomaly_enabled
    previous_mode, _grad_enabled = _grad_enabled, False
    following = fn  # the next function when it is the only one waiting (a chain): no heap
    try:
        while True:
            if following is not None:
                fn, following = following, None
            elif heap:
                fn = heappop(heap)[2]   # _pop_next, inline
            else:
                break
            if fn.freed:
                raise RuntimeError(_SECOND_BACKWARD)
            out = fn.output_ref()
            if out is None:
                continue
            gy = out._pending
            if gy is None:
                continue
            out._pending = None
            if out._retains_grad:
                _store_grad(out, gy, False)
            if check:
                gxs = _anomaly.checked_backward(fn, out.backend.ops, gy)
            elif type(fn).backward is _default_backward:   # Function.backward's array branch, inline
                gxs = fn.backward_arrays(gy)
            else:
                gxs = fn.backward(out.backend.ops, gy)
            if type(gxs) is not tuple:
                gxs = (gxs,)
            for x, gx in zip(fn.inputs, gxs):
                if gx is None or not x.requires_grad:
                    continue
                data = x.data
                if gx.shape != data.shape or gx.dtype is not data.dtype:
                    gx = _fit_to_input(fn, x, gx, x.backend.ops, gx.dtype)
                pending = x._pending
                if pending is None:
                    x._pending = gx
                    touched.append(x)
                else:
                    x._pending = pending + gx
                creator = x.creator
                if creator is not None and creator.walk is not token:
                    creator.walk = token
                    if following is None and not heap:
                        # nothing else waits: it is next whatever its generation (the book's
                        # networks are chains, so most steps skip the heap's push and pop)
                        following = creator
                    else:
                        if following is not None:  # a second one: both go through the heap
                            heappush(heap, (-following.generation, counter, following))
                            counter += 1
                            following = None
                        heappush(heap, (-creator.generation, counter, creator))
                        counter += 1
            if not retain_graph:
                fn.inputs = ()
                fn.freed = True
    finally:
        _grad_enabled = previous_mode
        for t in touched:  # leaves receive their gradient; every pending slot is cleared
            g = t._pending
            if g is not None:
                t._pending = None
                if t.creator is None and t.requires_grad:   # _store_grad, inline
                    old = t.grad
                    t.grad = Tensor._wrap(g if old is None else old.data + g, t.backend)


_default_backward = Function.backward


def run_backward(roots, root_grads, retain_graph=False, create_graph=False, inputs=None,
                 allow_unused=False):
    """Propagate ``root_grads`` from ``roots`` to the leaves (or to ``inputs`` if given).

    With ``inputs`` given (as in :func:`grad`) the gradients are returned instead of being
    accumulated into ``.grad``. Gradients are kept in a dict keyed by ``id(tensor)``; they are
    raw arrays on the fast path and Tensors when ``create_graph`` is set.
    """
    global _grad_enabled
    tensor_ops = _tensor_ops()
    grads = {}  # id(tensor) -> gradient
    keep = {}  # id -> tensor, keeps the keyed tensors alive during the walk
    heap, seen, counter = [], set(), 0
    for t, g in zip(roots, root_grads):
        keep[id(t)] = t
        _accumulate(grads, id(t), g if create_graph else g.data)
        fn = t.creator
        if fn is not None and id(fn) not in seen:
            seen.add(id(fn))
            heapq.heappush(heap, (-fn.generation, counter, fn))
            counter += 1

    wanted = None if inputs is None else {id(x) for x in inputs}
    check = _anomaly_enabled
    hooked = bool(_grad_hooks.HOOKS)  # Tensor.register_hook: gradients pass through the hooks
    previous_mode, _grad_enabled = _grad_enabled, create_graph
    try:
        while heap:
            fn, out = _pop_next(heap)
            if out is None:
                continue
            gy = grads.pop(id(out), None)
            if gy is None:
                continue
            if hooked:
                gy = _grad_hooks.apply(out, gy, create_graph)
            if out._retains_grad:
                _store_grad(out, gy, create_graph)
            F = tensor_ops if create_graph else out.backend.ops
            gxs = fn.backward(F, gy) if not check else _anomaly.checked_backward(fn, F, gy)
            if type(gxs) is not tuple:
                gxs = (gxs,)
            for x, gx in zip(fn.inputs, gxs):
                if gx is None or not x.requires_grad:
                    continue
                gx = _fit_to_input(fn, x, gx, F if create_graph else x.backend.ops,
                                   gx.data.dtype if create_graph else gx.dtype)
                key = id(x)
                old = grads.get(key)
                if old is None:
                    grads[key] = gx
                    keep[key] = x
                else:
                    grads[key] = old + gx
                creator = x.creator
                if creator is not None and id(creator) not in seen and (wanted is None or key not in wanted):
                    seen.add(id(creator))
                    heapq.heappush(heap, (-creator.generation, counter, creator))
                    counter += 1
            if not retain_graph:
                fn.inputs = ()
                fn.freed = True
    finally:
        _grad_enabled = previous_mode

    if inputs is not None:
        result = []
        for x in inputs:
            g = grads.get(id(x))
            if hooked and g is not None:
                g = _grad_hooks.apply(x, g, create_graph)
            if g is None and not allow_unused:
                raise RuntimeError("One of the differentiated Tensors appears to not have been used in "
                                   "the graph. Set allow_unused=True if this is the desired behavior.")
            result.append(None if g is None else (g if create_graph else Tensor._wrap(g, x.backend)))
        return tuple(result)
    for key, g in grads.items():
        t = keep[key]
        if t.creator is None and t.requires_grad:
            _store_grad(t, _grad_hooks.apply(t, g, create_graph) if hooked else g, create_graph)
    return None


_functional_module = None


def _tensor_ops():
    """minigan.functional, the Tensor namespace for create_graph (imported once, lazily)."""
    global _functional_module
    if _functional_module is None:
        from . import functional
        _functional_module = functional
    return _functional_module


def _store_grad(t, g, create_graph):
    """Accumulate ``g`` into ``t.grad`` like PyTorch (out of place: ``g`` may be shared)."""
    if not create_graph:
        g = Tensor._wrap(g, t.backend)
    if t.grad is None:
        t.grad = g
    else:
        t.grad = t.grad + g if create_graph else Tensor._wrap(t.grad.data + g.data, t.backend)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False):
    """``minigan.autograd.backward``: accumulate gradients of ``tensors`` into the leaves."""
    if grad_tensors is None and type(tensors) is Tensor and tensors.requires_grad \
            and tensors.data.shape == ():  # the usual ``loss.backward()``, without the lists
        if create_graph or tensors.creator is None or _grad_hooks.HOOKS:  # (hooks: general walk)
            ones = tensors.backend.xp.ones((), dtype=tensors.data.dtype)
            run_backward((tensors,), (Tensor._wrap(ones, tensors.backend),),
                         retain_graph=bool(retain_graph) or create_graph, create_graph=create_graph)
        else:
            backward_fast(tensors, tensors.backend.ops.scalar_one(tensors.data.dtype),
                          retain_graph=bool(retain_graph))
        return
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    if grad_tensors is None:
        grad_tensors = [None] * len(tensors)
    elif isinstance(grad_tensors, Tensor):
        grad_tensors = [grad_tensors]
    roots = [_root_grad(t, g) for t, g in zip(tensors, grad_tensors)]
    if retain_graph is None:
        retain_graph = create_graph
    run_backward(tensors, roots, retain_graph=retain_graph, create_graph=create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """``minigan.autograd.grad``: return d(outputs)/d(inputs) without touching ``.grad``."""
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    for x in inputs:
        if not x.requires_grad:
            raise RuntimeError("grad: one of the inputs does not require grad")
    roots = [_root_grad(t, g) for t, g in zip(outputs, grad_outputs)]
    if retain_graph is None:
        retain_graph = create_graph
    return run_backward(outputs, roots, retain_graph=retain_graph, create_graph=create_graph,
                        inputs=inputs, allow_unused=allow_unused)


def _root_grad(t, g):
    if not t.requires_grad:
        raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
    if g is None:
        if t.data.size != 1:
            raise RuntimeError(f"grad can be implicitly created only for scalar outputs; "
                               f"got a tensor of shape {tuple(t.shape)}: pass gradient=")
        return Tensor._wrap(t.backend.xp.ones(t.data.shape, dtype=t.data.dtype), t.backend)
    if not isinstance(g, Tensor):
        from .tensor import tensor as make_tensor
        g = make_tensor(g, dtype=t.dtype, device=t.device)
    if tuple(g.shape) != tuple(t.shape):
        raise RuntimeError(f"backward: gradient of shape {tuple(g.shape)} does not match "
                           f"the output's shape {tuple(t.shape)}")
    if g.backend is not t.backend:
        raise RuntimeError(f"backward: gradient is on {g.device}, the output on {t.device}")
    return g


from .tensor import Tensor  # noqa: E402  (Tensor needs this module first)
from . import anomaly as _anomaly  # noqa: E402  (it reads the flags above)
from . import grad_hooks as _grad_hooks  # noqa: E402
from .anomaly import (AnomalyError, detect_anomaly, is_anomaly_check_nan_enabled,  # noqa: E402,F401
                      is_anomaly_enabled, set_detect_anomaly)
# torch.autograd.gradcheck's place: test suites written for PyTorch import the checker from here
from .gradcheck import GradcheckError, gradcheck, gradgradcheck  # noqa: E402,F401
