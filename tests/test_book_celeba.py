"""The CelebA GANs (BOOK_SPEC 4.12, 4.14) through ``minigan train``, on a CelebA-format HDF5
packed from real photographs that scikit-image ships (faces from Labeled Faces in the Wild).

A few steps each: the point is that real photographs flow from the packer through the book's
crop and layout into the networks and out as pictures, not the faces' quality (a README row).
"""
from __future__ import annotations

import json

import numpy as np
import pytest

skdata = pytest.importorskip("skimage.data")
from PIL import Image  # noqa: E402

from minigan.cli import main  # noqa: E402
from minigan.data import pack_celeba  # noqa: E402


@pytest.fixture(scope="module")
def faces_h5(tmp_path_factory):
    folder = tmp_path_factory.mktemp("faces")
    faces = (skdata.lfw_subset()[:6] * 255).round().astype(np.uint8)
    for i, face in enumerate(faces):
        rgb = Image.fromarray(np.stack([face] * 3, axis=-1)).resize((178, 218), Image.BICUBIC)
        rgb.save(folder / f"{i:06d}.jpg", quality=95)
    out = tmp_path_factory.mktemp("h5") / "faces.h5"
    assert pack_celeba(folder, out, progress=False) == 6
    return str(out)


@pytest.mark.parametrize("name, shape", [("celeba-gan", (3, 218, 178)),
                                         ("conv-celeba-gan", (3, 128, 128))])
def test_celeba_gans_train_and_sample(faces_h5, tmp_path, name, shape):
    out = tmp_path / name
    assert main(["train", name, "--data", faces_h5, "--steps", "2", "--no-gif", "--quiet",
                 "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["iterations"] == 2 and np.isfinite(metrics["seconds"])
    config = json.loads((out / "config.json").read_text())
    assert config["data_items"] == 6
    assert main(["sample", str(out / "model.npz"), "--count", "2", "--out", str(tmp_path / "s.npz")]) == 0
    images = np.load(tmp_path / "s.npz", allow_pickle=False)["images"]
    assert images.shape == (2, *shape) and 0 <= images.min() and images.max() <= 1


def test_conv_gan_discriminator_test_on_faces(faces_h5, tmp_path):
    out = tmp_path / "dtest"
    assert main(["train", "conv-celeba-gan", "--discriminator-test", "--data", faces_h5,
                 "--steps", "3", "--quiet", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["d_real"]) == 4 and len(metrics["d_noise"]) == 4
