"""The DCGAN of Radford et al. (``minigan train dcgan``, :mod:`minigan.models.dcgan`).

The layer stacks and parameter counts at 32 and 64 pixels, for digits (nc 1) and faces
(nc 3), on minigan and on PyTorch; ``weights_init`` through ``Module.apply`` (its means,
spreads and zero biases); the resizing of real batches against PyTorch's ``avg_pool2d`` and
``interpolate``; a float64 run of the book's three-step loop on both frameworks from the same
initial weights, ending with the same weights; and the command line: ``--image-size``, bad
sizes, a faces run from a packed HDF5 file of real photographs, model files that rebuild
at their size, and the example script.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minigan
from minigan import models
from minigan.cli import main
from minigan.data import bundled_mnist
from minigan.models import dcgan
from minigan.training import gan_step

from twins import assert_same_weights, float64_twins, state_arrays

torch = pytest.importorskip("torch")


pytestmark = pytest.mark.usefixtures("one_torch_thread")   # (tests/conftest.py)


#: (image size, channels) -> (D, G) parameters. 64 pixels with nc 3 is the network of PyTorch's
#: example: 2,765,568 and 3,576,704. The others follow from the layer list by hand: nc 1 has
#: 16 x 64 x 2 fewer weights (D's first conv, G's last); 32 pixels drops the 8ndf / 8ngf stage.
COUNTS = {(64, 3): (2_765_568, 3_576_704), (64, 1): (2_763_520, 3_574_656),
          (32, 3): (663_296, 1_068_928), (32, 1): (661_248, 1_066_880)}


def _count(module):
    return sum(p.numel() for p in module.parameters())


def _convs(module):
    """(kind, in, out, kernel, stride, padding, has bias) of every convolution, in order."""
    return [(type(m).__name__, m.in_channels, m.out_channels, tuple(m.kernel_size), tuple(m.stride),
             tuple(m.padding), m.bias is not None)
            for m in module.modules() if "Conv" in type(m).__name__]


# ============================================================================== structure
@pytest.mark.parametrize("size, nc", list(COUNTS))
def test_layer_stacks_and_parameter_counts_on_minigan_and_torch(size, nc):
    exp = models.get("dcgan").configure(image_size=size, channels=nc)
    assert exp.image_shape == (nc, size, size) and exp.parameters == COUNTS[size, nc]
    stages = {32: 3, 64: 4}[size]
    top = 64 * 2 ** (stages - 1)                 # 8ngf at 64 pixels, 4ngf at 32
    g_convs = [("ConvTranspose2d", 100, top, (4, 4), (1, 1), (0, 0), False)]
    g_convs += [("ConvTranspose2d", top >> i, top >> (i + 1), (4, 4), (2, 2), (1, 1), False)
                for i in range(stages - 1)]
    g_convs += [("ConvTranspose2d", 64, nc, (4, 4), (2, 2), (1, 1), False)]
    d_convs = [("Conv2d", nc, 64, (4, 4), (2, 2), (1, 1), False)]
    d_convs += [("Conv2d", 64 << i, 64 << (i + 1), (4, 4), (2, 2), (1, 1), False) for i in range(stages - 1)]
    d_convs += [("Conv2d", top, 1, (4, 4), (1, 1), (0, 0), False)]
    g_layers = (["ConvTranspose2d", "BatchNorm2d", "ReLU"] * stages) + ["ConvTranspose2d", "Tanh"]
    d_layers = ["Conv2d", "LeakyReLU"] + ["Conv2d", "BatchNorm2d", "LeakyReLU"] * (stages - 1) \
        + ["Conv2d", "Sigmoid", "Flatten"]
    for fw in (minigan, torch):
        G, D = exp.generator(fw), exp.discriminator(fw)
        assert [type(m).__name__ for m in G] == g_layers and _convs(G) == g_convs
        assert [type(m).__name__ for m in D] == d_layers and _convs(D) == d_convs
        assert [m.negative_slope for m in D if type(m).__name__ == "LeakyReLU"] == [0.2] * stages
        assert (_count(D), _count(G)) == COUNTS[size, nc]
        with fw.no_grad():
            image = G(fw.randn(2, 100, 1, 1))
            assert tuple(image.shape) == (2, nc, size, size)
            assert tuple(D(image).shape) == (2, 1)
    ours, theirs = exp.generator(minigan), exp.generator(torch)
    assert [tuple(p.shape) for p in ours.parameters()] == [tuple(p.shape) for p in theirs.parameters()]


def test_issue_settings():
    exp = models.get("dcgan")
    assert (exp.image_size, exp.nc, exp.batch_size, exp.shuffle, exp.data) == (32, 1, 64, True, "mnist")
    nets = exp.build()
    for net in (nets.D, nets.G):
        group = net.optimiser.param_groups[0]
        assert type(net.optimiser).__name__ == "Adam" and group["lr"] == 2e-4
        assert tuple(group["betas"]) == (0.5, 0.999)
    assert type(nets.D.loss_function).__name__ == "BCELoss"
    assert tuple(exp.seed(minigan, 5).shape) == (5, 100, 1, 1)
    assert exp.notes and "published: 64" in exp.notes[0]         # the recorded departure
    assert exp.configure(image_size=64).notes == ()
    assert exp.configure(data="faces.h5").nc == 3 and exp.configure(data="faces.h5").data == "celeba"
    assert exp.configure(data="fashion-mnist") is exp
    for bad in (28, 48, 128, 0):
        with pytest.raises(ValueError, match="32, 64"):
            exp.configure(image_size=bad)


def test_weights_init_statistics():
    """Conv weights N(0, 0.02), BatchNorm weights N(1, 0.02), BatchNorm biases 0 - on both
    frameworks, and not what the layers' own initialisation gives."""
    exp = models.get("dcgan").configure(image_size=64, channels=3)
    minigan.manual_seed(0)
    torch.manual_seed(0)
    for fw in (minigan, torch):
        for module in (exp.generator(fw), exp.discriminator(fw)):
            convs = np.concatenate([np.asarray(m.weight.detach().numpy()).ravel()
                                    for m in module.modules() if "Conv" in type(m).__name__])
            bn = [m for m in module.modules() if "BatchNorm" in type(m).__name__]
            scales = np.concatenate([np.asarray(m.weight.detach().numpy()) for m in bn])
            shifts = np.concatenate([np.asarray(m.bias.detach().numpy()) for m in bn])
            assert convs.size > 2_000_000 and abs(convs.mean()) < 1e-4
            assert convs.std() == pytest.approx(0.02, rel=0.01)
            assert scales.size in (896, 960)
            assert abs(scales.mean() - 1) < 0.003 and scales.std() == pytest.approx(0.02, rel=0.15)
            assert np.all(shifts == 0)
    # the layers' defaults are something else (Kaiming-uniform convs, BatchNorm weight 1):
    plain = minigan.nn.ConvTranspose2d(512, 256, 4, 2, 1, bias=False)
    assert np.asarray(plain.weight.detach().numpy()).std() < 0.01
    assert minigan.nn.BatchNorm2d(8).apply(dcgan.weights_init).weight.detach().numpy().std() > 0


