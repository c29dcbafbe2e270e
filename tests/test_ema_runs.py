"""``minigan train <gan> --ema DECAY``: an EMA of G's weights kept beside G (runs.py,
optim/swa_utils.py). G trains and is judged exactly as without it; the average is the one
the formula gives, over G's steps only; it survives a resume bit for bit; bad uses are refused."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

import minigan
from minigan import runs
from minigan.cli import main


def _weights(path, net="G"):
    saved = minigan.load(str(path))["modules"][net]
    return {k: v.numpy() for k, v in saved.items()}


def _metrics(out):
    with open(out / "metrics.json") as f:
        return json.load(f)


def test_ema_leaves_g_unchanged_and_averages_every_g_step(tmp_path, monkeypatch):
    """The same run with and without ``--ema``: the same G, D, losses and judged numbers (the
    EMA is judged afterwards, on the same seeds). The EMA's weights are the decay formula
    applied by hand, in float64, to G's weights recorded after each of its steps."""
    snapshots = []
    original = runs._GeneratorAverage.after_iteration

    def recording(self):
        if self.G.counter != self._seen:
            snapshots.append({k: v.detach().numpy().astype(np.float64)
                              for k, v in self.G.module.state_dict().items()})
        original(self)
    monkeypatch.setattr(runs._GeneratorAverage, "after_iteration", recording)

    plain, averaged = tmp_path / "plain", tmp_path / "ema"
    args = ["train", "mnist-gan", "--steps", "40", "--quiet", "--no-gif"]
    assert main([*args, "--out", str(plain)]) == 0
    assert main([*args, "--ema", "0.8", "--out", str(averaged)]) == 0
    for net in ("G", "D"):
        a, b = _weights(plain / "model.npz", net), _weights(averaged / "model.npz", net)
        for k in a:
            np.testing.assert_array_equal(a[k], b[k], err_msg=f"{net}.{k}")
    m0, m1 = _metrics(plain), _metrics(averaged)
    for key in ("d_loss_mean_last_100", "g_loss_mean_last_100", "mode_collapse", "frechet_distance"):
        assert m0[key] == m1[key], key
    assert "ema" not in m0 and m1["ema"]["decay"] == 0.8 and m1["ema"]["updates"] == 40
    assert m1["ema"]["mode_collapse"]["count"] == 1000 and m1["ema"]["frechet_distance"] > 0
    assert (averaged / "samples_ema.png").exists() and not (plain / "samples_ema.png").exists()

    assert len(snapshots) == 40
    expected = dict(snapshots[0])
    for snap in snapshots[1:]:
        expected = {k: 0.8 * expected[k] + 0.2 * snap[k] for k in expected}
    ema = _weights(averaged / "model_ema.npz")
    for k, v in expected.items():
        np.testing.assert_allclose(ema[k], v, rtol=1e-5, atol=1e-7, err_msg=k)
    assert not np.allclose(ema["2.weight"], snapshots[-1]["2.weight"])   # an average, not G
    for k, v in _weights(averaged / "model_ema.npz", "D").items():      # D as trained
        np.testing.assert_array_equal(v, _weights(averaged / "model.npz", "D")[k])
    assert main(["sample", str(averaged / "model_ema.npz"), "--count", "4", "--out",
                 str(tmp_path / "four.png")]) == 0


def test_ema_follows_g_steps_not_iterations_and_resumes_bit_for_bit(tmp_path):
    """WGAN steps G once every 5 critic steps: 30 iterations are 6 EMA updates. Resumed from
    iteration 21 (G has stepped 4 times, the 5th comes at 25), the run ends with the EMA an
    unbroken run ends with, bit for bit."""
    whole, part = tmp_path / "whole", tmp_path / "part"
    args = ["train", "wgan", "--steps", "30", "--ema", "0.7", "--quiet", "--no-gif"]
    assert main([*args, "--out", str(whole)]) == 0
    assert _metrics(whole)["ema"]["updates"] == 6
    assert main([*args, "--checkpoint-every", "21", "--out", str(part)]) == 0
    for name in ("model.npz", "model_ema.npz", "metrics.json"):
        os.remove(part / name)
    assert minigan.load(str(part / "checkpoint.npz"))["iteration"] == 21
    assert main([*args, "--checkpoint-every", "21", "--resume", "--out", str(part)]) == 0
    a, b = _weights(whole / "model_ema.npz"), _weights(part / "model_ema.npz")
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert _metrics(part)["ema"]["updates"] == 6


def test_resume_refuses_a_checkpoint_of_a_run_without_ema(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "pattern1010", "--steps", "200", "--checkpoint-every", "100", "--quiet",
                 "--out", str(out)]) == 0
    assert main(["train", "pattern1010", "--steps", "300", "--ema", "0.99", "--resume", "--quiet",
                 "--out", str(out)]) == 2
    assert "ema: checkpoint None, this run 0.99" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["classifier", "--ema", "0.99"], "--ema averages a GAN generator's weights; classifier is a classifier"),
    (["mnist-gan", "--discriminator-test", "--ema", "0.99"], "trains no generator under --discriminator-test"),
    (["mnist-gan", "--ema", "1.0"], "--ema must be a decay in [0, 1), such as 0.999; got 1.0"),
    (["mnist-gan", "--ema", "-0.5"], "--ema must be a decay in [0, 1)"),
])
def test_bad_ema_is_refused_in_one_line(argv, message, tmp_path, capsys):
    assert main(["train", *argv, "--quiet", "--out", str(tmp_path / "x")]) == 2
    assert message in capsys.readouterr().err


def test_pattern_gan_reports_the_averaged_g_of_half(tmp_path):
    out = tmp_path / "p"
    assert main(["train", "pattern1010", "--steps", "300", "--ema", "0.9", "--quiet", "--out", str(out)]) == 0
    m = _metrics(out)
    assert len(m["ema"]["final_g_half"]) == 4 and m["ema"]["updates"] == 300
    assert m["ema"]["final_g_half"] != m["final_g_half"]


def test_a_decay_that_remembers_too_much_of_the_run_is_pointed_out(tmp_path, capsys):
    assert runs.ema_memory_note(0.999, 24_000) is None           # the book's MNIST GAN: fine
    note = runs.ema_memory_note(0.999, 640)                       # dcgan-mnist's G steps
    assert "averages over about 1,000 G steps and this run takes 640" in note
    assert "keeps a weight of 53%" in note and "a decay of 0.99 fits it" in note
    assert "too short for an EMA" in runs.ema_memory_note(0.99, 30)
    assert main(["train", "pattern1010", "--steps", "300", "--ema", "0.999", "--out", str(tmp_path / "p")]) == 0
    assert "note: --ema 0.999 averages over about 1,000 G steps and this run takes 300" in capsys.readouterr().out
