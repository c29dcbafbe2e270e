"""Crash-safe checkpoints and exact resume (issue 9): a run killed with SIGKILL mid-way and
resumed ends with bit-identical weights to a run never stopped; SIGTERM and SIGINT write a
checkpoint before exiting; a checkpoint of another run is refused with a clear message.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import minigan
from minigan.cli import main

STEPS = "2400"
EVERY = "200"


def command(out, *extra):
    return [sys.executable, "-m", "minigan", "train", "mnist-gan", "--steps", STEPS,
            "--checkpoint-every", EVERY, "--shuffle", "--quiet", "--out", str(out), *extra]


def weights(out):
    saved = minigan.load(str(out / "model.npz"))["modules"]
    return {f"{net}.{k}": v.numpy() for net, sd in saved.items() for k, v in sd.items()}


def iteration_of(path):
    return minigan.load(str(path))["iteration"]


def wait_for_checkpoint(proc, path, at_least, timeout=240):
    start = time.time()
    while time.time() - start < timeout:
        if proc.poll() is not None:
            pytest.fail(f"the run ended (status {proc.returncode}) before it could be killed")
        if path.exists():
            try:
                if iteration_of(path) >= at_least:
                    return
            except Exception:   # being renamed into place right now
                pass
        time.sleep(0.05)
    pytest.fail("no checkpoint appeared in time")


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("whole")
    subprocess.run(command(out), check=True, timeout=600)
    return out


@pytest.mark.slow
def test_sigkill_then_resume_is_bit_identical(uninterrupted, tmp_path):
    out = tmp_path / "killed"
    proc = subprocess.Popen(command(out))
    wait_for_checkpoint(proc, out / "checkpoint.npz", at_least=600)
    proc.send_signal(signal.SIGKILL)          # no chance to clean up
    proc.wait(timeout=30)
    assert not (out / "model.npz").exists()
    stopped_at = iteration_of(out / "checkpoint.npz")
    assert 600 <= stopped_at < int(STEPS)
    subprocess.run(command(out, "--resume"), check=True, timeout=600)
    a, b = weights(uninterrupted), weights(out)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    # the progress lists (the loss plots) continue exactly too
    import json
    ma = json.loads((uninterrupted / "metrics.json").read_text())
    mb = json.loads((out / "metrics.json").read_text())
    for key in ("d_progress_points", "g_progress_points", "d_loss_mean_last_100", "g_loss_mean_last_100"):
        assert ma[key] == mb[key], key


@pytest.mark.slow
def test_sigterm_writes_a_checkpoint_before_exiting(tmp_path):
    out = tmp_path / "term"
    proc = subprocess.Popen(command(out, "--checkpoint-every", "100000"), stderr=subprocess.PIPE, text=True)
    while proc.poll() is None and not out.exists():   # the handlers are in place from here
        time.sleep(0.02)
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    err = proc.communicate(timeout=60)[1]
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "checkpoint written" in err and "--resume" in err
    assert 0 < iteration_of(out / "checkpoint.npz") < int(STEPS)


def test_resume_refuses_another_runs_checkpoint(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["train", "pattern1010", "--steps", "300", "--checkpoint-every", "100", "--quiet",
                 "--out", str(out)]) == 0
    assert iteration_of(out / "checkpoint.npz") == 300
    status = main(["train", "pattern1010", "--steps", "400", "--resume", "--quiet", "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 2 and "checkpoint.npz" in err and "steps: checkpoint 300, this run 400" in err


def test_resume_without_checkpoint_says_how_to_get_one(tmp_path, capsys):
    assert main(["train", "pattern1010", "--resume", "--quiet", "--out", str(tmp_path / "none")]) == 2
    assert "--checkpoint-every" in capsys.readouterr().err


def test_in_process_resume_matches_for_a_classifier(tmp_path):
    """Resume mid-epoch with shuffling: the per-epoch order comes back from the seed alone."""
    whole, part = tmp_path / "whole", tmp_path / "part"
    args = ["train", "classifier-improved", "--steps", "700", "--shuffle", "--quiet"]
    assert main([*args, "--out", str(whole)]) == 0
    assert main(["train", "classifier-improved", "--steps", "700", "--shuffle", "--quiet",
                 "--checkpoint-every", "450", "--out", str(part)]) == 0
    os.remove(part / "model.npz")
    # roll the checkpoint's run back: resume from iteration 450 of the same settings
    assert iteration_of(part / "checkpoint.npz") == 450
    assert main([*args, "--checkpoint-every", "450", "--resume", "--out", str(part)]) == 0
    assert json.loads((part / "metrics.json").read_text())["resumed_at"] == 450
    a, b = weights(whole), weights(part)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_anomaly_flag_names_the_op(tmp_path, capsys, monkeypatch):
    """--detect-anomaly turns a NaN into a one-line failure naming the op (exit 1)."""
    import minigan.book.classifier as classifier_module
    original = classifier_module.IMPROVED.loss

    def poisoned(torch):
        loss = original(torch)
        return lambda out, target: loss(out, target) * (out.sum() * 0 + float("nan"))
    import dataclasses
    poisoned_exp = dataclasses.replace(classifier_module.IMPROVED, loss=poisoned)
    monkeypatch.setattr(minigan.book, "get", lambda name: poisoned_exp)
    status = main(["train", "classifier-improved", "--steps", "5", "--detect-anomaly", "--quiet",
                   "--out", str(tmp_path / "a")])
    err = capsys.readouterr().err
    assert status == 1 and "nan" in err.lower() and "Function" in err


def test_optimiser_state_of_the_wrong_shape_is_refused_on_loading():
    w = minigan.nn.Linear(3, 2)
    opt = minigan.optim.Adam(w.parameters())
    w(minigan.randn(3)).sum().backward()
    opt.step()
    state = opt.state_dict()
    state["state"][0]["exp_sum"] = minigan.zeros(5)
    with pytest.raises(ValueError, match=r"'exp_sum' of parameter 0 has shape \(5,\).*\(2, 3\)"):
        minigan.optim.Adam(w.parameters()).load_state_dict(state)


def test_in_process_resume_matches_for_sngan(tmp_path):
    """SN-GAN's power-iteration vectors (buffers weight_u, weight_v) are checkpointed with the
    weights: resumed at iteration 20 of 30, the run ends bit for bit where an unbroken one does."""
    whole, part = tmp_path / "whole", tmp_path / "part"
    args = ["train", "sngan", "--steps", "30", "--quiet", "--no-gif"]
    assert main([*args, "--out", str(whole)]) == 0
    assert main([*args, "--checkpoint-every", "20", "--out", str(part)]) == 0
    os.remove(part / "model.npz")
    assert iteration_of(part / "checkpoint.npz") == 20
    assert main([*args, "--checkpoint-every", "20", "--resume", "--out", str(part)]) == 0
    # the resumed run timed only its own 10 iterations, and says where it started
    timing = json.loads((part / "metrics.json").read_text())
    assert timing["iterations"] == 30 and timing["resumed_at"] == 20
    # (seconds are rounded to 0.01 s: 0.5 ms of slack; over all 30 it would read a third)
    assert timing["ms_per_iteration"] == pytest.approx(1000 * timing["seconds"] / 10, abs=0.51)
    assert "resumed_at" not in json.loads((whole / "metrics.json").read_text())
    a, b = weights(whole), weights(part)
    assert {k for k in a if k.endswith("weight_u")} == {"D.0.weight_u", "D.2.weight_u", "D.4.weight_u"}
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


@pytest.mark.parametrize("name, extra, keys", [
    # InfoGAN's G optimiser holds Q's head, whose weights live in D's module: Adam's moments of
    # Q's head come back through G's optimiser
    ("infogan", [], {"D.q_head.3.weight"}),
    # ACGAN draws from both generators every iteration - D's dropout masks and G's seeds from
    # minigan's, the requested labels from Python's random: both states must come back
    ("acgan", ["--batch-size", "16"], {"D.aux_head.weight", "G.label_embedding.weight"}),
])
def test_in_process_resume_matches_for_the_two_headed_gans(tmp_path, name, extra, keys):
    """Resumed at iteration 4 of 6, the run ends bit for bit where an unbroken one does."""
    whole, part = tmp_path / "whole", tmp_path / "part"
    args = ["train", name, "--steps", "6", *extra, "--quiet", "--no-gif"]
    assert main([*args, "--out", str(whole)]) == 0
    assert main([*args, "--checkpoint-every", "4", "--out", str(part)]) == 0
    os.remove(part / "model.npz")
    assert iteration_of(part / "checkpoint.npz") == 4
    assert main([*args, "--checkpoint-every", "4", "--resume", "--out", str(part)]) == 0
    a, b = weights(whole), weights(part)
    assert keys <= set(a)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