def test_resize_matches_torch():
    """Real digits up to 32 / 64 (bilinear), generated ones back to 28 (a 2x2 average first at
    64), and a 178-pixel face to 32 (5x5 average, then bilinear), as PyTorch computes them."""
    F = torch.nn.functional
    rng = np.random.default_rng(0)
    for side, size in ((28, 32), (28, 64), (32, 28), (64, 28), (178, 32), (178, 64)):
        x = rng.uniform(size=(2, 3, side, side)).astype(np.float32)
        ours = dcgan.resize(minigan.tensor(x), size).numpy()
        t = torch.from_numpy(x)
        if side // size >= 2:
            t = F.avg_pool2d(t, side // size)
        theirs = F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False).numpy()
        assert ours.shape == (2, 3, size, size)
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6, err_msg=f"{side} -> {size}")


def test_real_batches_and_pictures():
    exp = models.get("dcgan")
    ds = bundled_mnist("train")
    real = exp.real_batch(ds, np.arange(6)).numpy()
    assert real.shape == (6, 1, 32, 32) and real.min() == -1.0 and 0.9 < real.max() <= 1.0
    digits = torch.from_numpy(ds.images[:6].reshape(6, 1, 28, 28) / np.float32(255.0))
    expected = torch.nn.functional.interpolate(digits, size=(32, 32), mode="bilinear") * 2 - 1
    np.testing.assert_allclose(real, expected.numpy(), atol=1e-6)
    one = exp.real(ds[0]).numpy()                 # a batch of one (--batch-size 1, the D test)
    np.testing.assert_allclose(one, real[:1], atol=1e-6)
    # G's outputs in [-1, 1] come back as 28x28 digits in [0, 1], for the judge
    back = exp.to_images(real)
    assert back.shape == (6, 1, 28, 28) and back.min() >= 0 and back.max() <= 1
    assert np.abs(back.reshape(6, 784) - ds.images[:6] / 255.0).mean() < 0.03
    assert exp.configure(image_size=64).to_images(np.zeros((2, 1, 64, 64))).shape == (2, 1, 28, 28)
    assert exp.configure(channels=3).to_images(np.zeros((2, 3, 32, 32))).shape == (2, 3, 32, 32)


