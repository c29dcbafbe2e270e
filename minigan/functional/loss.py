"""Losses: mse_loss, l1_loss, binary_cross_entropy (+ with_logits), cross_entropy, nll_loss.

The book trains with ``MSELoss`` (section 1.2 / notebook 03, and the first GANs of sections
2.2-2.3) and then ``BCELoss`` (section 1.3 / notebook 04 onwards: "a better loss for
classification"). Both are one fused :class:`~minigan.autograd.Function` each: forward and
a hand-derived backward on raw arrays, plus ``composite`` (the same maths in minigan
primitives) which the engine differentiates for second derivatives (``create_graph=True``).

Every loss takes PyTorch's ``reduction`` ("mean" default, "sum", "none") and the legacy
``size_average`` / ``reduce`` flags. Unlike PyTorch, which only warns for most losses, an
input and a target of different shapes are an error here: a silently broadcast (N, 1) vs
(N,) pair is a classic bug that trains on nonsense.

Formulas (p: prediction, t: target, x: logits, n: number of elements)::

    mse        (p - t)^2                             d/dp = 2 (p - t)
    l1         |p - t|                               d/dp = sign(p - t)
    bce        -(t max(log p, -100) + (1 - t) max(log(1 - p), -100))
                                                     d/dp = (p - t) / max(p (1 - p), 1e-12)
    bce_logits (1 - t) x + (1 + (w+ - 1) t) softplus(-x)
                                                     d/dx = (1 + (w+ - 1) t) sigmoid(x) - w+ t
    cross_entropy  -sum_c A_c log_softmax(x)_c       d/dx = softmax(x) sum_c A_c - A

The clamp at -100 and the 1e-12 in BCE's derivative are PyTorch's own constants (BOOK_SPEC
section 1.9): a saturated sigmoid (exactly 0.0 or 1.0 in float32) gives a loss of 100, not
inf, and a finite gradient - exactly the numbers the book's training loop sees. With mean
reduction every derivative is further divided by n.
"""
from __future__ import annotations

from .. import backend as B
from ..autograd import Function
from ..tensor import Tensor

_REDUCTIONS = ("mean", "sum", "none")


def legacy_reduction(reduction="mean", size_average=None, reduce=None):
    """PyTorch's ``reduction`` string, honouring the deprecated ``size_average``/``reduce``."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "none" if not reduce else ("mean" if size_average else "sum")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _check_pair(name, input, target):
    """Same shape (else a ValueError naming the loss and both shapes) and a common dtype."""
    if not isinstance(input, Tensor) or not isinstance(target, Tensor):
        raise TypeError(f"{name}: input and target must be Tensors, got "
                        f"{type(input).__name__} and {type(target).__name__}")
    if input.data.shape != target.data.shape:
        raise ValueError(f"{name}: target of shape {tuple(target.data.shape)} does not match "
                         f"input of shape {tuple(input.data.shape)}; they must have the same "
                         "shape (reshape or view one of them)")
    if input.backend is not target.backend:
        raise RuntimeError(f"{name}: input is on {input.device} but target is on {target.device}")


def _promote_pair(name, input, target):
    """MSE and L1 promote like PyTorch (float32 input, float64 target -> float64)."""
    if input.data.dtype == target.data.dtype:
        return input, target
    from .arithmetic import promote
    return promote(input, target, name)


def _constant(t, like, name, what):
    """An optional constant tensor argument (weight, pos_weight) as a raw array of ``like``'s
    dtype on its device."""
    if t is None:
        return None
    if not isinstance(t, Tensor):
        raise TypeError(f"{name}: {what} must be a Tensor or None, got {type(t).__name__}")
    if t.backend is not like.backend:
        raise RuntimeError(f"{name}: {what} is on {t.device} but input is on {like.device}")
    data = t.data
    return data if data.dtype == like.data.dtype else like.backend.xp.astype(data, like.data.dtype)


def _value_range(xp, a):
    """(min, max) of ``a`` as Python floats. NumPy's np.min / np.max are Python wrappers that
    cost more than the reduction at batch 1, so the ufunc reductions behind them are called
    directly where the backend has them (NumPy); others use the array-API min / max."""
    if xp.name == "numpy":
        return float(xp.minimum.reduce(a, axis=None)), float(xp.maximum.reduce(a, axis=None))
    return float(xp.min(a)), float(xp.max(a))


def _float_sum(xp):
    """The backend's fastest float sum (call it with axis=None: np.add.reduce defaults to 0)."""
    return getattr(xp, "sum_floats", xp.sum)


