"""``minigan train / sample / seeds / eval`` end to end, on the bundled real MNIST sample.

Short ``--steps`` runs: the outputs exist and hold what they say, seeds make runs
bit-identical, and bad input ends with one line naming the file and exit status 2.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

import minigan
from minigan.cli import main


def train(tmp_path, *args):
    out = tmp_path / "run"
    status = main(["train", *args, "--out", str(out), "--quiet"])
    assert status == 0
    return out


@pytest.fixture(scope="module")
def gan_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("gan") / "run"
    assert main(["train", "mnist-gan", "--steps", "300", "--out", str(out), "--quiet"]) == 0
    return out


def test_train_mnist_gan_writes_every_output(gan_run):
    names = sorted(p.name for p in gan_run.iterdir())
    assert names == ["config.json", "losses.png", "metrics.json", "model.npz", "samples.png",
                     "samples_book.png", "training.gif"]
    config = json.loads((gan_run / "config.json").read_text())
    assert config["experiment"] == "mnist-gan" and config["steps"] == 300
    assert "bundled MNIST sample" in config["data"]
    assert any("--steps" in d for d in config["departures"])
    metrics = json.loads((gan_run / "metrics.json").read_text())
    assert metrics["iterations"] == 300
    # BOOK_SPEC 1.6: D is trained twice per step and records every 10th call, G once
    assert metrics["d_progress_points"] == 60 and metrics["g_progress_points"] == 30
    report = metrics["mode_collapse"]
    assert report["count"] == 1000 and sum(report["histogram"]) == 1000
    from PIL import Image
    with Image.open(gan_run / "training.gif") as gif:
        assert gif.n_frames > 10
    with Image.open(gan_run / "samples.png") as grid:   # 8 x 8 images of 28 + 2 padding
        assert grid.size == (8 * 30 + 2, 8 * 30 + 2)


def test_sample_npz_and_png(gan_run, tmp_path, capsys):
    model = str(gan_run / "model.npz")
    assert main(["sample", model, "--count", "12", "--seed", "5", "--out", str(tmp_path / "a.npz")]) == 0
    assert main(["sample", model, "--count", "12", "--seed", "5", "--out", str(tmp_path / "b.npz")]) == 0
    a = np.load(tmp_path / "a.npz", allow_pickle=False)["images"]
    b = np.load(tmp_path / "b.npz", allow_pickle=False)["images"]
    assert a.shape == (12, 1, 28, 28) and a.dtype == np.float32
    assert 0.0 <= a.min() and a.max() <= 1.0
    np.testing.assert_array_equal(a, b)                       # same seed, same images
    assert main(["sample", model, "--count", "4", "--out", str(tmp_path / "g.png")]) == 0
    assert (tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_seeds_draws_the_book_pictures(gan_run, tmp_path):
    assert main(["seeds", str(gan_run / "model.npz"), "--out", str(tmp_path / "s")]) == 0
    names = sorted(p.name for p in (tmp_path / "s").iterdir())
    assert names == ["arithmetic.png", "interpolation.png", "seeds.npz", "seeds.png"]


def test_seed_interpolation_ends_are_exact():
    from minigan.book.seed_experiments import interpolate
    a, b = np.arange(5.0), np.arange(5.0) * -2
    line = interpolate(a, b)
    assert line.shape == (12, 5)
    np.testing.assert_array_equal(line[0], a)
    np.testing.assert_allclose(line[-1], b, rtol=0, atol=1e-12)
    np.testing.assert_allclose(line[6], a + (b - a) * 6 / 11)


def test_eval_gan_reports_coverage(gan_run, capsys):
    assert main(["eval", str(gan_run / "model.npz"), "--count", "200", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["model"] == "mnist-gan" and result["count"] == 200
    assert result["frechet_distance_to_real_test"] > 0


def test_same_seed_same_weights(tmp_path):
    a = train(tmp_path / "a", "mnist-gan", "--steps", "50", "--no-gif")
    b = train(tmp_path / "b", "mnist-gan", "--steps", "50", "--no-gif")
    c = train(tmp_path / "c", "mnist-gan", "--steps", "50", "--no-gif", "--seed", "1")
    wa, wb, wc = (minigan.load(str(p / "model.npz"))["modules"]["G"] for p in (a, b, c))
    for k in wa:
        np.testing.assert_array_equal(wa[k].numpy(), wb[k].numpy())
    assert any(not np.array_equal(wa[k].numpy(), wc[k].numpy()) for k in wa)


def test_classifier_run_batched_and_eval(tmp_path, capsys):
    out = tmp_path / "c"
    assert main(["train", "classifier-improved", "--steps", "200", "--batch-size", "16", "--shuffle",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "departure from the book: batch size 16" in printed and "shuffled" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["iterations"] == 200 and metrics["test_items"] == 1000
    assert metrics["test_accuracy"] > 0.5          # 3,200 real digits seen: far above chance
    assert main(["eval", str(out / "model.npz"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["test_accuracy"] == pytest.approx(metrics["test_accuracy"])


def test_pattern1010_run_and_discriminator_test(tmp_path):
    out = train(tmp_path, "pattern1010", "--steps", "2000")
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["final_g_half"]) == 4 and len(metrics["snapshots"]) == 2   # i = 0, 1000
    assert metrics["d_progress_points"] == 400 and metrics["g_progress_points"] == 200
    out = train(tmp_path / "d", "pattern1010", "--discriminator-test", "--steps", "3000")
    metrics = json.loads((out / "metrics.json").read_text())
    assert min(metrics["d_real"]) > max(metrics["d_noise"][:1]) or np.mean(metrics["d_real"]) > np.mean(metrics["d_noise"])


# ---------------------------------------------------------------------------- bad input
def test_sample_given_a_classifier_says_what_it_holds(tmp_path, capsys):
    out = train(tmp_path, "classifier", "--steps", "20")
    status = main(["sample", str(out / "model.npz"), "--out", str(tmp_path / "x.png")])
    err = capsys.readouterr().err
    assert status == 2 and "model.npz" in err and "'classifier'" in err and "generator" in err


def test_missing_model_file(tmp_path, capsys):
    assert main(["eval", str(tmp_path / "nope.npz")]) == 2
    assert "nope.npz: no such file" in capsys.readouterr().err


def test_celeba_without_data_says_how_to_pack(tmp_path, capsys):
    assert main(["train", "celeba-gan", "--out", str(tmp_path / "c"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "minigan data pack-celeba" in err and "--data" in err


def test_bad_csv_names_file_and_line(tmp_path, capsys):
    bad = tmp_path / "mnist_train.csv"
    bad.write_text("5," + ",".join(["0"] * 784) + "\n7,1,2,3\n")
    assert main(["train", "classifier", "--data", str(bad), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "mnist_train.csv" in err and "line 2" in err


def test_not_a_checkpoint(tmp_path, capsys):
    junk = tmp_path / "model.npz"
    junk.write_bytes(b"not a zip at all")
    assert main(["sample", str(junk), "--out", str(tmp_path / "x.png")]) == 2
    assert "model.npz" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["classifier", "vae"])
def test_discriminator_test_of_a_model_without_a_discriminator_is_one_line(name, tmp_path, capsys):
    assert main(["train", name, "--discriminator-test", "--out", str(tmp_path / name), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("minigan train: --discriminator-test") and name in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("flag", ["--epochs", "--steps"])
@pytest.mark.parametrize("value", ["0", "-5"])
def test_a_count_below_one_is_one_line_not_the_default(flag, value, tmp_path, capsys):
    """--epochs 0 used to read as "not given" and train the model's default 6 epochs."""
    assert main(["train", "pattern1010", flag, value, "--out", str(tmp_path / "r"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"minigan train: {flag} must be at least 1, got {value}"
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("command", [["train", "pattern1010"], ["sample", "m.npz", "--out", "x.png"],
                                     ["seeds", "m.npz", "--out", "s"], ["eval", "m.npz"]])
@pytest.mark.parametrize("option, words", [
    (["--device", "tpu"], ["argument --device", "unknown device type 'tpu'"]),
    (["--device", "cuda:x"], ["argument --device", "bad device index"]),
    (["--seed", str(2 ** 64)], ["argument --seed", "out of range", "2**64 - 1"]),
    (["--seed", "abc"], ["argument --seed", "not an integer"])])
def test_an_unusable_device_or_seed_is_refused_at_parsing(command, option, words, capsys):
    """One line from argparse (exit status 2), not a traceback from the first tensor made."""
    with pytest.raises(SystemExit) as e:
        main([*command, *option])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and all(w in err for w in words), err


def test_cuda_without_cupy_is_refused_at_parsing(capsys):
    if minigan.cuda.is_available():
        pytest.skip("CUDA is available here: --device cuda is accepted")
    with pytest.raises(SystemExit) as e:
        main(["train", "pattern1010", "--device", "cuda"])
    assert e.value.code == 2
    assert "argument --device: device cuda:0 was asked for, but CUDA is not available" in capsys.readouterr().err


def test_a_negative_seed_trains_as_pytorch_remaps_it(tmp_path):
    """torch.manual_seed(-1) seeds with 0xffff_ffff_ffff_ffff - 1; so does minigan's, and the
    run with --seed -1 is the run with that seed."""
    a = train(tmp_path / "a", "pattern1010", "--steps", "30", "--seed", "-1")
    b = train(tmp_path / "b", "pattern1010", "--steps", "30", "--seed", str(0xffff_ffff_ffff_ffff - 1))
    with np.load(a / "model.npz") as fa, np.load(b / "model.npz") as fb:
        weights = [k for k in fa.files if k.startswith("modules/")]  # (the config says -1)
        assert len(weights) == 8 and sorted(weights) == sorted(k for k in fb.files if k.startswith("modules/"))
        for k in weights:
            np.testing.assert_array_equal(fa[k], fb[k])
