"""``minigan bench train`` and the book's networks it runs: everything but the timings.

* the book's classes (minigan/bench/book_models.py) build in both frameworks with the parameter
  counts of BOOK_SPEC section 5.3, and the conv CelebA G makes (1, 3, 128, 128) images;
* every workload's loop runs in both frameworks and trains (counters, progress, finite losses);
* the 3-step GAN loop gives the same losses and weights in minigan and PyTorch from the same
  start (float64): the benchmark compares the same work;
* the command writes valid JSON and PNG, reports a missing GPU with its reason, and profiles.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

import minigan
from minigan.bench import book_models, training

torch = pytest.importorskip("torch")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FRAMEWORKS = {"minigan": minigan, "torch": torch}


# ----------------------------------------------------------------------------- the book's networks
@pytest.mark.parametrize("fw_name", FRAMEWORKS)
def test_parameter_counts_are_the_books(fw_name):
    fw = FRAMEWORKS[fw_name]
    M = book_models.models(fw)
    assert book_models.models(fw) is M  # built once per framework
    for name, count in book_models.PARAMETER_COUNTS.items():
        net = getattr(M, name)()
        assert isinstance(net, fw.nn.Module)
        assert book_models.parameter_count(net) == count, name
        assert net.counter == 0 and net.progress == []
        assert isinstance(net.optimiser, fw.optim.Optimizer)


def test_parameter_counts_cover_book_spec():
    # BOOK_SPEC section 5.3: 06 D 19, G 22; 08 D 157,601, G 178,184; 04 159,410; 13 3,720;
    # 14 D 4,294,448, G 4,330,816
    assert book_models.PARAMETER_COUNTS == {
        "Pattern1010D": 19, "Pattern1010G": 22, "MnistD": 157_601, "MnistG": 178_184,
        "MnistClassifier": 159_410, "CnnClassifier": 3_720,
        "CelebaConvD": 4_294_448, "CelebaConvG": 4_330_816}


@pytest.mark.parametrize("fw_name", FRAMEWORKS)
def test_conv_celeba_shapes(fw_name):
    """Only the last ConvTranspose2d has padding=1: G makes (1,3,128,128) (BASELINES 3 (d))."""
    fw = FRAMEWORKS[fw_name]
    M = book_models.models(fw)
    G, D = M.CelebaConvG(), M.CelebaConvD()
    pads = [m.padding for m in G.model if type(m).__name__ == "ConvTranspose2d"]
    assert [tuple(p) for p in pads] == [(0, 0), (0, 0), (1, 1)]
    with fw.no_grad():
        image = G.forward(fw.randn(100))
        assert tuple(image.shape) == book_models.CELEBA_IMAGE_SHAPE
        assert tuple(D.forward(image).shape) == (1,)


@pytest.mark.parametrize("fw_name", FRAMEWORKS)
def test_train_overrides_module_train_and_records_progress(fw_name):
    fw = FRAMEWORKS[fw_name]
    M = book_models.models(fw)
    D, G = M.Pattern1010D(), M.Pattern1010G()
    ones, zeros, half = fw.ones(1), fw.zeros(1), fw.full((1,), 0.5)
    for _ in range(10):
        book_models.gan_step(D, G, fw.rand(4), half, half, ones, zeros)
    assert D.counter == 20 and G.counter == 10
    assert len(D.progress) == 2 and len(G.progress) == 1  # every 10th call
    assert all(isinstance(p, float) for p in D.progress + G.progress)


# ----------------------------------------------------------------------------- the loops
FAST = [w for w in training.WORKLOADS.values() if not w.slow]


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
        assert tuple(G.forward(loop.seed()).shape) == wl.sample_shape
    else:
        assert loop.nets[0].counter == 10 and len(loop.nets[0].progress) == 1
    assert all(np.isfinite(p) for net in loop.nets for p in net.progress)
    for net in loop.nets:  # the step changed the weights: all parameters got gradients
        assert all(p.grad is not None for p in net.parameters())


def test_workload_table_matches_the_issue_targets():
    targets = {w.name: w.target for w in training.WORKLOADS.values() if w.target is not None}
    assert targets == {"gan1010": 0.4, "classifier": 0.6, "mnist_gan": 0.6, "mnist_gan_b64": 1.0,
                       "conv_gan": 1.5}
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


# ----------------------------------------------------------------------------- parity
class _Default64:
    def __enter__(self):
        self.old = torch.get_default_dtype(), minigan.get_default_dtype()
        torch.set_default_dtype(torch.float64)
        minigan.set_default_dtype(minigan.float64)

    def __exit__(self, *exc):
        torch.set_default_dtype(self.old[0])
        minigan.set_default_dtype(self.old[1])


def _recording(fw, fn, log):
    class Recorder(fw.nn.Module):
        def forward(self, outputs, targets):
            loss = fn(outputs, targets)
            log.append(loss.item())
            return loss
    return Recorder()


@pytest.mark.parametrize("name", ["gan1010", "mnist_gan", "mnist_gan_b64"])
def test_gan_loop_parity_with_pytorch_float64(name):
    """Same weights, data and seeds: the same 9 losses and final weights after 3 iterations."""
    wl = training.WORKLOADS[name]
    rng = np.random.default_rng(7)
    seeds = [rng.standard_normal(wl.seed_shape) for _ in range(6)] if wl.seed_shape else None
    losses, weights = {}, {}
    with _Default64():
        data = training.make_data(wl, seed=3)
        th = training.Loop("torch", wl, data=data,
                           seeds=iter([torch.from_numpy(s) for s in seeds]) if seeds else None)
        mg = training.Loop("minigan", wl, data=data,
                           seeds=iter([minigan.from_numpy(s) for s in seeds]) if seeds else None)
        for tn, mn in zip(th.nets, mg.nets):  # copy PyTorch's initial weights into minigan
            mn.load_state_dict({k: minigan.from_numpy(v.detach().numpy().copy())
                                for k, v in tn.state_dict().items()})
        for fw_name, loop in (("torch", th), ("minigan", mg)):
            assert all(p.dtype == FRAMEWORKS[fw_name].float64 for p in loop.nets[0].parameters())
            log = losses.setdefault(fw_name, [])
            D = loop.nets[0]
            D.loss_function = _recording(FRAMEWORKS[fw_name], D.loss_function, log)
            for _ in range(3):
                loop.step()
            weights[fw_name] = [{k: v.detach().numpy() for k, v in net.state_dict().items()}
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
    assert result["targets"]["gan1010"] == 0.4
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
