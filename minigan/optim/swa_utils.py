"""``torch.optim.swa_utils``: averaged copies of a model (beyond the book).

Two averages of the weights a model passes through while it trains:

* **SWA**, stochastic weight averaging (Izmailov et al. 2018): the plain mean of the weights
  at chosen points (once an epoch, late in training, usually under :class:`SWALR`'s constant
  rate): ``avg += (w - avg) / (n + 1)``;
* **EMA**, an exponential moving average: ``avg = decay * avg + (1 - decay) * w`` after every
  step. For a GAN's generator this is the trick of Karras et al. (2018) and Yazıcı et al.
  ("The Unusual Effectiveness of Averaging in GAN Training", 2019): G's weights orbit
  around a good point as D and G chase each other; their average sits nearer to it than any
  one of them. ``minigan train <gan> --ema 0.999`` keeps one (see :mod:`minigan.runs`).

:class:`AveragedModel` holds a deep copy of the model (``copy.deepcopy``: its own numbers,
never a view of the model's) and updates it with ``update_parameters(model)``; the first
call copies the model's weights, later calls average. Its buffers (BatchNorm's running
statistics) follow the model's, or are averaged too with ``use_buffers=True``, or are
recomputed at the end by :func:`update_bn`. Everything matches PyTorch's ``swa_utils``
(the same functions, arguments, checks, state-dict keys and results; ``tests/test_swa_utils.py``).

PyTorch's own code writes each average through ``p_avg.detach().copy_(...)``; that works in
minigan too (a detached tensor hands its in-place changes on to its source, ``Tensor.detach``),
but here the averaged parameters are written directly, under ``no_grad``.
"""
from __future__ import annotations

import copy
import math
from itertools import chain

from .. import backend as B
from ..autograd import no_grad
from ..nn.module import Module
from ..nn.normalization import _BatchNorm
from ..tensor import Tensor, tensor
from .lr_scheduler import LRScheduler

__all__ = ["AveragedModel", "update_bn", "SWALR", "get_ema_multi_avg_fn", "get_swa_multi_avg_fn",
           "get_ema_avg_fn", "get_swa_avg_fn"]


def _check_decay(decay):
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in [0,1] range.")


def _is_floating(t):
    return t.dtype in B.FLOAT_DTYPES


def get_ema_multi_avg_fn(decay=0.999):
    """EMA over lists of tensors, in place: ``avg.lerp_(w, 1 - decay)`` for each pair."""
    _check_decay(decay)

    def ema_update(ema_param_list, current_param_list, _):
        with no_grad():
            if _is_floating(ema_param_list[0]):
                for p_ema, p_model in zip(ema_param_list, current_param_list, strict=True):
                    _lerp_into(p_ema, p_model, 1 - decay)
            else:   # an integer buffer (BatchNorm's count) with use_buffers=True
                for p_ema, p_model in zip(ema_param_list, current_param_list, strict=True):
                    p_ema.copy_(p_ema * decay + p_model * (1 - decay))
    return ema_update


def _lerp_into(avg, current, weight):
    """``avg.lerp_(current, weight)`` on the arrays: the same three operations, so the same
    numbers, without making and checking three Tensors (the EMA of the book's G is updated
    24,000 times a run; with the leaner bookkeeping below, 0.18 -> 0.11 ms an update on the
    Zen 4). ``avg``'s array is replaced, not written into, as by every in-place method
    (``functional/inplace.py``)."""
    if avg.data.shape != current.data.shape or avg.data.dtype != current.data.dtype:
        raise RuntimeError(f"AveragedModel: the averaged tensor {avg.shape} {avg.dtype.name} and "
                           f"the model's {current.shape} {current.dtype.name} differ: not the same model")
    diff = current.data - avg.data
    if -0.5 < weight < 0.5:
        diff *= weight
        avg.data = avg.data + diff
    else:
        diff *= 1.0 - weight
        avg.data = current.data - diff