# ============================================================================== pointwise losses
class _PointwiseLoss(Function):
    """Base of the losses that are a sum/mean of one term per element.

    Subclasses compute the elementwise loss in ``forward`` (stashing what the backward
    needs) and return ``self.reduce(l)``; in ``backward_arrays`` they form the elementwise
    derivative as a *fresh* array and pass it through ``self.chain(g, gy)``.
    """

    def __init__(self, reduction, weight=None):
        self.reduction = reduction
        self.weight = weight  # a raw array or None: a constant factor per element

    def reduce(self, l):
        if self.weight is not None:
            l *= self.weight
        if self.reduction == "none":
            return l
        total = _float_sum(self.xp)(l, axis=None)
        if self.reduction == "sum":
            return total
        return total / self.n

    def chain(self, g, gy):
        """``g`` (d loss_i / d input_i, a fresh array) times the upstream gradient, in place."""
        if self.weight is not None:
            g *= self.weight
        if self.reduction == "mean":
            g *= gy / self.n
        else:
            g *= gy  # "sum": gy is 0-d; "none": gy has the input's shape
        return g

    def reduce_tensor(self, F, l):
        """The same reduction on Tensors, for ``composite``."""
        if self.weight is not None:
            l = l * Tensor._wrap(self.weight, self.inputs[0].backend)
        if self.reduction == "none":
            return l
        return F.sum(l) if self.reduction == "sum" else F.mean(l)


class MSELoss(_PointwiseLoss):
    """Mean squared error (book section 1.2, notebook 03; section 2.2, notebook 06)."""

    def forward(self, x, t):
        d = x - t
        self.diff, self.n = d, d.size
        return self.reduce(d * d)

    def backward_arrays(self, gy):
        g = self.chain(self.diff * 2.0, gy)
        need_x, need_t = self.needs_input_grad
        return (g if need_x else None), (-g if need_t else None)

    def composite(self, F, x, t):
        d = x - t
        return self.reduce_tensor(F, d * d)


class L1Loss(_PointwiseLoss):
    """Mean absolute error; the derivative at p == t is 0, as PyTorch's sign."""

    def forward(self, x, t):
        d = x - t
        self.diff, self.n = d, d.size
        return self.reduce(self.xp.abs(d))

    def backward_arrays(self, gy):
        g = self.chain(self.xp.sign(self.diff), gy)
        need_x, need_t = self.needs_input_grad
        return (g if need_x else None), (-g if need_t else None)

    def composite(self, F, x, t):
        return self.reduce_tensor(F, F.abs(x - t))


_LOG_FLOOR = -100.0  # PyTorch clamps BCE's logarithms here
_BCE_EPS = 1e-12  # ... and floors p (1 - p) here in the derivative
_E_MINUS_100 = 3.8e-44  # a bit above e^-100 = 3.72e-44: above it log p > -100, no clamp needed


