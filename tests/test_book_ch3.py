"""Chapter 3 and appendices B, D: the CGAN's step, loop and commands; the CNN scored both ways
with BatchNorm; the appendices' numbers; and the examples, run briefly.

Short ``--steps`` runs on the bundled real MNIST sample: what the commands write and print,
not how good the digits are (the default run's per-label table is a README row).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minigan
from minigan import book
from minigan.book import appendix_b, appendix_d
from minigan.book.cgan import CGAN, format_label_table, label_accuracy
from minigan.cli import main
from minigan.training import Network, conditional_gan_step

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def cgan_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cgan") / "run"
    assert main(["train", "cgan", "--steps", "300", "--out", str(out), "--quiet"]) == 0
    return out


# ============================================================================== the CGAN
def test_cgan_networks_are_the_books():
    """BOOK_SPEC 4.16 / 5.3: D 159,601 and G 180,184 parameters; [image, one-hot] and [seed, one-hot]."""
    assert "cgan" in book.NAMES and book.get("cgan") is CGAN
    nets = CGAN.build()
    assert sum(p.numel() for p in nets.D.parameters()) == 159_601
    assert sum(p.numel() for p in nets.G.parameters()) == 180_184
    D, G = nets.D.module.model, nets.G.module.model
    assert (D[0].in_features, G[0].in_features, G[3].out_features) == (794, 110, 784)
    label = minigan.zeros(10)
    label[3] = 1.0
    with minigan.no_grad():
        image = nets.G(minigan.randn(100), label)
        assert image.shape == (784,) and 0 <= image.min().item() and image.max().item() <= 1
        assert nets.D(image, label).shape == (1,)
        batch = nets.G.module(minigan.randn(5, 100), minigan.zeros(5, 10))
        assert batch.shape == (5, 784)


class _Recorder(minigan.nn.Module):
    """A conditional network that remembers which (inputs, label) it was called with."""

    def __init__(self, inner, calls, name):
        super().__init__()
        self.inner, self.calls, self.name = inner, calls, name

    def forward(self, inputs, label):
        self.calls.append((self.name, inputs, int(label.argmax().item())))
        return self.inner(inputs, label)


def test_conditional_gan_step_order_and_labels():
    """BOOK_SPEC 4.16: D(real, its label) -> 1; D(G(seed_a, a).detach(), a) -> 0; G through D with b."""
    calls = []
    nets = CGAN.build()
    D = Network(_Recorder(nets.D.module, calls, "D"), nets.D.optimiser, nets.D.loss_function, "D")
    G = Network(_Recorder(nets.G.module, calls, "G"), nets.G.optimiser, None, "G")
    one_hot = lambda k: minigan.tensor(np.eye(10, dtype=np.float32)[k])  # noqa: E731
    real, seed_a, seed_b = minigan.rand(784), minigan.randn(100), minigan.randn(100)
    ones, zeros = CGAN.targets(minigan)
    g_before = [p.data.copy() for p in nets.G.parameters()]
    losses = conditional_gan_step(D, G, real, one_hot(4), seed_a, one_hot(7), seed_b, one_hot(2),
                                  ones, zeros)
    assert [(name, label) for name, _, label in calls] == [("D", 4), ("G", 7), ("D", 7), ("G", 2), ("D", 2)]
    assert calls[0][1] is real and calls[1][1] is seed_a and calls[3][1] is seed_b
    assert calls[2][1].creator is None                 # the fake was detached: no gradient to G
    assert (D.counter, G.counter) == (2, 1) and len(losses) == 3
    assert any(not np.array_equal(b, p.data) for b, p in zip(g_before, nets.G.parameters()))


def test_cgan_train_writes_every_output(cgan_run):
    names = sorted(p.name for p in cgan_run.iterdir())
    assert names == ["config.json", "losses.png", "metrics.json", "model.npz", "samples.png",
                     "samples_book.png", "training.gif"]
    metrics = json.loads((cgan_run / "metrics.json").read_text())
    assert metrics["iterations"] == 300
    assert metrics["d_progress_points"] == 60 and metrics["g_progress_points"] == 30
    table = metrics["label_accuracy"]
    assert [r["label"] for r in table["per_label"]] == list(range(10))
    assert all(r["count"] == 100 and sum(r["judged"]) == 100 for r in table["per_label"])
    assert table["min_share"] == min(r["share"] for r in table["per_label"])
    assert metrics["mode_collapse"]["count"] == 1000
    from PIL import Image
    with Image.open(cgan_run / "samples.png") as grid:   # one row per label, 8 seeds: 28 + 2 padding
        assert grid.size == (8 * 30 + 2, 10 * 30 + 2)
    with Image.open(cgan_run / "training.gif") as gif:   # 10 rows of 5
        assert gif.size == (5 * 30 + 2, 10 * 30 + 2) and gif.n_frames > 10


def test_sample_draws_the_requested_label(cgan_run, tmp_path, capsys):
    model = str(cgan_run / "model.npz")
    assert main(["sample", model, "--label", "3", "--count", "7", "--out", str(tmp_path / "a.npz")]) == 0
    a = np.load(tmp_path / "a.npz", allow_pickle=False)
    assert a["images"].shape == (7, 1, 28, 28) and list(a["labels"]) == [3] * 7
    assert main(["sample", model, "--count", "12", "--out", str(tmp_path / "b.npz")]) == 0
    assert list(np.load(tmp_path / "b.npz")["labels"]) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    assert main(["sample", model, "--label", "3", "--count", "4", "--out", str(tmp_path / "c.png")]) == 0
    assert "of label 3" in capsys.readouterr().out
    # the same images through the library: label 3's one-hot into G
    minigan.manual_seed(0)
    modules = minigan.load(model)["modules"]
    G = CGAN.build().G.module
    G.load_state_dict(modules["G"])
    minigan.manual_seed(0)
    np.testing.assert_array_equal(CGAN.sample(G, 7, labels=3), a["images"])


def test_sample_label_errors(cgan_run, tmp_path, capsys):
    assert main(["sample", str(cgan_run / "model.npz"), "--label", "10", "--out",
                 str(tmp_path / "x.png")]) == 2
    assert "labels 0..9" in capsys.readouterr().err
    gan = tmp_path / "gan"
    assert main(["train", "mnist-gan", "--steps", "5", "--no-gif", "--quiet", "--out", str(gan)]) == 0
    assert main(["sample", str(gan / "model.npz"), "--label", "1", "--out", str(tmp_path / "y.png")]) == 2
    assert "not a conditional GAN" in capsys.readouterr().err


def test_eval_prints_the_per_label_table(cgan_run, capsys):
    assert main(["eval", str(cgan_run / "model.npz"), "--count", "100", "--per-label", "20"]) == 0
    out = capsys.readouterr().out
    assert "20 images drawn per requested label" in out and "label  correct  share" in out
    assert main(["eval", str(cgan_run / "model.npz"), "--count", "100", "--per-label", "20", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["model"] == "cgan" and len(result["label_accuracy"]["per_label"]) == 10


def test_cgan_runs_are_reproducible(tmp_path):
    """``--seed`` seeds minigan's generator and Python's random (the random labels) alike."""
    runs = []
    for name, seed in (("a", "0"), ("b", "0"), ("c", "1")):
        out = tmp_path / name
        assert main(["train", "cgan", "--steps", "40", "--no-gif", "--quiet", "--seed", seed,
                     "--out", str(out)]) == 0
        runs.append(minigan.load(str(out / "model.npz"))["modules"]["G"])
    a, b, c = runs
    assert all(np.array_equal(a[k].numpy(), b[k].numpy()) for k in a)
    assert any(not np.array_equal(a[k].numpy(), c[k].numpy()) for k in a)


def test_cgan_discriminator_test(tmp_path):
    """The book's D test (4.16): real digits with their labels -> 1, noise with random labels -> 0."""
    out = tmp_path / "dtest"
    assert main(["train", "cgan", "--discriminator-test", "--steps", "400", "--quiet",
                 "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert min(metrics["d_real"]) > 0.5 > max(metrics["d_noise"])


def test_label_accuracy_table_counts():
    minigan.manual_seed(0)
    G = CGAN.build().G.module
    report = label_accuracy(G, 10)
    assert report["per_label_count"] == 10 and len(report["per_label"]) == 10
    assert 0.0 <= report["min_share"] <= report["mean_share"] <= 1.0
    assert format_label_table(report).splitlines()[0].startswith("label")


# ============================================================================== the CNN's BatchNorm
def test_cnn_classifier_reports_both_batchnorm_accuracies(tmp_path, capsys):
    out = tmp_path / "cnn"
    assert main(["train", "cnn-classifier", "--steps", "300", "--out", str(out)]) == 0
    assert "BatchNorm in eval mode" in capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_accuracy_train_mode"] == metrics["test_accuracy"]
    assert 0.3 < metrics["test_accuracy_eval_mode"] <= 1.0 and 0.3 < metrics["test_accuracy"] <= 1.0
    assert main(["eval", str(out / "model.npz"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["test_accuracy_eval_mode"] == pytest.approx(metrics["test_accuracy_eval_mode"])


def test_eval_mode_scoring_restores_training_mode():
    from minigan.book.cnn_classifier import CNN
    from minigan.data import bundled_mnist
    net = CNN.build()
    test = bundled_mnist("test")
    small = type(test)(test.images[:20], test.labels[:20])
    net.module.eval()
    CNN.accuracy(net.module, small, eval_mode=True)
    assert not net.module.training
    net.module.train()
    before = [b.data.copy() for b in net.module.buffers()]
    CNN.accuracy(net.module, small, eval_mode=True)
    assert net.module.training                       # back in training mode, as the book keeps it
    assert all(np.array_equal(a, b.data) for a, b in zip(before, net.module.buffers()))


# ============================================================================== appendices
def test_appendix_b_probabilities_and_samples(tmp_path):
    probs = appendix_b.probabilities()
    np.testing.assert_array_equal(probs, [[0.75, 0, 0.125], [0, 0.875, 0], [0.25, 0, 0.125]])
    minigan.manual_seed(0)
    samples = appendix_b.sample_images(probs, 40_000)
    assert samples.shape == (40_000, 3, 3) and set(np.unique(samples)) <= {0.0, 1.0}
    np.testing.assert_allclose(samples.mean(axis=0), probs, atol=0.01)   # on with probability p
    assert samples[:, probs == 0].max() == 0.0                              # never where p = 0
    fig = appendix_b.plot_samples(samples[:24], tmp_path / "b.png")
    assert tuple(fig.get_size_inches()) == (12, 8) and len(fig.axes) == 24
    assert all(not ax.get_xticks().size for ax in fig.axes)
    appendix_b.plot_counts(path=tmp_path / "c.png")
    assert (tmp_path / "b.png").stat().st_size > 0 and (tmp_path / "c.png").stat().st_size > 0


def test_appendix_d_spirals_out(tmp_path):
    """BOOK_SPEC 4.D: 500 points; final x 1.952, y 10.864; radius 0.922 -> 11.04."""
    xs, ys = appendix_d.unstable_descent()
    assert xs.shape == ys.shape == (500,) and (xs[0], ys[0]) == (0.6, 0.7)
    assert xs[-1] == pytest.approx(1.952, abs=5e-4) and ys[-1] == pytest.approx(10.864, abs=5e-4)
    r = np.hypot(xs, ys)
    np.testing.assert_allclose(r[1:] / r[:-1], appendix_d.radius_growth(), rtol=1e-12)
    assert r[0] == pytest.approx(0.922, abs=5e-4) and r[-1] == pytest.approx(11.04, abs=5e-3)
    assert np.abs(xs).max() == pytest.approx(10.13, abs=5e-3)
    assert np.abs(ys).max() == pytest.approx(10.95, abs=5e-3)
    x1, y1 = appendix_d.unstable_descent(points=2)        # simultaneous: both from old values
    assert (x1[1], y1[1]) == pytest.approx((0.6 + 0.1 * 0.7, 0.7 - 0.1 * 0.6))
    assert tuple(appendix_d.plot_lines(xs, ys, tmp_path / "l.png").get_size_inches()) == (20, 6)
    assert tuple(appendix_d.plot_path(xs, ys, tmp_path / "p.png").get_size_inches()) == (10, 10)


# ============================================================================== the examples
def _run_example(name, *args, cwd):
    env = dict(os.environ, MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1")
    done = subprocess.run([sys.executable, str(EXAMPLES / name), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_examples_run(tmp_path):
    out = _run_example("ch3_2_cgan.py", "--steps", "50", cwd=tmp_path)
    assert "label  correct" in out and (tmp_path / "cgan_samples.png").exists()
    out = _run_example("ch3_1_cnn_classifier.py", "--steps", "50", cwd=tmp_path)
    assert "eval mode" in out and (tmp_path / "cnn_classifier_loss.png").exists()
    out = _run_example("appendix_b_probability_images.py", "--out", str(tmp_path), cwd=tmp_path)
    assert (tmp_path / "appendix_b_samples.png").exists()
    out = _run_example("appendix_d_unstable_descent.py", "--out", str(tmp_path), cwd=tmp_path)
    assert "final x = 1.952, y = 10.864" in out and (tmp_path / "appendix_d_spiral.png").exists()


def test_hooks_example_sees_the_plain_classifiers_small_gradients(tmp_path):
    """examples/ch1_3_inside_the_network.py: forward and tensor hooks on the book's two
    classifiers; the plain one's first-layer gradient is the smaller, as its docstring says."""
    out = _run_example("ch1_3_inside_the_network.py", "--steps", "300", cwd=tmp_path)
    rows = {line.split()[0]: line.split() for line in out.splitlines()
            if line.startswith(("classifier ", "classifier-improved "))}
    plain, improved = float(rows["classifier"][4]), float(rows["classifier-improved"][4])
    assert 5 * plain < improved and (tmp_path / "inside_the_network.png").exists()


def test_conv_gan_example_on_real_photographs(tmp_path):
    """Two steps of the conv GAN on a CelebA-format HDF5 of real faces; memory printed on the CPU."""
    skdata = pytest.importorskip("skimage.data")
    from PIL import Image

    from minigan.data import pack_celeba
    folder = tmp_path / "faces"
    folder.mkdir()
    for i, face in enumerate((skdata.lfw_subset()[:3] * 255).round().astype(np.uint8)):
        Image.fromarray(np.stack([face] * 3, axis=-1)).resize((178, 218)).save(folder / f"{i}.jpg")
    assert pack_celeba(folder, tmp_path / "faces.h5", progress=False) == 3
    out = _run_example("ch3_1_conv_celeba_gan.py", str(tmp_path / "faces.h5"), "--steps", "2",
                       cwd=tmp_path)
    assert "(1, 3, 128, 128)" in out and "memory allocated 0.1" in out    # 8.6 M params x 16 B
    assert (tmp_path / "conv-celeba-gan_samples.png").exists()
