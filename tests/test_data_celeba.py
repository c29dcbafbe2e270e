"""minigan.data CelebA: pack_celeba writes the book's HDF5 layout; CelebADataset reads it back.

The fixtures are REAL photographs shipped with scikit-image (faces from Labeled Faces in the
Wild, the astronaut, the cat, the coffee cup), saved as JPEG/PNG files and as a zip in
CelebA's layout (img_align_celeba/000001.jpg ...), so the packer decodes real image files.
"""
from __future__ import annotations

import argparse
import io
import os
import zipfile

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")
Image = pytest.importorskip("PIL.Image")
skdata = pytest.importorskip("skimage.data")

import minigan  # noqa: E402
from minigan.commands import pack_celeba as pack_command  # noqa: E402
from minigan.data import CelebADataset, DataError, crop_centre, pack_celeba  # noqa: E402

H, W = 218, 178


def jpeg_bytes(pixels, quality=95):
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def decoded(data):
    """What Pillow decodes from an image file's bytes, as RGB uint8."""
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("RGB"))


def aligned_faces(n):
    """n real faces (LFW), grey stacked to RGB, at CelebA's size 218x178."""
    faces = (skdata.lfw_subset()[:n] * 255).round().astype(np.uint8)
    out = []
    for face in faces:
        big = Image.fromarray(np.stack([face] * 3, axis=-1)).resize((W, H), Image.BICUBIC)
        out.append(np.asarray(big))
    return out


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """A folder of real photographs: two at CelebA's size, the rest larger and not 218x178."""
    folder = tmp_path_factory.mktemp("photos")
    exact = skdata.astronaut()[100:100 + H, 150:150 + W]
    Image.fromarray(exact).save(folder / "a_astronaut.png")  # lossless: stored == source
    face = aligned_faces(1)[0]
    (folder / "b_face.jpg").write_bytes(jpeg_bytes(face))
    (folder / "c_chelsea.jpg").write_bytes(jpeg_bytes(skdata.chelsea()))  # 300x451
    sub = folder / "more"
    sub.mkdir()
    (sub / "d_coffee.JPEG").write_bytes(jpeg_bytes(skdata.coffee()))      # 400x600
    (folder / "notes.txt").write_text("not an image")
    return folder, {"exact": exact, "chelsea": skdata.chelsea(), "coffee": skdata.coffee()}


@pytest.fixture(scope="module")
def celeba_zip(tmp_path_factory):
    """A zip in CelebA's layout, written out of order: the book walks namelist() as stored."""
    path = tmp_path_factory.mktemp("zip") / "img_align_celeba.zip"
    faces = aligned_faces(4)
    payload = {f"img_align_celeba/00000{i + 1}.jpg": jpeg_bytes(f) for i, f in enumerate(faces)}
    order = ["img_align_celeba/000002.jpg", "img_align_celeba/000001.jpg",
             "img_align_celeba/000004.jpg", "img_align_celeba/000003.jpg"]
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("img_align_celeba/", b"")
        z.writestr("img_align_celeba/README.txt", b"skipped: not .jpg")
        z.writestr("img_align_celeba/extra.png", jpeg_bytes(faces[0]))  # skipped: the book keeps .jpg
        for name in order:
            z.writestr(name, payload[name])
    return str(path), [payload[name] for name in order]


@pytest.fixture(scope="module")
def packed(photos, tmp_path_factory):
    out = tmp_path_factory.mktemp("h5") / "celeba_aligned_small.h5"
    count = pack_celeba(photos[0], out, progress=False)
    return str(out), count


# ============================================================================== packing
def test_pack_writes_the_books_layout(packed):
    path, count = packed
    assert count == 4  # notes.txt skipped; the subfolder's .JPEG included
    with h5py.File(path, "r") as f:
        assert list(f.keys()) == ["img_align_celeba"]
        group = f["img_align_celeba"]
        assert sorted(group.keys()) == ["0.jpg", "1.jpg", "2.jpg", "3.jpg"]
        for key in group:
            d = group[key]
            assert d.shape == (H, W, 3) and d.dtype == np.uint8
            assert d.compression == "gzip" and d.compression_opts == 9


def test_pack_keeps_pixels_of_celeba_sized_images(packed, photos):
    path, _ = packed
    folder, sources = photos
    with h5py.File(path, "r") as f:
        np.testing.assert_array_equal(f["img_align_celeba/0.jpg"][()], sources["exact"])  # PNG
        np.testing.assert_array_equal(f["img_align_celeba/1.jpg"][()],
                                      decoded((folder / "b_face.jpg").read_bytes()))


