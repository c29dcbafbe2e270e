"""Datasets and DataLoader: the book's loop-until-IndexError style, batching, shuffling, collation."""
from __future__ import annotations

import collections

import numpy as np
import pytest

import minigan
from minigan.utils.data import (ConcatDataset, DataLoader, Dataset, Subset, TensorDataset,
                                default_collate, random_split)


class Squares(Dataset):
    """A book-style dataset: __getitem__ and __len__ over a Python list."""

    def __init__(self, n):
        self.values = [float(i * i) for i in range(n)]

    def __len__(self):
        return len(self.values)

    def __getitem__(self, index):
        return minigan.tensor([self.values[index]]), index  # list indexing raises IndexError


def tensor_dataset(n=10, device="cpu"):
    x = minigan.tensor(np.arange(n * 3, dtype=np.float32).reshape(n, 3), device=device)
    y = minigan.tensor(np.arange(n), device=device)
    return TensorDataset(x, y)


# ============================================================================== datasets
def test_iterating_a_dataset_directly_stops_at_index_error():
    """BOOK_SPEC section 1.2: the notebooks loop over the Dataset object itself."""
    seen = [label for _, label in Squares(4)]
    assert seen == [0, 1, 2, 3]
    ds = tensor_dataset(5)
    rows = [(x.numpy().tolist(), int(y.item())) for x, y in ds]
    assert len(rows) == 5 and rows[4] == ([12.0, 13.0, 14.0], 4)


def test_tensor_dataset_indexing():
    ds = tensor_dataset(5)
    assert len(ds) == 5
    x, y = ds[-1]
    assert x.numpy().tolist() == [12.0, 13.0, 14.0] and y.item() == 4
    for bad in (5, -6, 100):
        with pytest.raises(IndexError):
            ds[bad]
    with pytest.raises(ValueError, match="Size mismatch"):
        TensorDataset(minigan.zeros(3, 2), minigan.zeros(4))


def test_adding_datasets_concatenates_them():
    both = tensor_dataset(3) + Squares(2)
    assert isinstance(both, ConcatDataset) and len(both) == 5
    assert both[2][1].item() == 2 and both[3][1] == 0 and both[-1][0].item() == 1.0
    with pytest.raises(IndexError):
        both[5]
    assert len(list(both)) == 5


def test_subset_and_random_split_are_seeded():
    ds = Squares(10)
    minigan.manual_seed(0)
    a, b = random_split(ds, [7, 3])
    minigan.manual_seed(0)
    a2, _ = random_split(ds, [0.7, 0.3])
    assert len(a) == 7 and len(b) == 3 and a.indices == a2.indices
    assert sorted(a.indices + b.indices) == list(range(10))
    assert Subset(ds, [4, 2])[1][1] == 2
    with pytest.raises(ValueError):
        random_split(ds, [5, 6])


