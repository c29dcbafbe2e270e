"""Datasets and the ``DataLoader``, in PyTorch's shape (``torch.utils.data``).

The book subclasses ``Dataset`` for MNIST and CelebA (sections 1.2 and 2.4) and loops over the
dataset object itself, one sample at a time, with no DataLoader and no shuffling (BOOK_SPEC
section 1.2). Python's old iteration protocol makes that work: a class with ``__getitem__``
and no ``__iter__`` is iterated by indexing 0, 1, 2 ... until ``IndexError``. So ``Dataset``
defines no ``__iter__``, and the datasets here raise ``IndexError`` past their end.

``DataLoader`` goes further, for users of a GAN library: batches, shuffling from the seeded
host generator (``minigan.manual_seed`` makes the order reproducible), ``drop_last``, and
PyTorch's default collation (tensors, NumPy arrays and numbers are stacked into batch
tensors; tuples, lists and dicts are collated field by field).
"""
from __future__ import annotations

import bisect
import collections.abc
import math
import numbers

import numpy as np

from .. import backend as B
from ..tensor import Tensor, tensor

__all__ = ["Dataset", "TensorDataset", "ConcatDataset", "Subset", "random_split", "DataLoader",
           "default_collate", "default_convert"]


# ============================================================================== datasets
class Dataset:
    """A map-style dataset: subclasses define ``__getitem__`` (and usually ``__len__``)."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __add__(self, other):
        return ConcatDataset([self, other])


def _check_index(index, n, what):
    """A Python integer index in [-n, n), made non-negative; IndexError otherwise."""
    if isinstance(index, Tensor):
        index = index.item()
    if not isinstance(index, numbers.Integral) or isinstance(index, bool):
        raise TypeError(f"{what} indices must be integers, not {type(index).__name__}")
    if not -n <= index < n:
        raise IndexError(f"{what} index {index} is out of range for {n} samples")
    return int(index) % n


class TensorDataset(Dataset):
    """Samples are slices along the first dimension of each tensor: ``(x[i], y[i])``."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        n = tensors[0].shape[0] if tensors[0].ndim else None
        if any(t.ndim == 0 or t.shape[0] != n for t in tensors):
            raise ValueError("Size mismatch between tensors: every tensor needs the same first "
                             f"dimension, got shapes {[tuple(t.shape) for t in tensors]}")
        self.tensors = tensors

    def __getitem__(self, index):
        if isinstance(index, numbers.Integral) or (isinstance(index, Tensor) and index.ndim == 0):
            index = _check_index(index, len(self), "TensorDataset")
        return tuple(t[index] for t in self.tensors)  # slices and index tensors work too

    def __len__(self):
        return self.tensors[0].shape[0]