def cover_and_centre(photo):
    """The expected geometry, worked out independently: the centred region of the photo with
    CelebA's aspect ratio, scaled to 218x178 (skimage, anti-aliased)."""
    from skimage.transform import resize

    ph, pw = photo.shape[:2]
    if pw / ph > W / H:  # too wide: keep the full height
        keep = round(ph * W / H)
        region = photo[:, (pw - keep) // 2:(pw - keep) // 2 + keep]
    else:
        keep = round(pw * H / W)
        region = photo[(ph - keep) // 2:(ph - keep) // 2 + keep]
    return resize(region, (H, W), anti_aliasing=True, preserve_range=True)


@pytest.mark.parametrize("key, name", [("2.jpg", "chelsea"), ("3.jpg", "coffee")])
def test_other_photographs_are_resized_to_cover_and_centre_cropped(packed, photos, key, name):
    path, _ = packed
    with h5py.File(path, "r") as f:
        stored = f["img_align_celeba"][key][()].astype(np.float64)
    expected = cover_and_centre(photos[1][name])
    assert np.abs(stored - expected).mean() < 8  # JPEG + resampling differences: 2-5 here
    # a wrong crop (e.g. the left edge instead of the centre) is far off
    wrong = cover_and_centre(photos[1][name][:, : photos[1][name].shape[1] // 2])
    assert np.abs(stored - wrong).mean() > 25  # 35-65 here


def test_pack_zip_in_namelist_order_with_limit(celeba_zip, tmp_path, capsys):
    src, jpgs = celeba_zip
    out = tmp_path / "small.h5"
    assert pack_celeba(src, out, limit=3, progress=True) == 3
    assert "packing CelebA" in capsys.readouterr().err  # the tqdm bar
    with h5py.File(out, "r") as f:
        group = f["img_align_celeba"]
        assert sorted(group.keys()) == ["0.jpg", "1.jpg", "2.jpg"]
        for i in range(3):  # 000002, 000001, 000004: the archive's order, not sorted
            np.testing.assert_array_equal(group[f"{i}.jpg"][()], decoded(jpgs[i]))
    assert os.listdir(tmp_path) == ["small.h5"]  # no temporary file left


def test_pack_errors_leave_no_partial_output(tmp_path, photos):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.jpg").write_bytes(jpeg_bytes(aligned_faces(1)[0]))
    (bad / "b.jpg").write_bytes(b"\xff\xd8 this is not really a JPEG")
    out = tmp_path / "out.h5"
    out.write_bytes(b"the old file")
    with pytest.raises(DataError, match=r"bad: entry b\.jpg is not a readable image"):
        pack_celeba(bad, out, progress=False)
    assert out.read_bytes() == b"the old file"  # untouched: written under a temporary name
    assert sorted(os.listdir(tmp_path)) == ["bad", "out.h5"]

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="found no JPEG or PNG images"):
        pack_celeba(empty, tmp_path / "x.h5", progress=False)
    with pytest.raises(DataError, match="not a zip file"):
        pack_celeba(photos[0] / "notes.txt", tmp_path / "x.h5", progress=False)
    with pytest.raises(DataError, match="no such file or folder"):
        pack_celeba(tmp_path / "img_align_celeba.zip", tmp_path / "x.h5", progress=False)
    with pytest.raises(DataError, match="limit must be a positive"):
        pack_celeba(photos[0], tmp_path / "x.h5", limit=0, progress=False)
    with pytest.raises(DataError, match="does not exist"):
        pack_celeba(photos[0], tmp_path / "no" / "x.h5", progress=False)


# ============================================================================== reading
def test_fc_items_are_hwc_over_255(packed):
    """BOOK_SPEC section 4.12: the whole image, (218, 178, 3), / 255.0."""
    path, count = packed
    ds = CelebADataset(path)
    assert len(ds) == count
    with h5py.File(path, "r") as f:
        stored = [f[f"img_align_celeba/{i}.jpg"][()] for i in range(count)]
    for i in range(count):
        img = ds[i]
        assert isinstance(img, minigan.Tensor) and img.shape == (H, W, 3)
        assert img.dtype == minigan.float32
        values = img.numpy()
        assert 0.0 <= values.min() and values.max() <= 1.0
        np.testing.assert_array_equal(values, stored[i].astype(np.float32) / np.float32(255))
    np.testing.assert_array_equal(ds[-1].numpy(), ds[count - 1].numpy())
    assert sum(1 for _ in ds) == count  # IndexError ends the book's loop
    with pytest.raises(IndexError):
        ds[count]
    ds.close()


def test_conv_items_are_the_books_centre_crop(packed, torch):
    """BOOK_SPEC section 4.14: crop_centre 128 (rows 45-172, cols 25-152), CHW, (1,3,128,128)."""
    path, _ = packed
    with h5py.File(path, "r") as f:
        stored = f["img_align_celeba/0.jpg"][()]
    with CelebADataset(path, crop=128) as ds:
        img = ds[0]
    assert img.shape == (1, 3, 128, 128) and img.dtype == minigan.float32
    manual = stored[45:173, 25:153].transpose(2, 0, 1)[None].astype(np.float32) / np.float32(255)
    np.testing.assert_array_equal(img.numpy(), manual)
    # the notebook's own code on PyTorch gives the same numbers
    book = torch.FloatTensor(crop_centre(stored, 128, 128).copy()).permute(2, 0, 1)
    np.testing.assert_array_equal(img.numpy(), (book.reshape(1, 3, 128, 128) / 255.0).numpy())


def test_crop_centre_rule():
    img = np.arange(H * W * 3).reshape(H, W, 3)
    crop = crop_centre(img, 128, 128)
    assert crop.shape == (128, 128, 3)
    assert crop[0, 0, 0] == img[45, 25, 0] and crop[-1, -1, 0] == img[172, 152, 0]
    assert crop_centre(img, 100, 50).shape == (50, 100, 3)
    with pytest.raises(ValueError, match="cannot take"):
        crop_centre(img, 200, 128)


def test_plot_image_and_repr(packed):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path, _ = packed
    fig, ax = plt.subplots()
    try:
        with CelebADataset(path) as ds:
            assert ds.plot_image(0, ax=ax) is ax
            assert ax.get_images()[0].get_array().shape == (H, W, 3)
            assert "4 images" in repr(ds)
        with CelebADataset(path, crop=128) as ds:
            ds.plot_image(1, ax=ax)
            assert ax.get_images()[-1].get_array().shape == (128, 128, 3)
    finally:
        plt.close(fig)


# --------------------------------------------------------------------------- reading errors
def test_reading_errors_name_the_file_and_how_to_pack(tmp_path):
    missing = tmp_path / "celeba.h5"
    with pytest.raises(DataError) as e:
        CelebADataset(missing)
    assert str(missing) in str(e.value)
    assert "minigan data pack-celeba img_align_celeba.zip celeba.h5" in str(e.value)

    text = tmp_path / "faces.h5"
    text.write_text("hello")
    with pytest.raises(DataError, match=r"faces\.h5: not an HDF5 file"):
        CelebADataset(text)

    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f.create_group("faces")
        f.create_dataset("0.jpg", data=np.zeros((H, W, 3), np.uint8))
    with pytest.raises(DataError, match=r"other\.h5: no group 'img_align_celeba' \(the file has: "
                                        r"0\.jpg, faces\).*pack-celeba"):
        CelebADataset(other)

    empty = tmp_path / "empty.h5"
    with h5py.File(empty, "w") as f:
        f.create_group("img_align_celeba")
    with pytest.raises(DataError, match="holds no images"):
        CelebADataset(empty)


def test_wrong_image_shape_dtype_or_key_is_named(tmp_path):
    path = tmp_path / "odd.h5"
    with h5py.File(path, "w") as f:
        g = f.create_group("img_align_celeba")
        g.create_dataset("0.jpg", data=np.zeros((64, 64, 3), np.uint8))
        g.create_dataset("1.jpg", data=np.zeros((H, W, 3), np.float32))
        g.create_dataset("7.jpg", data=np.zeros((H, W, 3), np.uint8))
    ds = CelebADataset(path)
    with pytest.raises(DataError, match=r"odd\.h5: img_align_celeba/0\.jpg is uint8 \(64, 64, 3\), "
                                        r"expected uint8 \(218, 178, 3\)"):
        ds[0]
    with pytest.raises(DataError, match=r"img_align_celeba/1\.jpg is float32"):
        ds[1]
    with pytest.raises(DataError, match=r"img_align_celeba/2\.jpg is missing"):
        ds[2]
    ds.close()
    with pytest.raises(DataError, match="crop must be"):
        CelebADataset(path, crop=300)


# ============================================================================== the command
def test_pack_celeba_command(celeba_zip, tmp_path, capsys):
    parser = argparse.ArgumentParser()
    pack_command.add_arguments(parser)
    out = tmp_path / "celeba_aligned_small.h5"
    args = parser.parse_args([celeba_zip[0], str(out), "--limit", "2", "--quiet"])
    assert pack_command.run(args) == 0
    assert len(CelebADataset(out)) == 2
    assert capsys.readouterr().out == ""  # --quiet

    args = parser.parse_args([str(tmp_path / "nothing.zip"), str(out)])
    assert pack_command.run(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("minigan data pack-celeba: ") and "nothing.zip" in err
    with pytest.raises(SystemExit):
        parser.parse_args([celeba_zip[0], str(out), "--limit", "0"])
    assert "--limit 20000" in pack_command.__doc__ and "CelebA" in pack_command.__doc__