# ============================================================================== training parity
@pytest.mark.parametrize("size, steps, batch", [(32, 3, 8), (64, 2, 2)])
def test_parity_with_torch_float64(size, steps, batch):
    """The book's three steps (gan_step) on resized real digits: D, D, G with BCE and Adam
    (0.5, 0.999), BatchNorm in training mode - the same weights and running statistics at the
    end on both frameworks."""
    exp = models.get("dcgan").configure(image_size=size)
    ours, theirs = float64_twins(exp)
    ds = bundled_mnist("train")
    reals = [exp.real_batch(ds, np.arange(i * batch, (i + 1) * batch)).numpy().astype(np.float64)
             for i in range(steps)]
    seeds = np.random.default_rng(5).standard_normal((steps, 2, batch, 100, 1, 1))
    before = state_arrays(ours.G)
    for fw, nets in ((minigan, ours), (torch, theirs)):
        ones, zeros = exp.targets(fw, batch, dtype=fw.float64)
        for real, (a, b) in zip(reals, seeds):
            gan_step(nets.D, nets.G, fw.from_numpy(real), fw.from_numpy(a), fw.from_numpy(b), ones, zeros)
    assert any("running_mean" in k for k in state_arrays(theirs.D))
    assert_same_weights(ours, theirs, rtol=1e-7, atol=1e-12)
    assert not np.allclose(before["0.weight"], state_arrays(ours.G)["0.weight"])
    assert (ours.D.counter, ours.G.counter) == (2 * steps, steps)


# ============================================================================== the command line
def _run(tmp_path, *args, name="run"):
    out = tmp_path / name
    assert main(["train", "dcgan", *args, "--out", str(out), "--quiet"]) == 0
    return out, json.loads((out / "config.json").read_text()), json.loads((out / "metrics.json").read_text())


def test_train_writes_outputs_and_the_model_file_rebuilds(tmp_path):
    out, config, metrics = _run(tmp_path, "--steps", "2", "--image-size", "32", "--batch-size", "8")
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "losses.png", "metrics.json", "model.npz",
                                                      "samples.png", "samples_book.png", "training.gif"]
    assert (config["image_size"], config["image_channels"], config["batch_size"]) == (32, 1, 8)
    assert any("image size 32 (published: 64)" in d for d in config["departures"])
    assert metrics["iterations"] == 2 and metrics["mode_collapse"]["count"] == 1000
    sample = tmp_path / "s.npz"
    assert main(["sample", str(out / "model.npz"), "--count", "3", "--out", str(sample)]) == 0
    images = np.load(sample)["images"]
    assert images.shape == (3, 1, 28, 28) and 0 <= images.min() and images.max() <= 1
    from minigan.modelfile import load_model
    exp, modules, _ = load_model(out / "model.npz", kind="gan")
    assert exp.image_size == 32 and _count(modules["G"]) == COUNTS[32, 1][1]