def get_swa_multi_avg_fn():
    """The running mean over lists of tensors, in place: ``avg.lerp_(w, 1 / (n + 1))``."""
    def swa_update(averaged_param_list, current_param_list, num_averaged):
        # As PyTorch: with the count as a tensor (AveragedModel's n_averaged, int64), 1 / (n + 1)
        # is a tensor of the default dtype, float32, so the weight is 1/3 rounded to float32.
        weight = float(1 / (num_averaged + 1))
        with no_grad():
            if _is_floating(averaged_param_list[0]):
                for p_avg, p_model in zip(averaged_param_list, current_param_list, strict=True):
                    _lerp_into(p_avg, p_model, weight)
            else:   # PyTorch's foreach addcdiv refuses integers too
                raise RuntimeError(
                    "get_swa_multi_avg_fn: cannot average integer tensors in place (BatchNorm's "
                    f"num_batches_tracked, {averaged_param_list[0].dtype.name}, with use_buffers=True); "
                    "PyTorch's addcdiv refuses them as well: leave multi_avg_fn=None (the default "
                    "SWA average) or use_buffers=False")
    return swa_update


def get_ema_avg_fn(decay=0.999):
    """EMA of one tensor, returned: ``decay * avg + (1 - decay) * w``."""
    _check_decay(decay)

    def ema_update(ema_param, current_param, num_averaged):
        with no_grad():
            return decay * ema_param + (1 - decay) * current_param
    return ema_update


def get_swa_avg_fn():
    """The running mean of one tensor, returned: ``avg + (w - avg) / (n + 1)``."""
    def swa_update(averaged_param, current_param, num_averaged):
        with no_grad():
            return averaged_param + (current_param - averaged_param) / (num_averaged + 1)
    return swa_update


class AveragedModel(Module):
    """``torch.optim.swa_utils.AveragedModel``: a copy of ``model`` that averages its weights.

    ``avg_fn(avg, w, n)`` returns one averaged tensor; ``multi_avg_fn(avgs, ws, n)`` updates
    lists in place (give at most one; neither: SWA's mean). ``use_buffers`` averages the
    buffers too (else they are copied from the model). ``n_averaged`` (a buffer, so in the
    state dict) counts the updates. Calling it calls the copy.
    """

    def __init__(self, model, device=None, avg_fn=None, multi_avg_fn=None, use_buffers=False):
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        if not isinstance(model, Module):
            raise TypeError(f"AveragedModel: model must be an nn.Module, got {type(model).__name__}")
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", tensor(0, dtype=B.int64, device=device))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def _averaged(self, module):
        return list(chain(module.parameters(), module.buffers()) if self.use_buffers
                    else module.parameters())

    def update_parameters(self, model) -> None:
        """Copy ``model``'s weights at the first call; average them in at every later one."""
        mine, theirs = self._averaged(self.module), self._averaged(model)
        if len(mine) != len(theirs):
            raise ValueError(f"AveragedModel.update_parameters: the model has {len(theirs)} "
                             f"tensors to average, the averaged copy {len(mine)}: not the same model")
        theirs = [p.detach() if p.backend is a.backend else p.detach().to(a.device)
                  for a, p in zip(mine, theirs)]
        n = int(self.n_averaged.item())
        with no_grad():
            if n == 0:
                for a, p in zip(mine, theirs):
                    a.copy_(p)
            elif self.multi_avg_fn is not None or self.avg_fn is None:
                for avgs, models in _by_device_and_dtype(mine, theirs):
                    if self.multi_avg_fn is not None:
                        self.multi_avg_fn(avgs, models, self.n_averaged.to(avgs[0].device))
                    elif avgs[0].device.type == "cuda" and _is_floating(avgs[0]):   # PyTorch's foreach path
                        get_swa_multi_avg_fn()(avgs, models, self.n_averaged.to(avgs[0].device))
                    else:   # its CPU path, one tensor at a time; also for integer buffers on a GPU,
                        # which PyTorch's foreach path refuses (use_buffers=True with BatchNorm)
                        avg_fn = get_swa_avg_fn()
                        for a, p in zip(avgs, models):
                            a.copy_(avg_fn(a, p, self.n_averaged.to(a.device)))
            else:
                for a, p in zip(mine, theirs):
                    a.copy_(self.avg_fn(a.detach(), p, self.n_averaged.to(a.device)))
            if not self.use_buffers:   # buffers not averaged follow the model's
                for b_avg, b_model in zip(self.module.buffers(), model.buffers(), strict=True):
                    b_avg.copy_(b_model.detach().to(b_avg.device))
            self.n_averaged += 1


