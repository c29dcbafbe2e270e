"""Normalisation layers: LayerNorm, BatchNorm1d, BatchNorm2d.

``LayerNorm(200)`` is the refinement of book section 1.3 (notebook 04) used by every fully
connected GAN after it (notebooks 08-12, 16): it normalises each (200,) sample over its
values. ``BatchNorm2d`` arrives with the convolutional networks of section 3.1 (notebooks
13-15). Because the book's classes override ``train()`` (BOOK_SPEC section 1.5), their
BatchNorm layers stay in training mode for good and normalise each single image with its own
per-channel statistics over H x W; the running statistics are still kept, as in PyTorch.
"""
from __future__ import annotations

import numbers
import warnings

from .. import backend as B
from ..functional.norm import LayerNorm as LayerNormFunction
from ..functional.norm import batch_norm, instance_norm, layer_norm
from ..tensor import empty, ones, tensor, zeros
from . import init
from .module import Module, Parameter

__all__ = ["LayerNorm", "BatchNorm1d", "BatchNorm2d", "InstanceNorm1d", "InstanceNorm2d"]


class LayerNorm(Module):
    """Normalise over the trailing ``normalized_shape`` dims: (x - mean) / sqrt(var + eps) with
    the biased variance, then ``* weight + bias`` (learnt, starting at 1 and 0)."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 device=None, dtype=None):
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(int(s) for s in normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(empty(self.normalized_shape, device=device, dtype=dtype))
            if bias:
                self.bias = Parameter(empty(self.normalized_shape, device=device, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        if self.elementwise_affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def forward(self, input):
        shape, ns = input.data.shape, self.normalized_shape
        weight, bias = self._parameters["weight"], self._parameters["bias"]
        if len(ns) == 1 and shape[-1:] == ns and weight is not None and bias is not None \
                and input.data.dtype == weight.data.dtype:
            # the book's LayerNorm(200) on (200,) samples: skip the functional's checks
            fn = LayerNormFunction(ns[0], float(self.eps), True, True)
            fn.normalized_shape = ns
            return fn(input, weight, bias)
        return layer_norm(input, ns, weight, bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class _NormBase(Module):
    """Shared by the batch and instance norms (PyTorch's ``_NormBase``): the learnt scale and
    shift, the running statistics and their resets."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None, *, bias=True):
        super().__init__()
        self.num_features = int(num_features)
        self.eps, self.momentum = eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(empty(self.num_features, device=device, dtype=dtype))
            if bias:
                self.bias = Parameter(empty(self.num_features, device=device, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(self.num_features, device=device, dtype=dtype))
            self.register_buffer("running_var", ones(self.num_features, device=device, dtype=dtype))
            self.register_buffer("num_batches_tracked", tensor(0, dtype=B.int64, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self):
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            self.num_batches_tracked.data = self.num_batches_tracked.backend.xp.zeros((), dtype=B.int64)

    def reset_parameters(self):
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class _BatchNorm(_NormBase):
    """Shared by BatchNorm1d and BatchNorm2d (PyTorch's ``_BatchNorm``)."""

    def _check_input_dim(self, input):
        raise NotImplementedError

    def forward(self, input):
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            count = self.num_batches_tracked
            count.data = count.backend.xp.asarray(count.data + 1)
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / int(count.data)
        running_mean, running_var = self._buffers["running_mean"], self._buffers["running_var"]
        training = self.training or (running_mean is None and running_var is None)
        if self.training and not self.track_running_stats:
            running_mean = running_var = None
        return batch_norm(input, running_mean, running_var, self._parameters["weight"],
                          self._parameters["bias"], training, factor, self.eps)


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) input, per feature C."""

    def _check_input_dim(self, input):
        if input.ndim not in (2, 3):
            raise ValueError(f"expected 2D or 3D input (got {input.ndim}D input)")


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) images, per channel C (book section 3.1,
    notebooks 13-15; always in training mode there, on N = 1 images)."""

    def _check_input_dim(self, input):
        if input.ndim != 4:
            raise ValueError(f"expected 4D input (got {input.ndim}D input)")



class _InstanceNorm(_NormBase):
    """Shared by InstanceNorm1d and InstanceNorm2d (PyTorch's ``_InstanceNorm``): per sample
    and channel, over the spatial positions; no learnt scale and no running statistics
    unless asked for (``affine``, ``track_running_stats``), as PyTorch's defaults."""

    _spatial_dims = 1

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False, track_running_stats=False,
                 device=None, dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)

    def forward(self, input):
        batched = self._spatial_dims + 2
        if input.ndim not in (batched - 1, batched):
            raise ValueError(f"expected {batched - 1}D or {batched}D input (got {input.ndim}D input)")
        unbatched = input.ndim == batched - 1
        if unbatched:
            input = input.unsqueeze(0)
        if input.shape[1] != self.num_features:
            if self.affine:
                raise ValueError(f"expected input's size at dim={0 if unbatched else 1} to match "
                                 f"num_features ({self.num_features}), but got: {input.shape[1]}.")
            warnings.warn("input's size at dim=1 does not match num_features. You can silence this "
                          "warning by not passing in num_features, which is not used because affine=False")
        use_input_stats = self.training or not self.track_running_stats
        out = instance_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                            use_input_stats, 0.0 if self.momentum is None else self.momentum, self.eps)
        return out.squeeze(0) if unbatched else out


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation of (N, C, L) or (C, L) input."""

    _spatial_dims = 1


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation of (N, C, H, W) or (C, H, W) images (pix2pix, CycleGAN)."""

    _spatial_dims = 2


#: layers whose forward reads ``_parameters`` directly (the batch-1 fast path), so a weight
#: made a plain attribute by ``nn.utils.spectral_norm`` would not be seen
_NORM_LAYERS = (LayerNorm, _BatchNorm)