class ConcatDataset(Dataset):
    """Several datasets one after the other (``dataset_a + dataset_b``)."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("datasets should not be an empty iterable")
        self.cumulative_sizes = []
        total = 0
        for d in self.datasets:
            total += len(d)
            self.cumulative_sizes.append(total)

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        i = _check_index(index, len(self), "ConcatDataset")
        which = bisect.bisect_right(self.cumulative_sizes, i)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][i - start]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = [int(i) for i in indices]

    def __getitem__(self, index):
        return self.dataset[self.indices[_check_index(index, len(self), "Subset")]]

    def __len__(self):
        return len(self.indices)


def random_split(dataset, lengths, generator=None):
    """Split into non-overlapping random subsets of the given lengths (or fractions summing to 1)."""
    n = len(dataset)
    lengths = list(lengths)
    if lengths and all(0 <= x <= 1 for x in lengths) and math.isclose(sum(lengths), 1) and sum(lengths) != n:
        counts = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):  # hand out the remainder round-robin, as PyTorch
            counts[i % len(counts)] += 1
        lengths = counts
    if sum(lengths) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    order = (generator or B.host_generator()).permutation(n).tolist()
    out, start = [], 0
    for length in lengths:
        out.append(Subset(dataset, order[start:start + length]))
        start += length
    return out


# ============================================================================== collation
def default_convert(sample):
    """What ``batch_size=None`` gives: NumPy arrays become tensors, the rest is left alone."""
    if isinstance(sample, np.ndarray) and sample.dtype.kind in "biuf":
        return tensor(sample)
    if isinstance(sample, np.generic) and not isinstance(sample, (np.str_, np.bytes_)):
        return tensor(sample)
    if isinstance(sample, collections.abc.Mapping):
        return {k: default_convert(v) for k, v in sample.items()}
    if isinstance(sample, tuple) and hasattr(sample, "_fields"):  # namedtuple
        return type(sample)(*(default_convert(v) for v in sample))
    if isinstance(sample, (list, tuple)):
        return type(sample)(default_convert(v) for v in sample)
    return sample


def default_collate(batch):
    """Merge a list of samples into a batch, as ``torch.utils.data.default_collate``.

    ================================  =========================================================
    each sample is                    the batch is
    ================================  =========================================================
    a Tensor                          one tensor, stacked along a new first dimension
    a NumPy array or NumPy scalar     the same, as a tensor
    a float / an int / a bool         a float64 / int64 / bool tensor of shape (batch,)
    a str or bytes                    the list of them
    a dict                            a dict of the collated values of each key
    a namedtuple                      the namedtuple of collated fields
    a tuple or a list                 a list of the collated fields (PyTorch's choice)
    ================================  =========================================================
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack_tensors(batch)
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind not in "biuf":
            raise TypeError(f"default_collate: can't batch NumPy arrays of dtype {elem.dtype}")
        return tensor(np.stack(batch))
    if isinstance(elem, np.generic) and not isinstance(elem, (np.str_, np.bytes_)):
        return tensor(np.array(batch))
    if isinstance(elem, bool):
        return tensor(batch, dtype=B.bool_)
    if isinstance(elem, numbers.Integral):
        return tensor(batch, dtype=B.int64)
    if isinstance(elem, numbers.Real):
        return tensor(batch, dtype=B.float64)
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, collections.abc.Mapping):
        return {key: default_collate([d[key] for d in batch]) for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(list(fields)) for fields in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(sample) != size for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        return [default_collate(list(fields)) for fields in zip(*batch)]
    raise TypeError("default_collate: batch must contain tensors, NumPy arrays, numbers, dicts "
                    f"or lists; found {type(elem).__name__}")


def _stack_tensors(batch):
    """``stack(batch)``; one array call when no sample needs a gradient (the usual case)."""
    first = batch[0]
    if any(t.requires_grad or t.backend is not first.backend or t.shape != first.shape
           or t.dtype != first.dtype for t in batch):
        from ..functional import stack  # records a graph, or explains the mismatch
        return stack(batch)
    return Tensor._wrap(first.backend.xp.stack([t.data for t in batch]), first.backend)


# ============================================================================== the loader
class DataLoader:
    """Batches of a map-style dataset: ``for x, y in DataLoader(ds, batch_size=64, shuffle=True)``.

    ``shuffle`` draws a new order at the start of every pass, from ``generator`` or, by
    default, from minigan's host generator (``minigan.manual_seed(0)`` makes it repeatable).
    ``batch_size=None`` yields single samples through ``default_convert``, unbatched.
    ``num_workers`` is accepted for PyTorch compatibility; loading runs in this process.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, sampler=None, drop_last=False,
                 collate_fn=None, generator=None, num_workers=0, pin_memory=False):
        if batch_size is not None and (not isinstance(batch_size, numbers.Integral) or batch_size <= 0):
            raise ValueError(f"batch_size should be a positive integer value or None, but got "
                             f"batch_size={batch_size}")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.sampler = sampler
        self.drop_last = drop_last
        self.generator = generator
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        if collate_fn is None:
            collate_fn = default_collate if batch_size is not None else default_convert
        self.collate_fn = collate_fn

    def _indices(self):
        if self.sampler is not None:
            return list(self.sampler)
        n = len(self.dataset)
        if self.shuffle:
            return (self.generator or B.host_generator()).permutation(n).tolist()
        return range(n)

    def __iter__(self):
        indices = self._indices()
        if self.batch_size is None:
            for i in indices:
                yield self.collate_fn(self.dataset[i])
            return
        size = self.batch_size
        for start in range(0, len(indices), size):
            chunk = indices[start:start + size]
            if len(chunk) < size and self.drop_last:
                return
            yield self._fetch(chunk)

    def _fetch(self, chunk):
        dataset = self.dataset
        if type(dataset) is TensorDataset and self.collate_fn is default_collate:
            # one gather per tensor instead of one index per sample and a stack: same batch
            return [t[tensor(list(chunk), dtype=B.int64, device=t.device)] for t in dataset.tensors]
        return self.collate_fn([dataset[i] for i in chunk])

    def __len__(self):
        n = len(self.sampler) if self.sampler is not None else len(self.dataset)
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