class BinaryCrossEntropy(_PointwiseLoss):
    """Binary cross entropy on probabilities (book section 1.3, notebook 04 onwards).

    The log clamp: for 0 < p and p < 1 (nearly always) log p > -100 and log(1 - p) > -37, so
    the plain logarithms are exact. Only a saturated prediction (p exactly 0 or 1, as a float32
    sigmoid gives for |x| > 17) or a denormal p takes the guarded path, which clamps *before*
    multiplying by the target so that 0 * log 0 is 0, not nan.
    """

    def forward(self, p, t):
        xp = self.xp
        lo, hi = _value_range(xp, p)
        if not (0.0 <= lo and hi <= 1.0):  # also catches nan
            raise RuntimeError("binary_cross_entropy: all elements of input should be between 0 "
                               f"and 1, got values in [{lo}, {hi}]")
        t_lo, t_hi = _value_range(xp, t)  # a target of class numbers (0..9) is not a probability
        if not (0.0 <= t_lo and t_hi <= 1.0):
            raise RuntimeError("binary_cross_entropy: all elements of target should be between 0 "
                               f"and 1, got values in [{t_lo}, {t_hi}]")
        self.n = p.size
        if lo > _E_MINUS_100 and hi < 1.0:
            log_p = xp.log(p)
            log_1mp = xp.log1p(-p)
        else:
            log_p = xp.maximum(xp.log(xp.where(p > 0, p, 1.0)), _LOG_FLOOR)
            log_p = xp.where(p > 0, log_p, _LOG_FLOOR)
            safe = xp.where(p < 1, p, 0.0)
            log_1mp = xp.where(p < 1, xp.maximum(xp.log1p(-safe), _LOG_FLOOR), _LOG_FLOOR)
        # PyTorch's order: (t - 1) log(1 - p) - t log p
        l = (t - 1.0) * log_1mp
        l -= t * log_p
        self.log_p, self.log_1mp = log_p, log_1mp
        return self.reduce(l)

    def backward_arrays(self, gy):
        xp = self.xp
        p, t = self.inputs[0].data, self.inputs[1].data
        need_p, need_t = self.needs_input_grad
        gp = gt = None
        if need_p:
            # p (1 - p) lies in [0, 1/4] (forward checked p), so clipping it to [eps, 1] is
            # maximum(., eps) bit for bit; NumPy 2.4 runs a two-sided clip vectorised and a
            # maximum against a scalar as a scalar loop (14 against 38 us at 128 x 784, Zen 4)
            gp = self.chain((p - t) / xp.clip((1.0 - p) * p, _BCE_EPS, 1.0), gy)
        if need_t:  # d/dt = log(1 - p) - log p = -logit(p), with the clamped logs
            gt = self.chain(self.log_1mp - self.log_p, gy)
        return gp, gt

    def composite(self, F, p, t):
        log_p = F.clamp(F.log(p), min=_LOG_FLOOR)
        log_1mp = F.clamp(F.log(1.0 - p), min=_LOG_FLOOR)
        return self.reduce_tensor(F, (t - 1.0) * log_1mp - t * log_p)


class BinaryCrossEntropyWithLogits(_PointwiseLoss):
    """Sigmoid + BCE in one stable formula: softplus(-x) = log1p(e^-|x|) + max(-x, 0) never
    overflows, and sigmoid(x) = e^-softplus(-x) comes for free in the backward."""

    def __init__(self, reduction, weight=None, pos_weight=None):
        super().__init__(reduction, weight)
        self.pos_weight = pos_weight

    def forward(self, x, t):
        xp = self.xp
        sp = xp.log1p(xp.exp(-xp.abs(x)))
        sp += xp.maximum(-x, 0.0)  # softplus(-x) = -log sigmoid(x)
        self.softplus, self.n = sp, x.size
        l = (1.0 - t) * x
        if self.pos_weight is None:
            l += sp
        else:
            self.log_weight = (self.pos_weight - 1.0) * t + 1.0
            l += self.log_weight * sp
        return self.reduce(l)

    def backward_arrays(self, gy):
        xp = self.xp
        x, t = self.inputs[0].data, self.inputs[1].data
        need_x, need_t = self.needs_input_grad
        sig = xp.exp(-self.softplus)
        gx = gt = None
        if need_x:
            if self.pos_weight is None:
                gx = sig - t
            else:
                gx = self.log_weight * sig
                gx -= self.pos_weight * t
            gx = self.chain(gx, gy)
        if need_t:
            gt = -x if self.pos_weight is None else (self.pos_weight - 1.0) * self.softplus - x
            gt = self.chain(gt, gy)
        return gx, gt

    def composite(self, F, x, t):
        sp = F.log(1.0 + F.exp(-F.abs(x))) + F.relu(-x)
        if self.pos_weight is not None:
            sp = sp * ((Tensor._wrap(self.pos_weight, x.backend) - 1.0) * t + 1.0)
        return self.reduce_tensor(F, (1.0 - t) * x + sp)