def test_model_file_rebuilds_at_64_pixels_and_for_faces(tmp_path):
    """config.json's image size and channels rebuild the networks a model file holds."""
    from minigan.modelfile import ModelFileError, load_model, save_model
    for size, nc in ((64, 1), (32, 3)):
        exp = models.get("dcgan").configure(image_size=size, channels=nc)
        nets = exp.build()
        path = tmp_path / f"{size}_{nc}.npz"
        save_model(path, exp, {"D": nets.D.module, "G": nets.G.module},
                   {"image_size": size, "image_channels": nc})
        loaded, modules, _ = load_model(path, kind="gan")
        assert (loaded.image_size, loaded.nc) == (size, nc)
        assert (_count(modules["D"]), _count(modules["G"])) == COUNTS[size, nc]
        np.testing.assert_array_equal(modules["G"].state_dict()["0.weight"].detach().numpy(),
                                      nets.G.module.state_dict()["0.weight"].detach().numpy())
    save_model(tmp_path / "bad.npz", exp, {"D": nets.D.module, "G": nets.G.module}, {"image_size": 48})
    with pytest.raises(ModelFileError, match="image size must be one of 32, 64"):
        load_model(tmp_path / "bad.npz")


@pytest.mark.parametrize("args, message", [
    (["dcgan", "--image-size", "48"], "image size must be one of 32, 64"),
    (["dcgan", "--image-size", "-1"], "image size must be one of 32, 64"),
    (["gan-mlp", "--image-size", "32"], "gan-mlp has no image size"),
])
def test_bad_image_size_is_a_clear_error(tmp_path, capsys, args, message):
    assert main(["train", *args, "--steps", "1", "--out", str(tmp_path / "x"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("minigan train: ") and message in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()                                 # nothing was started


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    """An HDF5 file in the book's CelebA layout, packed by `minigan data pack-celeba` from 8
    real photographs (faces of Labeled Faces in the Wild, from scikit-image)."""
    skdata = pytest.importorskip("skimage.data")
    pytest.importorskip("h5py")
    Image = pytest.importorskip("PIL.Image")
    folder = tmp_path_factory.mktemp("faces")
    for i, face in enumerate(skdata.lfw_subset()[:8]):        # the first 100 are faces
        grey = (face * 255).round().astype(np.uint8)
        Image.fromarray(np.stack([grey] * 3, axis=-1)).save(folder / f"{i:03d}.png")
    out = folder / "faces.h5"
    assert main(["data", "pack-celeba", str(folder), str(out)]) == 0
    return out


def test_faces_from_hdf5(tmp_path, faces):
    from minigan.data import CelebADataset, crop_centre
    exp = models.get("dcgan").configure(data=str(faces))
    ds = CelebADataset(str(faces))
    real = exp.real_batch(ds, np.array([0, 3])).numpy()
    crops = np.stack([crop_centre(ds.raw(i), 178, 178).transpose(2, 0, 1) for i in (0, 3)]) / np.float32(255)
    F = torch.nn.functional
    expected = F.interpolate(F.avg_pool2d(torch.from_numpy(crops.astype(np.float32)), 5), size=(32, 32),
                             mode="bilinear") * 2 - 1
    np.testing.assert_allclose(real, expected.numpy(), atol=1e-5)
    out, config, metrics = _run(tmp_path, "--data", str(faces), "--steps", "2", "--batch-size", "4", "--no-gif")
    assert (config["image_size"], config["image_channels"], config["data_items"]) == (32, 3, 8)
    assert "mode_collapse" not in metrics and (out / "samples.png").exists()      # no digit judge
    sample = tmp_path / "f.npz"
    assert main(["sample", str(out / "model.npz"), "--count", "2", "--out", str(sample)]) == 0
    assert np.load(sample)["images"].shape == (2, 3, 32, 32)


def test_example_runs(tmp_path):
    path = Path(__file__).resolve().parent.parent / "examples" / "beyond_dcgan.py"
    done = subprocess.run([sys.executable, str(path), "--steps", "2", "--batch-size", "8"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "dcgan at 32 pixels: 2 steps" in done.stdout and "of 10 classes" in done.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dcgan_losses.png", "dcgan_samples.png"]
