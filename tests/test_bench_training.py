"""``minigan bench train`` on the book's networks: everything but the timings.

* every workload trains its :mod:`minigan.book` experiment's networks (built by
  ``experiment.build(fw)`` on both frameworks) with the parameter counts of BOOK_SPEC 5.3;
* every workload's loop runs in both frameworks and trains (counters, progress, finite losses);
* the 3-step GAN loop gives the same losses and weights in minigan and PyTorch from the same
  start (float64): the benchmark compares the same work;
* the command writes valid JSON and PNG, reports a missing GPU with its reason, and profiles.

The book's models themselves are tested in tests/test_book_models.py and, trained for
hundreds of steps against PyTorch, in tests/test_book_parity.py.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

import minigan
from minigan import registry
from minigan.bench import training
from minigan.book.conv_celeba_gan import IMAGE_SHAPE as CONV_IMAGE_SHAPE

torch = pytest.importorskip("torch")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FRAMEWORKS = {"minigan": minigan, "torch": torch}

#: BOOK_SPEC section 5.3 ([derived] parameter counts) of the networks each workload trains:
#: 06 D 19, G 22; 04 159,410; 08 D 157,601, G 178,184; 13 3,720; 14 D 4,294,448, G 4,330,816.
WORKLOAD_PARAMETERS = {
    "gan1010": ("pattern1010", (19, 22)),
    "classifier": ("classifier-improved", 159_410),
    "mnist_gan": ("mnist-gan", (157_601, 178_184)),
    "mnist_gan_b64": ("mnist-gan", (157_601, 178_184)),
    "mnist_gan_b256": ("mnist-gan", (157_601, 178_184)),
    "cnn_classifier": ("cnn-classifier", 3_720),
    "conv_gan": ("conv-celeba-gan", (4_294_448, 4_330_816)),
    "dcgan_mnist_b64": ("dcgan-mnist", (1_102_721, 6_675_009)),   # beyond the book (issue #10)
    "vae_b128": ("vae", 652_824),
}


def _count(net) -> int:
    return sum(p.numel() for p in net.parameters())


# ----------------------------------------------------------------------------- the book's networks
def test_every_workload_names_an_experiment_with_its_parameter_counts():
    assert set(WORKLOAD_PARAMETERS) == set(training.WORKLOADS)
    for name, wl in training.WORKLOADS.items():
        experiment_name, counts = WORKLOAD_PARAMETERS[name]
        assert wl.experiment == experiment_name, name
        exp = wl.book_experiment()
        assert exp is registry.get(experiment_name)
        assert exp.kind == wl.kind, name
        assert exp.parameters == counts, name


FAST = [w for w in training.WORKLOADS.values() if not w.slow]


@pytest.mark.parametrize("fw_name", FRAMEWORKS)
def test_loops_build_the_book_experiments_networks(fw_name):
    fw = FRAMEWORKS[fw_name]
    for wl in FAST:
        loop = training.Loop(fw_name, wl)
        counts = wl.book_experiment().parameters
        counts = counts if isinstance(counts, tuple) else (counts,)
        assert [_count(net) for net in loop.nets] == list(counts), wl.name
        for net in loop.nets:
            assert isinstance(net, minigan.training.Network)
            assert isinstance(net.module, fw.nn.Module)
            assert isinstance(net.optimiser, fw.optim.Optimizer)
            assert net.counter == 0 and net.progress == []
        if wl.kind == "classifier":  # the images as the network reads them (experiment.view)
            assert tuple(loop.reals[0].shape) == wl.book_experiment().input_shape
        elif wl.kind == "autoencoder":   # the VAE: a batch and its reparameterisation noise
            assert tuple(loop.reals[0].shape) == wl.sample_shape
            assert tuple(loop.seed().shape) == (wl.batch, 20)
        else:  # the book's targets, (1,) or (B, 1) when batched
            assert tuple(loop.ones.shape) == tuple(loop.zeros.shape) == wl.target_shape
            assert loop.ones.tolist() == ([[1.0]] * wl.batch if wl.batch > 1 else [1.0])


def test_conv_gan_workload_shapes():
    """The conv workload's real images have the shape the book's conv G makes (BASELINES 3 (d))."""
    wl = training.WORKLOADS["conv_gan"]
    assert wl.sample_shape == CONV_IMAGE_SHAPE == (1, 3, 128, 128)
    assert training.make_data(wl)["reals"][0].shape == CONV_IMAGE_SHAPE


def test_constant_seed_is_notebook_06s_half_and_the_others_are_drawn_every_step():
    wl = training.WORKLOADS["gan1010"]
    assert wl.constant_seed and not any(w.constant_seed for w in training.WORKLOADS.values() if w is not wl)
    for fw_name in FRAMEWORKS:
        loop = training.Loop(fw_name, wl)
        a, b = loop.seed(), loop.seed()
        assert a is b and a.tolist() == [0.5]
    loop = training.Loop("minigan", training.WORKLOADS["mnist_gan_b64"])
    a, b = loop.seed(), loop.seed()  # drawn every step
    assert tuple(a.shape) == (64, 100) and not np.array_equal(a.numpy(), b.numpy())
    for fw_name, fw in FRAMEWORKS.items():  # dtype= builds nets, data, targets and seeds in it
        loop = training.Loop(fw_name, training.WORKLOADS["mnist_gan"], dtype=fw.float64)
        assert tuple(loop.seed().shape) == (100,) and loop.seed().dtype == fw.float64
        assert loop.reals[0].dtype == loop.ones.dtype == fw.float64


# ----------------------------------------------------------------------------- the loops
@pytest.mark.parametrize("wl", FAST, ids=lambda w: w.name)
@pytest.mark.parametrize("fw_name", FRAMEWORKS)
def test_every_workload_runs_two_iterations(fw_name, wl):
    loop = training.Loop(fw_name, wl)
    for net in loop.nets:
        net.counter = 8  # so that 2 iterations reach counter 10 and record a loss
    for _ in range(2):
        loop.step()
    if wl.kind == "gan":
        D, G = loop.nets
        assert (D.counter, G.counter) == (12, 10)
        assert len(D.progress) == 1 and len(G.progress) == 1
        assert tuple(G(loop.seed()).shape) == wl.sample_shape
    else:
        assert loop.nets[0].counter == 10 and len(loop.nets[0].progress) == 1
    assert all(np.isfinite(p) for net in loop.nets for p in net.progress)
    for net in loop.nets:  # the step changed the weights: all parameters got gradients
        assert all(p.grad is not None for p in net.parameters())


def test_workload_table_matches_the_issue_targets():
    targets = {w.name: w.target for w in training.WORKLOADS.values() if w.target is not None}
    assert targets == {"gan1010": 0.3, "classifier": 0.55, "mnist_gan": 0.6, "mnist_gan_b64": 0.85,
                       "cnn_classifier": 0.4, "conv_gan": 1.0}   # issue #11's
    assert [w.name for w in training.select_workloads(None, quick=True)] == [w.name for w in FAST]
    assert training.select_workloads(["conv_gan"], quick=True)[0].slow
    with pytest.raises(SystemExit):
        training.select_workloads(["nope"], quick=True)


def test_measure_ab_alternates_rounds_and_flips_the_order():
    from minigan.bench.timing import Case
    calls = []
    cases = [Case("a", lambda: calls.append("a")), Case("b", lambda: calls.append("b"))]
    res, info = training.measure_ab(cases, repeats=4, min_block_s=1e-9, settle_s=0.0, wait_quiet=False,
                                    max_round_retries=0)
    assert set(res) == {"a", "b"} and all(len(t.samples) == 4 for t in res.values())
    assert info["rounds"] == 4 and info["rounds_retried"] == 0
    timed = calls[-8:]  # after warm-up/calibration: one block (one call) per case per round
    assert timed == ["a", "b", "b", "a", "a", "b", "b", "a"]


def test_measure_ab_measures_a_round_again_after_a_slow_phase():
    """A probe over phase_limit x the fastest one seen marks the round slow: it is measured
    again, and a round that stays slow through every attempt is counted as kept slow."""
    from minigan.bench.timing import Case
    cases = [Case("a", lambda: None), Case("b", lambda: None)]
    # before/after each attempt (only the probe decides here): round 1 quiet; round 2 slow after its first attempt (12 ms
    # > 1.4 x 5), quiet on its second
    readings = iter([5.0, 5.0, 5.0, 12.0, 5.0, 5.0])
    res, info = training.measure_ab(cases, repeats=2, min_block_s=1e-9, settle_s=0.0, wait_quiet=False,
                                    max_round_retries=2, phase_probe=lambda: next(readings),
                                    foreign_limit=float("inf"))  # other processes: no retries
    assert info["rounds_retried"] == 1 and info["slow_phase_rounds_kept"] == 0
    assert info["phase_probe_ms"] == [5.0, 5.0, 5.0, 12.0, 5.0, 5.0]
    # a probe that stays slow: no retries allowed, the round is kept and counted
    readings = iter([5.0, 5.0, 20.0, 20.0])
    res, info = training.measure_ab(cases, repeats=2, min_block_s=1e-9, settle_s=0.0, wait_quiet=False,
                                    quiet_timeout_s=0.0, max_round_retries=0,
                                    phase_probe=lambda: next(readings))
    assert info["rounds_retried"] == 0 and info["slow_phase_rounds_kept"] == 1
    assert info["phase_probe_fastest_ms"] == 5.0


# ----------------------------------------------------------------------------- parity
def _recording(fn, log):
    def loss_function(outputs, targets):
        loss = fn(outputs, targets)
        log.append(loss.item())
        return loss
    return loss_function


@pytest.mark.parametrize("name", ["gan1010", "mnist_gan", "mnist_gan_b64"])
def test_gan_loop_parity_with_pytorch_float64(name):
    """Same weights, data and seeds: the same 9 losses and final weights after 3 iterations."""
    wl = training.WORKLOADS[name]
    rng = np.random.default_rng(7)
    seed_shape = None if wl.constant_seed else \
        ((wl.batch,) if wl.batch > 1 else ()) + (wl.book_experiment().seed.size,)
    seeds = [rng.standard_normal(seed_shape) for _ in range(6)] if seed_shape else None
    losses, weights = {}, {}
    data = training.make_data(wl, seed=3)
    th = training.Loop("torch", wl, data=data, dtype=torch.float64,
                       seeds=iter([torch.from_numpy(s) for s in seeds]) if seeds else None)
    mg = training.Loop("minigan", wl, data=data, dtype=minigan.float64,
                       seeds=iter([minigan.from_numpy(s) for s in seeds]) if seeds else None)
    for tn, mn in zip(th.nets, mg.nets):  # copy PyTorch's initial weights into minigan
        mn.module.load_state_dict({k: minigan.from_numpy(v.detach().numpy().copy())
                                   for k, v in tn.module.state_dict().items()})
    for fw_name, loop in (("torch", th), ("minigan", mg)):
        fw = FRAMEWORKS[fw_name]
        assert all(p.dtype == fw.float64 for net in loop.nets for p in net.parameters())
        assert loop.reals[0].dtype == loop.ones.dtype == fw.float64
        log = losses.setdefault(fw_name, [])
        D = loop.nets[0]
        D.loss_function = _recording(D.loss_function, log)
        for _ in range(3):
            loop.step()
        weights[fw_name] = [{k: v.detach().numpy() for k, v in net.module.state_dict().items()}
                            for net in loop.nets]
    assert len(losses["torch"]) == len(losses["minigan"]) == 9  # D real, D fake, G per iteration
    np.testing.assert_allclose(losses["minigan"], losses["torch"], rtol=1e-10, atol=1e-12)
    for wm, wt in zip(weights["minigan"], weights["torch"]):
        assert wm.keys() == wt.keys()
        for k in wt:
            np.testing.assert_allclose(wm[k], wt[k], rtol=1e-9, atol=1e-12, err_msg=k)
    # the weights did move: the comparison is not of two untouched copies
    assert losses["torch"][0] != losses["torch"][3]


# ----------------------------------------------------------------------------- the command
def test_bench_train_quick_end_to_end(tmp_path, capsys):
    rc = training.main(["--quick", "--workloads", "gan1010", "classifier", "mnist_gan_b64",
                        "--devices", "cpu", "cuda", "--out", str(tmp_path)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "not included" in out  # the data note: pre-made tensors, no Dataset
    result = json.loads((tmp_path / "training.json").read_text())
    assert result["benchmark"] == "training"
    assert result["machine"]["cpu"]["usable_cpus"] >= 1
    assert result["machine"]["torch"]["threads"] == 2
    assert result["targets"]["gan1010"] == 0.3
    assert set(result["blas_probe_ms"]) == {"before", "after"}  # the machine's state, recorded
    assert all(ms > 0 for ms in result["blas_probe_ms"].values())
    cpu = {r["workload"]: r for r in result["rows"] if r["device"] == "cpu"}
    assert list(cpu) == ["gan1010", "classifier", "mnist_gan_b64"]
    for r in cpu.values():
        for f in ("minigan", "torch"):
            d = r[f]
            assert 0 < d["min_ms"] <= d["ms_per_iter"] <= d["max_ms"]
            assert d["epoch_s"] == pytest.approx(d["ms_per_iter"] / 1e3 / r["batch"] * 60_000)
        assert r["ratio"] == pytest.approx(r["minigan"]["ms_per_iter"] / r["torch"]["ms_per_iter"])
        assert r["met"] == (r["ratio"] <= r["target"])
        assert r["finite_losses"] == {"minigan": True, "torch": True}
    cuda = [r for r in result["rows"] if r["device"] == "cuda"]
    if not minigan.cuda.is_available() and not torch.cuda.is_available():
        assert len(cuda) == 3 and all(r["not_available"] for r in cuda)
        assert "not available" in out
    png = tmp_path / "training.png"
    assert png.read_bytes()[:8] == PNG_SIGNATURE and png.stat().st_size > 10_000
    assert (tmp_path / "training.csv").read_text().startswith("workload,")


def test_profile_mode_prints_the_breakdown(capsys):
    assert training.main(["--profile", "mnist_gan", "--profile-iterations", "3", "--no-wait-quiet"]) == 0
    out = capsys.readouterr().out
    for text in ("spends its time", "optimiser step", "backward", "graph walk", "top functions"):
        assert text in out
    p = training.profile_workload("gan1010", iterations=5, top=5)
    c = p["cprofile"]
    assert len(c["top_by_tottime"]) == 5
    assert c["python_calls_per_iter"] > 10
    assert "Linear" in c["backward_by_op_ms_per_iter"]
    t = p["timed"]
    assert sum(t["phases_share"].values()) == pytest.approx(1.0)
    assert all(v >= 0 for k, v in t["phases_ms_per_iter"].items() if not k.startswith("other"))
    assert t["phases_ms_per_iter"]["optimiser step"] > 0 and t["phases_ms_per_iter"]["backward"] > 0


def test_cli_lists_train():
    from minigan import cli
    args = cli.build_parser().parse_args(["bench", "train", "--quick", "--workloads", "gan1010"])
    assert args._run is training.run and args.workloads == ["gan1010"]
