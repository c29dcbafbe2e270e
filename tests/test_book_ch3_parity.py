"""Training parity with PyTorch for chapter 3's GANs: the conv CelebA GAN and the CGAN.

As ``test_book_parity.py`` (whose helpers these tests use): the experiment built on minigan and
on PyTorch in float64 with minigan's initial weights copied into the twin, every real sample,
seed and label drawn up front with NumPy, the book's steps written once in
:mod:`minigan.training` driving both, and at the end every parameter and buffer (BatchNorm's
running statistics too), the recorded losses and Adam's moments agreeing to a relative 1e-6.

=================  ==========  ================================================================
experiment         iterations  data
=================  ==========  ================================================================
cgan               200         real digits of the bundled MNIST sample with their own labels;
                               random labels for the fake and G steps, the same on both sides
                               (BOOK_SPEC 4.16)
conv-celeba-gan    10 (slow)   CelebA-format photographs: scikit-image's astronaut, cat and
                               coffee (and their mirror images), resized to 218 x 178 and
                               centre-cropped to 128 x 128 with the book's ``crop_centre``
                               (4.14). The issue's 50 iterations: about 4 s each per framework
                               in float64 on one core, so some 6 minutes (the slowest test);
                               ``MINIGAN_CONV_PARITY_STEPS=10`` for a quick local run.
=================  ==========  ================================================================
"""
from __future__ import annotations

import os

import numpy as np
import pytest

import minigan
from minigan.training import conditional_gan_step, gan_step

torch = pytest.importorskip("torch")

from test_book_parity import (_moved, _report, _state, _twins,  # noqa: E402,F401
                              compare_adam, compare_progress, compare_weights)

pytestmark = pytest.mark.usefixtures("one_torch_thread")   # (tests/conftest.py)

CGAN_STEPS = 200
CONV_STEPS = int(os.environ.get("MINIGAN_CONV_PARITY_STEPS", "50"))
#: How far a parameter with an exactly-zero gradient may drift: Adam turns a rounding-noise
#: gradient |g| ~ 1e-15 into steps of about lr * |g| / eps = 1e-4 * 1e-15 / 1e-8 = 1e-11.
NOISE_DRIFT = 1e-9
#: The conv GAN's convolution biases that feed a BatchNorm directly: BatchNorm subtracts each
#: channel's mean, so a per-channel constant has no effect and its gradient is exactly zero;
#: computed, it is rounding noise that differs between frameworks.
CONV_BIASES_BEFORE_BATCHNORM = ("D.0.bias", "D.3.bias", "G.3.bias", "G.6.bias", "G.9.bias")


def _parity(name, run, *data, noise_only=()):
    """Train both twins with ``run(fw, exp, nets, *data)``; compare everything; return the worst.

    ``noise_only`` names parameters whose exact gradient is zero (see the conv GAN's test):
    they must stay within ``NOISE_DRIFT`` of their start on both sides, and are held to that
    absolute bound instead of the relative one.
    """
    exp, ours, theirs = _twins(name)
    start = [_state(n) for n in (ours.D, ours.G)]
    run(minigan, exp, ours, *data)
    run(torch, exp, theirs, *data)
    steps = len(data[0])
    assert (ours.D.counter, ours.G.counter) == (2 * steps, steps)
    for nets in (ours, theirs):
        for s, net in zip(start, (nets.D, nets.G)):
            now = _state(net)
            for key in noise_only:
                net_name, _, param = key.partition(".")
                if net_name == net.name:
                    drift = float(np.max(np.abs(now[param] - s[param])))
                    assert drift < NOISE_DRIFT, f"{key} moved by {drift:.3g}: its gradient is not noise"
    weights = compare_weights(ours, theirs, atol=NOISE_DRIFT if noise_only else 1e-12)
    if noise_only:   # the worst over the parameters that really learn
        weights = max((_relative_one(net_m, net_t, k), f"{net_m.name}.{k}")
                      for net_m, net_t in ((ours.D, theirs.D), (ours.G, theirs.G))
                      for k in _state(net_t) if f"{net_m.name}.{k}" not in noise_only)
    progress = compare_progress(ours, theirs)
    moments = None if noise_only else compare_adam(ours, theirs)
    assert all(_moved(s, _state(n)) for s, n in zip(start, (ours.D, ours.G)))
    _report(name, steps, weights, progress, moments)
    return weights