def _by_device_and_dtype(averaged, models):
    """Pairs of lists grouped as PyTorch's ``_group_tensors_by_device_and_dtype`` groups them."""
    groups = {}
    for a, p in zip(averaged, models):
        where = getattr(a.data, "device", None)   # the array's own device and dtype: cheap keys
        avgs, ps = groups.setdefault((a.backend, str(where), a.data.dtype), ([], []))
        avgs.append(a)
        ps.append(p)
    return list(groups.values())


def update_bn(loader, model, device=None) -> None:
    """Recompute every BatchNorm's running statistics with one pass over ``loader``.

    The statistics are reset and then accumulated as a plain mean over the batches (momentum
    ``None``); each item of ``loader`` is a tensor or a list/tuple whose first element is the
    input. The model's mode and momenta are restored afterwards.
    """
    momenta = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm):   # (not InstanceNorm, as in PyTorch)
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    with no_grad():
        for item in loader:
            if isinstance(item, (list, tuple)):
                item = item[0]
            if device is not None:
                item = item.to(device)
            model(item)
    for module, momentum in momenta.items():
        module.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    """``torch.optim.swa_utils.SWALR``: anneal each group's rate to ``swa_lr`` over
    ``anneal_epochs`` steps (``"cos"`` or ``"linear"``), then hold it there."""

    def __init__(self, optimizer, swa_lr, anneal_epochs=10, anneal_strategy="cos", last_epoch=-1):
        swa_lrs = _format_param("swa_lr", optimizer, swa_lr)
        for value, group in zip(swa_lrs, optimizer.param_groups):
            group["swa_lr"] = value
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError("anneal_strategy must be one of 'cos' or 'linear', "
                             f"instead got {anneal_strategy}")
        self._set_anneal_func(anneal_strategy)
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t):
        return t

    @staticmethod
    def _cosine_anneal(t):
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr, swa_lr, alpha):
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self):
        """PyTorch's recursion: recover the rate the schedule started from out of the current
        one, then step ``alpha`` of the way to ``swa_lr``."""
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_alpha = self.anneal_func(max(0, min(1, (step - 1) / max(1, self.anneal_epochs))))
        prev_lrs = [self._get_initial_lr(group["lr"], group["swa_lr"], prev_alpha)
                    for group in self.optimizer.param_groups]
        alpha = self.anneal_func(max(0, min(1, step / max(1, self.anneal_epochs))))
        return [group["swa_lr"] * alpha + lr * (1 - alpha)
                for group, lr in zip(self.optimizer.param_groups, prev_lrs)]

    def _set_anneal_func(self, anneal_strategy):
        self._anneal_strategy = anneal_strategy
        self.anneal_func = self._cosine_anneal if anneal_strategy == "cos" else self._linear_anneal

    def state_dict(self):
        return {key: value for key, value in self.__dict__.items() if key not in ("optimizer", "anneal_func")}

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)
        self._set_anneal_func(self._anneal_strategy)


def _format_param(name, optimizer, param):
    """One value per parameter group: a list/tuple of that length, or one value for all."""
    if isinstance(param, (list, tuple)):
        if len(param) != len(optimizer.param_groups):
            raise ValueError(f"{name} must have the same length as optimizer.param_groups. "
                             f"{name} has {len(param)} values, param_groups has "
                             f"{len(optimizer.param_groups)}.")
        return list(param)
    return [param] * len(optimizer.param_groups)