# ============================================================================== functional API
def _weighted_pointwise(name, term, weight, reduction):
    """mse/l1 with an elementwise ``weight`` (PyTorch composes these too, so the weight gets
    a gradient as well): the mean divides by the sum of the weights."""
    from .reduction import sum as total
    if tuple(weight.shape) != tuple(term.shape):
        raise ValueError(f"{name}: weights of shape {tuple(weight.shape)} and input of shape "
                         f"{tuple(term.shape)} must have the same size")
    weighted = term * weight
    if reduction == "none":
        return weighted
    return total(weighted) if reduction == "sum" else total(weighted) / total(weight)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """``F.mse_loss``: mean of (input - target)^2 (book: ``nn.MSELoss()``, notebook 03)."""
    reduction = legacy_reduction(reduction, size_average, reduce)
    _check_pair("mse_loss", input, target)
    input, target = _promote_pair("mse_loss", input, target)
    if weight is not None:
        d = input - target
        return _weighted_pointwise("mse_loss", d * d, weight, reduction)
    return MSELoss(reduction)(input, target)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """``F.l1_loss``: mean of |input - target|."""
    reduction = legacy_reduction(reduction, size_average, reduce)
    _check_pair("l1_loss", input, target)
    input, target = _promote_pair("l1_loss", input, target)
    if weight is not None:
        from .arithmetic import abs as absolute
        return _weighted_pointwise("l1_loss", absolute(input - target), weight, reduction)
    return L1Loss(reduction)(input, target)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """``F.binary_cross_entropy`` on probabilities in [0, 1] (book: ``nn.BCELoss()``, section
    1.3). ``weight`` rescales each element's loss (a constant, broadcast against input)."""
    reduction = legacy_reduction(reduction, size_average, reduce)
    _check_pair("binary_cross_entropy", input, target)
    if input.data.dtype != target.data.dtype:
        raise RuntimeError(f"binary_cross_entropy: found dtype {target.dtype.name} for the "
                           f"target but expected {input.dtype.name} (the input's dtype)")
    if input.dtype not in B.FLOAT_DTYPES:
        raise TypeError(f"binary_cross_entropy: input must be floating point, got {input.dtype.name}")
    w = _constant(weight, input, "binary_cross_entropy", "weight")
    return BinaryCrossEntropy(reduction, w)(input, target)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """``F.binary_cross_entropy_with_logits``: sigmoid and BCE fused, stable for any logit.
    ``pos_weight`` (broadcast over the last dimension, e.g. one per class) weighs positives."""
    reduction = legacy_reduction(reduction, size_average, reduce)
    _check_pair("binary_cross_entropy_with_logits", input, target)
    input, target = _promote_pair("binary_cross_entropy_with_logits", input, target)
    name = "binary_cross_entropy_with_logits"
    return BinaryCrossEntropyWithLogits(reduction, _constant(weight, input, name, "weight"),
                                        _constant(pos_weight, input, name, "pos_weight"))(input, target)


