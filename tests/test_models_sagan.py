"""SAGAN (``minigan train sagan``, :mod:`minigan.models.sagan`): the self-attention layer against
its formula and PyTorch, the paper's settings, and float64 training parity with PyTorch."""
from __future__ import annotations

import json

import numpy as np
import pytest

import minigan
from minigan import models
from minigan.cli import main
from minigan.data import bundled_mnist
from minigan.models import sagan

from twins import assert_same_weights, critic_losses, float64_twins, state_arrays

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("one_torch_thread")   # (tests/conftest.py)


def _attention_layer(channels=16, seed=0):
    """A SelfAttention(channels) on minigan, float64, with random weights and gamma 0.7."""
    minigan.manual_seed(seed)
    layer = sagan.self_attention_class(minigan)(channels).to(minigan.float64)
    with minigan.no_grad():
        layer.gamma.fill_(0.7)
    return layer


def test_self_attention_is_its_formula():
    """y = gamma * (V softmax(Q^T K)^T) + x, written out in NumPy, position by position."""
    layer = _attention_layer()
    x = np.random.default_rng(1).standard_normal((2, 16, 3, 5))
    y = layer(minigan.tensor(x)).detach().numpy()
    w = {k: v.numpy() for k, v in layer.state_dict().items()}

    def conv1x1(name, image):             # (C, N) -> (C_out, N)
        return w[f"{name}.weight"][:, :, 0, 0] @ image + w[f"{name}.bias"][:, None]

    for b in range(2):
        flat = x[b].reshape(16, 15)
        q, k, v = conv1x1("query_conv", flat), conv1x1("key_conv", flat), conv1x1("value_conv", flat)
        assert q.shape == k.shape == (2, 15)                       # C/8 channels
        energy = q.T @ k                                           # (N, N): i's query against j's key
        attention = np.exp(energy - energy.max(axis=1, keepdims=True))
        attention /= attention.sum(axis=1, keepdims=True)
        out = np.stack([(v * attention[i]).sum(axis=1) for i in range(15)], axis=1)  # weighted values
        np.testing.assert_allclose(y[b].reshape(16, 15), 0.7 * out + flat, rtol=1e-12, atol=1e-12)
    rows = layer.attention(minigan.tensor(x)).detach().numpy()
    assert rows.shape == (2, 15, 15)
    np.testing.assert_allclose(rows.sum(axis=-1), 1.0, rtol=1e-12)


def test_self_attention_starts_as_the_identity_and_learns_gamma():
    layer = sagan.self_attention_class(minigan)(16).to(minigan.float64)
    assert layer.gamma.item() == 0.0
    x = minigan.tensor(np.random.default_rng(2).standard_normal((2, 16, 4, 4)), requires_grad=True)
    y = layer(x)
    np.testing.assert_array_equal(y.detach().numpy(), x.detach().numpy())
    (y * y).sum().backward()
    assert layer.gamma.grad.item() != 0.0          # gamma moves: attention can be switched on
    # ... and, while gamma is 0, the branch it scales learns nothing: gamma leads
    assert layer.value_conv.weight.grad.abs().sum().item() == 0.0