def _relative_one(m, t, key):
    a, b = _state(m)[key], _state(t)[key]
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-6), initial=0.0))


# ============================================================================== the CGAN
def run_cgan(fw, exp, nets, reals, labels, seeds_a, labels_a, seeds_b, labels_b):
    """The CGAN's loop (BOOK_SPEC 4.16) over pre-drawn numbers; labels as one-hot float64."""
    ones, zeros = exp.targets(fw, dtype=fw.float64)
    eye = np.eye(10)
    for real, label, a, la, b, lb in zip(reals, labels, seeds_a, labels_a, seeds_b, labels_b):
        conditional_gan_step(nets.D, nets.G, fw.from_numpy(real), fw.from_numpy(eye[label]),
                             fw.from_numpy(a), fw.from_numpy(eye[la]),
                             fw.from_numpy(b), fw.from_numpy(eye[lb]), ones, zeros)


def test_cgan_parity():
    """BOOK_SPEC 4.16: [image, one-hot] into D, [seed, one-hot] into G, Adam 1e-4, real digits."""
    from minigan.data import bundled_mnist
    ds = bundled_mnist("train")
    reals, labels = ds.images[:CGAN_STEPS].astype(np.float64) / 255.0, ds.labels[:CGAN_STEPS]
    rng = np.random.default_rng(16)
    seeds_a, seeds_b = rng.standard_normal((CGAN_STEPS, 100)), rng.standard_normal((CGAN_STEPS, 100))
    labels_a, labels_b = rng.integers(0, 10, CGAN_STEPS), rng.integers(0, 10, CGAN_STEPS)
    _parity("cgan", run_cgan, reals, labels, seeds_a, labels_a, seeds_b, labels_b)


def test_cgan_twin_reads_labels():
    """The same weights, shown different labels, draw different images on both frameworks."""
    _, ours, theirs = _twins("cgan")
    seed = np.random.default_rng(0).standard_normal(100)
    eye = np.eye(10)
    with minigan.no_grad(), torch.no_grad():
        outs = [[np.asarray(fw_nets.G(fw.from_numpy(seed), fw.from_numpy(eye[k])).numpy())
                 for k in (3, 7)] for fw, fw_nets in ((minigan, ours), (torch, theirs))]
    np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-12)
    np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-12)
    assert not np.allclose(outs[0][0], outs[0][1])


# ============================================================================== the conv GAN
def celeba_crops(n):
    """``n`` (1, 3, 128, 128) float64 images in [0, 1]: photographs in CelebA's 218 x 178
    format, centre-cropped as the book's conv GAN dataset does (BOOK_SPEC section 2)."""
    skdata = pytest.importorskip("skimage.data")
    from PIL import Image

    from minigan.data import crop_centre
    photos = [skdata.astronaut(), skdata.chelsea(), skdata.coffee()]
    photos += [p[:, ::-1] for p in photos]
    out = []
    for i in range(n):
        img = Image.fromarray(np.ascontiguousarray(photos[i % len(photos)]))
        hwc = np.asarray(img.resize((178, 218), Image.BICUBIC))
        crop = crop_centre(hwc, 128, 128)
        out.append(crop.transpose(2, 0, 1).reshape(1, 3, 128, 128).astype(np.float64) / 255.0)
    return np.stack(out)


def run_conv(fw, exp, nets, reals, seeds_a, seeds_b):
    ones, zeros = exp.targets(fw, dtype=fw.float64)
    for real, a, b in zip(reals, seeds_a, seeds_b):
        gan_step(nets.D, nets.G, fw.from_numpy(real), fw.from_numpy(a), fw.from_numpy(b),
                 ones, zeros)


@pytest.mark.slow
def test_conv_celeba_gan_parity():
    """BOOK_SPEC 4.14: Conv2d/ConvTranspose2d k8 s2, BatchNorm2d in training mode, LeakyReLU(0.2)."""
    reals = celeba_crops(CONV_STEPS)
    assert reals.shape == (CONV_STEPS, 1, 3, 128, 128) and 0 <= reals.min() and reals.max() <= 1
    rng = np.random.default_rng(14)
    seeds_a, seeds_b = rng.standard_normal((CONV_STEPS, 100)), rng.standard_normal((CONV_STEPS, 100))
    _parity("conv-celeba-gan", run_conv, reals, seeds_a, seeds_b,
            noise_only=CONV_BIASES_BEFORE_BATCHNORM)