# ============================================================================== class losses
class _ClassLoss(Function):
    """Base of cross_entropy and nll_loss, written as ``-sum_c A_c v_c`` over the class axis.

    ``A`` is a second input that says how much each class counts at each position: a
    one-hot of the class index times the class weight (and label smoothing, and 1/divisor
    for mean reduction). One formula then serves index and probability targets, weights,
    ``ignore_index`` and every reduction. ``v`` is ``log_softmax(x)`` (cross_entropy) or the
    input itself (nll_loss). ``total``: sum the per-position losses (A already carries the
    mean's divisor) or keep them ("none").
    """

    def __init__(self, axis, total):
        self.axis, self.total = axis, total

    def finish(self, A, v):
        l = self.xp.sum(A * v, axis=self.axis)
        l = -l
        return self.xp.sum(l) if self.total else l

    def upstream(self, gy):
        """gy broadcast against the input: a 0-d total, or per position with the class axis."""
        return gy if self.total else self.xp.expand_dims(gy, axis=self.axis)

    def finish_tensor(self, F, A, v):
        l = -F.sum(A * v, dim=self.axis)
        return F.sum(l) if self.total else l


class CrossEntropy(_ClassLoss):
    """log_softmax + negative log likelihood in one node."""

    def forward(self, x, A):
        xp, axis = self.xp, self.axis
        z = x - xp.max(x, axis=axis, keepdims=True)
        e = xp.exp(z)
        s = xp.sum(e, axis=axis, keepdims=True)
        log_p = z - xp.log(s)
        e /= s
        self.log_p, self.prob = log_p, e
        return self.finish(A, log_p)

    def backward_arrays(self, gy):
        xp = self.xp
        A = self.inputs[1].data
        g = self.upstream(gy)
        need_x, need_a = self.needs_input_grad
        gx = gA = None
        if need_x:
            gx = self.prob * xp.sum(A, axis=self.axis, keepdims=True)
            gx -= A
            gx *= g
        if need_a:
            gA = self.log_p * g
            gA = -gA
        return gx, gA

    def composite(self, F, x, A):
        return self.finish_tensor(F, A, F.log_softmax(x, dim=self.axis))


class NegativeLogLikelihood(_ClassLoss):
    """nll_loss: the input already holds log-probabilities."""

    def forward(self, v, A):
        return self.finish(A, v)

    def backward_arrays(self, gy):
        v, A = self.inputs[0].data, self.inputs[1].data
        g = self.upstream(gy)
        need_v, need_a = self.needs_input_grad
        gv = -(A * g) if need_v else None
        gA = -(v * g) if need_a else None
        return gv, gA

    def composite(self, F, v, A):
        return self.finish_tensor(F, A, v)


def _class_axis(name, input):
    if input.ndim == 0:
        raise ValueError(f"{name}: input must have at least 1 dimension (the classes), got a 0-d tensor")
    if input.dtype not in B.FLOAT_DTYPES:
        raise TypeError(f"{name}: input must be floating point, got {input.dtype.name}")
    return 0 if input.ndim == 1 else 1


def _class_weights(name, weight, input, axis):
    """The class weight as an array shaped to broadcast along the class axis, or None."""
    w = _constant(weight, input, name, "weight")
    if w is None:
        return None
    n_classes = input.shape[axis]
    if tuple(w.shape) != (n_classes,):
        raise RuntimeError(f"{name}: weight of shape {tuple(w.shape)} for {n_classes} classes; "
                           f"expected ({n_classes},)")
    shape = [1] * input.ndim
    shape[axis] = n_classes
    return input.backend.xp.reshape(w, tuple(shape))