def test_self_attention_matches_torch_with_gradients():
    """The same layer on PyTorch, same weights: output and every gradient, float64."""
    ours = _attention_layer(channels=24)
    theirs = sagan.self_attention_class(torch)(24).double()
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in state_arrays(ours).items()})
    x = np.random.default_rng(3).standard_normal((3, 24, 5, 4))
    g = np.random.default_rng(4).standard_normal((3, 24, 5, 4))
    xm, xt = minigan.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ym, yt = ours(xm), theirs(xt)
    np.testing.assert_allclose(ym.detach().numpy(), yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    ym.backward(minigan.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


def test_self_attention_passes_gradcheck():
    from minigan.gradcheck import gradcheck
    layer = _attention_layer(channels=8)
    x = minigan.tensor(np.random.default_rng(5).standard_normal((2, 8, 2, 3)), requires_grad=True)
    assert gradcheck(lambda t: layer(t), (x,))


def test_the_papers_settings():
    """Two time-scales (D 4e-4, G 1e-4, betas (0, 0.9)), hinge loss, one D step per G step,
    spectral norm on D's three hidden convolutions and G's first two, attention in both."""
    exp = models.get("sagan")
    nets = exp.build()
    for net, lr in ((nets.D, 4e-4), (nets.G, 1e-4)):
        group = net.optimiser.param_groups[0]
        assert type(net.optimiser).__name__ == "Adam" and group["lr"] == lr
        assert tuple(group["betas"]) == (0.0, 0.9)
    assert exp.hinge and exp.n_critic == 1 and exp.batch_size == 64 and exp.seed.size == 128

    def normalised(module):
        return [type(m).__name__ for m in module.modules()
                if any(type(h).__name__ == "SpectralNorm" for h, _ in m.__dict__.get("_forward_pre_hooks", {}).values())]

    assert normalised(nets.D.module) == ["Conv2d"] * 3
    assert normalised(nets.G.module) == ["ConvTranspose2d"] * 2
    for module in (nets.D.module, nets.G.module):
        assert sum(type(m).__name__ == "SelfAttention" for m in module.modules()) == 1
    assert nets.G.module(exp.seed(minigan, 5)).shape == (5, 784)
    assert nets.D.module(minigan.zeros(5, 784)).shape == (5, 1)


def test_parity_float64():
    """6 batches through wgan_step with the hinge loss, the two time-scales' optimisers,
    spectral norm's power iterations in both networks and both attention layers: the same
    losses and the same weights (every buffer too) as PyTorch."""
    exp = models.get("sagan")
    ours, theirs = float64_twins(exp)
    steps, batch = 6, 8
    reals = (bundled_mnist("train").images[:steps * batch].astype(np.float64) / 255.0 * 2 - 1
             ).reshape(steps, batch, 784)
    seeds = np.random.default_rng(10).standard_normal((steps, 2, batch, sagan.LATENT))
    losses = critic_losses(exp, ours, theirs, reals, seeds)
    np.testing.assert_allclose(losses["minigan"], losses["torch"], rtol=1e-9)
    gammas = [p.item() for n, p in ours.G.module.named_parameters() if n.endswith("gamma")]
    assert gammas and all(g != 0.0 for g in gammas)             # the attention took part
    assert_same_weights(ours, theirs, rtol=1e-6, atol=1e-10)


def test_attention_report_measures_where_positions_look(monkeypatch):
    """Reach and local share against their definitions: the untrained layer's real maps, then
    a layer made to look only at itself (reach 0, all local) and one looking everywhere alike."""
    minigan.manual_seed(0)
    G = sagan.generator(minigan)
    report, images, maps = sagan.attention_report(G, count=6)
    assert images.shape == (6, 28, 28) and 0 <= images.min() and images.max() <= 1
    assert maps.shape == (6, len(sagan.QUERIES), 14, 14)
    np.testing.assert_allclose(maps.sum(axis=(2, 3)), 1.0, rtol=1e-5)     # each map: one query's row
    # a 3 x 3 neighbourhood on 14 x 14: 9 cells inside, 6 on an edge, 4 in a corner
    assert report["uniform_local_share"] == pytest.approx((144 * 9 + 48 * 6 + 4 * 4) / 196 ** 2)
    assert report["grid"] == [14, 14] and report["generator_gamma"] == [0.0]
    before = state_arrays(G)
    again, _, _ = sagan.attention_report(G, count=6)
    assert again == report                                                 # its own fixed latents
    after = state_arrays(G)                                                # G itself untouched:
    assert all(np.array_equal(before[k], after[k]) for k in before)        # u, v, running stats

    layer = next(m for m in G.modules() if type(m).__name__ == "SelfAttention")
    eye = minigan.eye(196).reshape(1, 196, 196)
    monkeypatch.setattr(layer, "attention", lambda x: eye.expand(x.shape[0], 196, 196))
    itself, _, maps = sagan.attention_report(G, count=2)
    assert itself["reach_pixels"] == 0.0 and itself["local_share"] == 1.0
    assert maps[0, 1, 7, 7] == 1.0                                         # query (7, 7) on itself
    even = minigan.full((1, 196, 196), 1 / 196)
    monkeypatch.setattr(layer, "attention", lambda x: even.expand(x.shape[0], 196, 196))
    alike, _, _ = sagan.attention_report(G, count=2)
    assert alike["reach_pixels"] == pytest.approx(alike["uniform_reach_pixels"], rel=1e-6)
    assert alike["local_share"] == pytest.approx(alike["uniform_local_share"], rel=1e-6)
    # ... which, on a 14 x 14 grid of 2-pixel cells, is 2 x the mean distance between two cells
    rows, cols = np.divmod(np.arange(196), 14)
    assert alike["uniform_reach_pixels"] == pytest.approx(
        2 * np.hypot(rows[:, None] - rows, cols[:, None] - cols).mean())


def test_attention_picture_refuses_mismatched_maps(tmp_path):
    from minigan import viz
    with pytest.raises(ValueError, match=r"plot_attention_maps: .*\(4, 28, 28\) and \(4, 2, 14, 14\)"):
        viz.plot_attention_maps(np.zeros((4, 28, 28)), np.zeros((4, 2, 14, 14)), sagan.QUERIES)


def test_train_sagan_writes_every_output(tmp_path):
    out = tmp_path / "sagan"
    assert main(["train", "sagan", "--steps", "3", "--out", str(out), "--quiet", "--no-gif"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["batch_size"] == 64 and config["shuffle"] is True
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["iterations"] == 3 and metrics["mode_collapse"]["count"] == 1000
    attention = metrics["attention"]
    assert len(attention["generator_gamma"]) == len(attention["discriminator_gamma"]) == 1
    assert 0 < attention["reach_pixels"] and 0 < attention["local_share"] < 1
    for picture in ("samples.png", "losses.png", "attention.png"):
        assert (out / picture).stat().st_size > 1000, picture