# ============================================================================== the loader
def test_batches_and_length():
    ds = tensor_dataset(10)
    loader = DataLoader(ds, batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 == len(batches)
    assert [tuple(x.shape) for x, _ in batches] == [(4, 3), (4, 3), (2, 3)]
    x, y = batches[1]
    np.testing.assert_array_equal(x.numpy(), np.arange(12, 24, dtype=np.float32).reshape(4, 3))
    assert y.dtype == minigan.int64 and y.numpy().tolist() == [4, 5, 6, 7]

    dropped = DataLoader(ds, batch_size=4, drop_last=True)
    assert len(dropped) == 2 == len(list(dropped))
    assert len(DataLoader(ds)) == 10 and tuple(next(iter(DataLoader(ds)))[0].shape) == (1, 3)


def test_shuffle_is_a_permutation_seeded_by_manual_seed():
    ds = tensor_dataset(20)
    loader = DataLoader(ds, batch_size=6, shuffle=True)

    def epoch():
        return [int(v) for _, y in loader for v in y.numpy()]
    minigan.manual_seed(123)
    first, second = epoch(), epoch()
    minigan.manual_seed(123)
    again = epoch()
    assert sorted(first) == list(range(20)) and first != list(range(20))
    assert first == again and first != second  # a new order every epoch, repeatable from a seed
    own = DataLoader(ds, batch_size=6, shuffle=True, generator=np.random.default_rng(5))
    assert [int(v) for _, y in own for v in y.numpy()] == np.random.default_rng(5).permutation(20).tolist()


def test_default_collate_of_structures():
    Point = collections.namedtuple("Point", "x y")
    samples = [{"image": np.full((2, 2), i, dtype=np.float32), "label": i, "weight": 0.5 * i,
                "name": f"s{i}", "pair": (minigan.tensor([float(i)]), True), "point": Point(i, 2.0)}
               for i in range(3)]
    batch = default_collate(samples)
    assert batch["image"].shape == (3, 2, 2) and batch["image"].dtype == minigan.float32
    assert batch["label"].dtype == minigan.int64 and batch["label"].numpy().tolist() == [0, 1, 2]
    assert batch["weight"].dtype == minigan.float64 and batch["weight"].numpy().tolist() == [0.0, 0.5, 1.0]
    assert batch["name"] == ["s0", "s1", "s2"]
    assert isinstance(batch["pair"], list) and batch["pair"][0].shape == (3, 1)
    assert batch["pair"][1].dtype == minigan.bool
    assert isinstance(batch["point"], Point) and batch["point"].y.numpy().tolist() == [2.0] * 3
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([(1, 2), (3,)])
    with pytest.raises(TypeError, match="found object"):
        default_collate([object()])


def test_batch_size_none_yields_samples_unbatched():
    ds = [(np.array([1.0, 2.0]), 3)]

    class ListDataset(Dataset):
        def __len__(self):
            return len(ds)

        def __getitem__(self, i):
            return ds[i]
    loader = DataLoader(ListDataset(), batch_size=None)
    (x, y), = list(loader)
    assert isinstance(x, minigan.Tensor) and x.shape == (2,) and y == 3 and len(loader) == 1


def test_collate_fn_and_bad_arguments():
    loader = DataLoader(Squares(5), batch_size=2, collate_fn=lambda b: [label for _, label in b])
    assert list(loader) == [[0, 1], [2, 3], [4]]
    with pytest.raises(ValueError):
        DataLoader(Squares(5), batch_size=0)


def test_stacking_keeps_the_graph_when_samples_need_gradients():
    w = minigan.tensor([1.0, 2.0], requires_grad=True)
    batch = default_collate([w * 2, w * 3])
    batch.sum().backward()
    assert w.grad.numpy().tolist() == [5.0, 5.0]


def test_loader_on_the_strict_device():
    loader = DataLoader(tensor_dataset(7, device="strict"), batch_size=3, shuffle=True)
    batches = list(loader)
    assert all(x.device == minigan.device("strict") for x, _ in batches)
    assert sorted(int(v) for _, y in batches for v in y.numpy()) == list(range(7))


def test_tensor_dataset_batches_equal_the_generic_collation():
    """The loader gathers a TensorDataset's batch with one index per tensor: same result."""
    ds = tensor_dataset(10)
    minigan.manual_seed(1)
    fast = list(DataLoader(ds, batch_size=4, shuffle=True))
    minigan.manual_seed(1)
    slow = list(DataLoader(ds, batch_size=4, shuffle=True, collate_fn=lambda b: default_collate(b)))
    for (x1, y1), (x2, y2) in zip(fast, slow, strict=True):
        assert x1.dtype == x2.dtype and y1.dtype == y2.dtype
        np.testing.assert_array_equal(x1.numpy(), x2.numpy())
        np.testing.assert_array_equal(y1.numpy(), y2.numpy())
    x, y = ds[1:3]
    assert x.shape == (2, 3) and y.numpy().tolist() == [1, 2]