def _index_weights(name, input, target, axis, w, ignore_index, label_smoothing, reduction):
    """A for class-index targets (a constant Tensor)."""
    xp, dtype = input.backend.xp, input.data.dtype
    expected = input.shape[:axis] + input.shape[axis + 1:]
    if target.shape != expected:
        raise ValueError(f"{name}: target of shape {target.shape} does not fit input of shape "
                         f"{input.shape}; class-index targets need shape {expected} "
                         f"(the input without its class dimension {axis})")
    n_classes = input.shape[axis]
    t = target.data
    valid = t != ignore_index
    if bool(xp.any(((t < 0) | (t >= n_classes)) & valid)):
        bad = xp.to_numpy(xp.where(valid, t, 0))
        raise IndexError(f"{name}: target values must be class indices in [0, {n_classes - 1}] "
                         f"(or ignore_index={ignore_index}); got min {bad.min()}, max {bad.max()}")
    line = [1] * input.ndim
    line[axis] = n_classes
    t_axis = xp.expand_dims(t, axis=axis)
    valid = xp.astype(xp.expand_dims(valid, axis=axis), dtype)
    one_hot = xp.astype(t_axis == xp.reshape(xp.arange(n_classes), tuple(line)), dtype)
    one_hot *= valid  # an ignore_index inside [0, C) must not count
    if w is not None:
        one_hot *= w
    A = one_hot
    if reduction == "mean":
        divisor = xp.sum(one_hot)  # sum of w[t_i] over the non-ignored positions (or a count)
    if label_smoothing > 0.0:
        smooth = valid if w is None else valid * w
        A = one_hot * (1.0 - label_smoothing)
        A += smooth * (label_smoothing / n_classes)
    if reduction == "mean":
        A = A / divisor
    return Tensor._wrap(A, input.backend)


def _probability_weights(name, input, target, axis, w, label_smoothing, reduction):
    """A for class-probability targets (differentiable in the target)."""
    if target.shape != input.shape:
        raise ValueError(f"{name}: probability target of shape {target.shape} does not match "
                         f"input of shape {input.shape}")
    if target.data.dtype != input.data.dtype:
        from .arithmetic import to_dtype
        target = to_dtype(target, input.dtype)
    n_classes = input.shape[axis]
    A = target
    if label_smoothing > 0.0:
        A = A * (1.0 - label_smoothing) + label_smoothing / n_classes
    if w is not None:
        A = A * Tensor._wrap(w, input.backend)
    if reduction == "mean":
        A = A / (input.numel() // n_classes)
    return A


def _class_loss(name, Fn, input, target, weight, ignore_index, reduction, label_smoothing):
    axis = _class_axis(name, input)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{name}: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    w = _class_weights(name, weight, input, axis)
    if target.dtype in B.FLOAT_DTYPES:
        if Fn is NegativeLogLikelihood:
            raise RuntimeError(f"{name}: expected class-index targets (an integer tensor), "
                               f"got {target.dtype.name}")
        A = _probability_weights(name, input, target, axis, w, label_smoothing, reduction)
    else:
        if target.dtype == B.bool_:
            raise TypeError(f"{name}: target must be class indices (int64) or probabilities")
        A = _index_weights(name, input, target, axis, w, ignore_index, label_smoothing, reduction)
    return Fn(axis, reduction != "none")(input, A)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """``F.cross_entropy``: log_softmax over the class dimension (1, or 0 for an unbatched
    (C,) input) and the negative log likelihood of ``target``, which holds class indices
    (int64, shape of input without the class dimension) or class probabilities (float, the
    input's shape). ``weight`` (C,), ``ignore_index`` and ``label_smoothing`` as PyTorch."""
    reduction = legacy_reduction(reduction, size_average, reduce)
    return _class_loss("cross_entropy", CrossEntropy, input, target, weight, ignore_index,
                       reduction, float(label_smoothing))


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """``F.nll_loss``: -input[class] per position (input holds log-probabilities)."""
    reduction = legacy_reduction(reduction, size_average, reduce)
    return _class_loss("nll_loss", NegativeLogLikelihood, input, target, weight, ignore_index,
                       reduction, 0.0)


__all__ = ["mse_loss", "l1_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
           "cross_entropy", "nll_loss", "legacy_reduction"]
