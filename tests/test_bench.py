"""The benchmark code (minigan.bench, the ``minigan`` command) works: no timings asserted here.

These run the benchmarks end to end at tiny sizes (``--quick``), check the files they write,
the arithmetic behind GFLOP/s and the ratios, and that a missing GPU is reported with its
reason instead of crashing. A performance figure belongs in a benchmark, not in a timed test.
"""
from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys

import pytest

import minigan
from minigan import backend as B
from minigan.bench import machine, matmul, ops, timing

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NO_CUDA = (False, "no GPU in this test (monkeypatched)", None)

pytest.importorskip("matplotlib")  # the PNGs; the CSV falls back to the csv module without pandas


# ----------------------------------------------------------------------------- arithmetic
def test_matmul_flops_and_gflops():
    assert timing.matmul_flops(2, 3, 4) == 48  # 2*m*k*n
    assert timing.matmul_flops(600, 600, 600) == 432_000_000
    assert timing.gflops(48, 1e-9) == pytest.approx(48.0)
    # the book's numpy.dot: 600^3 products in 13.2 ms is 32.7 GFLOP/s
    assert timing.gflops(timing.matmul_flops(600, 600, 600), 13.2e-3) == pytest.approx(32.727, rel=1e-4)
    with pytest.raises(ValueError):
        timing.gflops(1, 0.0)


def test_parse_shape():
    assert matmul.parse_shape("1x784x200") == (1, 784, 200)
    assert matmul.parse_shape("64") == (64, 64, 64)
    for bad in ("1x2", "ax2x3", "0x1x1"):
        with pytest.raises(Exception):
            matmul.parse_shape(bad)


def test_buffer_count_and_format_time():
    assert timing.buffer_count(1) == 8
    assert timing.buffer_count(1 << 30) == 2
    assert 2 <= timing.buffer_count(2 << 20) <= 8
    assert timing.format_time(200.0) == "3 min 20 s"
    assert timing.format_time(13.2e-3) == "13.20 ms"
    assert timing.format_time(74.6e-6) == "74.6 us"


# ----------------------------------------------------------------------------- timing harness
def test_measure_rotates_inputs_and_reports_spread():
    seen = []

    def fn(i):
        seen.append(i)

    t = timing.measure(fn, [(0,), (1,), (2,)], repeats=3, min_block_s=0.001, wait_quiet=False,
                       max_retries=0)
    assert t.min <= t.median <= t.max and t.min > 0
    assert t.calls_per_sample >= 1 and len(t.samples) == 3
    assert set(seen) == {0, 1, 2}  # every input set is used


def test_long_calls_still_rotate_inputs():
    n, seqs = timing._block_sequences([(0,), (1,), (2,)], 1)
    assert n == 1 and [s[0][0] for s in seqs] == [0, 1, 2]
    n, seqs = timing._block_sequences([(0,), (1,), (2,)], 7)
    assert n == 9 and len(seqs) == 1 and [a[0] for a in seqs[0]].count(2) == 3


def test_measure_interleaved_returns_every_case_and_syncs():
    syncs = []
    cases = [timing.Case("a", lambda: None), timing.Case("b", lambda: None, sync=lambda: syncs.append(1))]
    res = timing.measure_interleaved(cases, repeats=2, min_block_s=0.001, wait_quiet=False, max_retries=0)
    assert set(res) == {"a", "b"}
    assert syncs, "the sync function of a GPU case must be called around the clock"
    d = res["a"].as_dict("us")
    assert {"median_us", "min_us", "max_us", "calls_per_sample", "foreign_busy"} <= set(d)


def test_cpu_monitor_share_is_a_fraction():
    share = timing.CpuMonitor().start().stop()
    assert share is None or 0.0 <= share <= 1.0
    share, waited = timing.wait_for_quiet(threshold=1.01, timeout_s=1.0, interval_s=0.01)
    assert share is None or 0.0 <= share <= 1.0


# ----------------------------------------------------------------------------- analysis
def _fake_row(label, n, seconds, dtype="float32", kind="square"):
    lib, dev = label.split()
    t = timing.Timing(label, seconds, seconds * 0.9, seconds * 1.2, 1, [seconds])
    return matmul._row(lib, dev, dtype, n, n, n, kind, t)


def test_peak_fraction_and_minigan_ratio_from_rows():
    rows = [_fake_row("numpy cpu", 512, 2 * 512**3 / 180e9), _fake_row("minigan cpu", 512, 2 * 512**3 / 175e9),
            _fake_row("numpy cpu", 1024, 2 * 1024**3 / 190e9), _fake_row("minigan cpu", 1024, 2 * 1024**3 / 189e9),
            _fake_row("torch cpu", 2048, 2 * 2048**3 / 185e9), _fake_row("numpy cpu", 64, 2 * 64**3 / 300e9)]
    peaks = matmul.measured_peaks(rows)
    # the peak is taken over n >= 1024 only: the (absurd) 300 GFLOP/s at n=64 is ignored
    assert peaks["cpu"]["float32"]["gflops"] == pytest.approx(190.0)
    assert peaks["cpu"]["float32"]["n"] == 1024
    matmul.annotate(rows, peaks)
    assert rows[2]["frac_of_peak"] == pytest.approx(1.0)
    assert rows[1]["ratio_vs_numpy"] == pytest.approx(175 / 180)
    mvn = matmul.minigan_vs_numpy(rows)
    assert mvn["float32"]["min_ratio"] == pytest.approx(175 / 180)
    assert mvn["float32"]["meets_target"] is True  # 0.972 >= 0.97
    rows[1]["samples_s"] = [t * 1.1 for t in rows[1]["samples_s"]]
    assert matmul.minigan_vs_numpy(rows)["float32"]["meets_target"] is False


def test_paired_ratio_ignores_drift_common_to_both():
    # the host slows down mid-run (samples 3-5 twice as slow for both): the pair ratios stay 1.0
    ref = {"samples_s": [1.0, 1.0, 2.0, 2.0, 2.0]}
    row = {"samples_s": [1.0, 1.0, 2.0, 2.0, 2.0]}
    assert matmul.paired_ratio(ref, row) == pytest.approx(1.0)
    assert matmul.paired_ratio(ref, {"samples_s": [1.0, 2.0]}) is None  # unequal counts: no pairs
    assert matmul.paired_ratio({"samples_s": [1.0, 1.0]}, {"samples_s": [2.0, 2.0]}) == pytest.approx(0.5)


# ----------------------------------------------------------------------------- a missing GPU
def test_missing_cuda_is_reported_with_its_reason(monkeypatch):
    monkeypatch.setattr(B, "_cuda_status", NO_CUDA)
    assert not minigan.cuda.is_available()
    assert machine.cuda_description() == {"available": False, "reason": NO_CUDA[1]}
    settings = {"book": True}
    book = matmul.book_comparison([], None, machine.cuda_description(), settings)
    assert book["gpu_float32_s"] is None
    assert "not available" in book["gpu_note"] and NO_CUDA[1] in book["gpu_note"]


def test_bench_matmul_quick_end_to_end(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(B, "_cuda_status", NO_CUDA)
    status = matmul.main(["--quick", "--sizes", "8", "16", "--shapes", "1x8x4", "--python-n", "6",
                          "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert status == 0
    assert f"cuda: not available ({NO_CUDA[1]})" in out
    assert "The book's comparison" in out

    result = json.loads((tmp_path / "matmul.json").read_text())
    for key in ("machine", "cuda", "settings", "peaks", "minigan_vs_numpy", "book_600", "rows", "method"):
        assert key in result, key
    assert result["cuda"] == {"available": False, "reason": NO_CUDA[1]}
    assert result["machine"]["cpu"]["model"]
    labels = {r["label"] for r in result["rows"]}
    assert {"numpy cpu", "minigan cpu"} <= labels
    assert not any(r["device"] == "cuda" and r["library"] != "torch" for r in result["rows"])
    for r in result["rows"]:
        assert r["gflops_median"] == pytest.approx(r["flops"] / r["time_median_s"] / 1e9)
        assert r["time_min_s"] <= r["time_median_s"] <= r["time_max_s"]
    assert {"float32", "float64"} <= set(result["minigan_vs_numpy"])
    book = result["book_600"]
    assert book["python_loop"]["scale"] == pytest.approx((600 / 6) ** 3)
    assert book["numpy_float64_s"] > 0 and "numpy_vs_python" in book["ratios"]

    with open(tmp_path / "matmul.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert table and {"label", "dtype", "shape", "gflops_median", "time_median_s"} <= set(table[0])
    assert (tmp_path / "matmul.png").read_bytes()[:8] == PNG_SIGNATURE


def test_bench_ops_quick_end_to_end(tmp_path, capsys):
    status = ops.main(["--quick", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert status == 0 and "fwd+bwd" in out
    result = json.loads((tmp_path / "ops.json").read_text())
    for key in ("machine", "rows", "ratios", "target", "gradients_agree"):
        assert key in result, key
    assert result["gradients_agree"] is True
    ops_seen = {r["op"] for r in result["rows"]}
    assert {ops.FWD_BWD, ops.LINEAR, "add (1,4)+(1,4)", "sum (1,4)"} <= ops_seen
    impls = {r["impl"] for r in result["rows"] if r["op"] == ops.FWD_BWD}
    assert {"numpy (by hand)", "minigan"} <= impls
    for r in result["rows"]:
        assert 0 < r["min_us"] <= r["median_us"] <= r["max_us"]
    assert "minigan/numpy" in result["ratios"][ops.FWD_BWD]
    assert result["target"]["target"] == ops.TARGET_RATIO
    assert (tmp_path / "ops.png").read_bytes()[:8] == PNG_SIGNATURE
    assert (tmp_path / "ops.csv").exists()


def test_numpy_fwd_bwd_reference_matches_minigan():
    assert ops.check_gradients("float64", with_torch=False)


# ----------------------------------------------------------------------------- the command
@pytest.mark.parametrize("argv", [["bench", "--help"], ["bench", "matmul", "--help"], ["bench", "ops", "--help"]])
def test_cli_help(argv):
    proc = subprocess.run([sys.executable, "-m", "minigan", *argv], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "usage: minigan bench" in proc.stdout
    if argv == ["bench", "--help"]:
        assert "matmul" in proc.stdout and "ops" in proc.stdout


@pytest.mark.parametrize("argv, words", [
    (["matmul", "--sizes", "-3"], "--sizes: must be at least 1, got -3"),
    (["matmul", "--threads", "x"], "--threads: not a number: 'x'"),
    (["ops", "--repeats", "0"], "--repeats: must be at least 1, got 0"),
    (["train", "--min-block", "0"], "--min-block: must be above 0, got 0"),
    (["train", "--conv-samples", "0"], "--conv-samples: must be at least 1, got 0"),
    (["train", "--quiet-timeout", "-1"], "--quiet-timeout: must be 0 or more, got -1")])
def test_a_count_or_time_that_cannot_work_is_refused_at_parsing(argv, words, capsys):
    """--repeats 0 used to run and write a results file of no samples."""
    from minigan.cli import main
    with pytest.raises(SystemExit) as e:
        main(["bench", *argv])
    assert e.value.code == 2
    assert words in capsys.readouterr().err


def test_cli_requires_a_command():
    proc = subprocess.run([sys.executable, "-m", "minigan"], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "usage: minigan" in proc.stderr


def test_csv_is_written_without_pandas(tmp_path, monkeypatch):
    from minigan.bench import output
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas -> ImportError
    path = output.write_csv([{"a": 1, "b": 0.5}, {"a": 2, "c": "x"}], str(tmp_path / "t.csv"))
    with open(path, newline="") as f:
        table = list(csv.DictReader(f))
    assert [r["a"] for r in table] == ["1", "2"] and table[1]["c"] == "x"


def test_cli_survives_a_command_that_fails_to_import(monkeypatch, capsys):
    from minigan import cli
    commands = {"bench": ("benchmarks", {**cli.COMMANDS["bench"][1],
                                         "broken": ("minigan.bench.does_not_exist", "a broken command")})}
    monkeypatch.setattr(cli, "COMMANDS", commands)
    assert cli.main(["bench", "broken"]) == 2
    assert "could not be imported" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        cli.main(["bench", "--help"])
    assert e.value.code == 0 and "matmul" in capsys.readouterr().out


def test_machine_records_which_openblas_kernels_ran():
    """The kernel set is asked of the loaded library; the forcing variables are recorded, and
    the terminal line says when OPENBLAS_CORETYPE forced the choice."""
    import numpy as np
    core = machine.openblas_core()
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    if "openblas" in str(blas.get("name", "")).lower():
        assert isinstance(core, str) and core  # e.g. 'Haswell', 'SkylakeX', 'Zen'
    described = machine.numpy_description()
    assert described["openblas_core"] == core
    assert described["openblas_env"] == {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
                                         if k in os.environ}
    m = {"cpu": machine.cpu_description(), "numpy": dict(described), "cuda": {"available": False}}
    m["numpy"]["openblas_core"], m["numpy"]["openblas_env"] = "Haswell", {"OPENBLAS_CORETYPE": "Haswell"}
    assert "Haswell kernels, forced by OPENBLAS_CORETYPE" in machine.summary_line(m)
    m["numpy"]["openblas_env"] = {}
    line = machine.summary_line(m)
    assert "(Haswell kernels)" in line and "forced" not in line


# ----------------------------------------------------------------------------- slow phases
def test_phase_watch_measures_again_after_a_slow_phase():
    """A probe reading over limit x the fastest seen marks the measurement slow: it is taken
    again; one that stays slow through every attempt is kept and counted."""
    calls = []
    readings = iter([5.0, 5.0, 5.0, 12.0, 5.0, 5.0])  # before/after: quiet; slow after; quiet
    watch = machine.PhaseWatch(lambda: next(readings), 1.4, timeout_s=0.0)
    assert watch.run(lambda: calls.append(1) or len(calls)) == 1
    assert watch.run(lambda: calls.append(1) or len(calls)) == 3  # taken again: the last result
    assert watch.slow_kept == 0 and watch.info()["phase_probe_ms"] == [5.0, 5.0, 5.0, 12.0, 5.0, 5.0]
    readings = iter([5.0, 20.0])
    watch = machine.PhaseWatch(lambda: next(readings), 1.4, timeout_s=0.0)
    watch.run(lambda: None, retries=0)
    assert watch.slow_kept == 1 and watch.fastest == 5.0
    assert machine.PhaseWatch(None, 1.4, 0.0).check(wait=True) is False  # no probe: never slow


def load_benchmark(name):
    """A script of benchmarks/ as a module (they are scripts, not a package)."""
    import importlib.util
    path = os.path.join(os.path.dirname(__file__), "..", "benchmarks", f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"{name}_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_conv_samples_go_through_the_phase_check(monkeypatch):
    """benchmarks/bench_conv.py takes each interleaved sample under its PhaseWatch."""
    bench_conv = load_benchmark("bench_conv")
    readings = []
    monkeypatch.setattr(bench_conv, "PHASE", machine.PhaseWatch(lambda: readings.append(1) or 1.0, 1.4, 0.0))
    times, loads = bench_conv.compare([lambda: None, lambda: None], samples=3, min_block=1e-6, settle=0.0)
    assert [len(t) for t in times] == [3, 3] and len(loads) == 3
    assert len(readings) == 6  # a probe before and after each of the three samples


def test_bench_linear_orientation_quick(tmp_path):
    """benchmarks/bench_linear_orientation.py runs and writes its JSON; the two orientations of
    a Linear product, and the weight stored either way (forward, weight and input gradients),
    agree to float32 rounding (bit for bit only with some BLAS kernels)."""
    bench = load_benchmark("bench_linear_orientation")
    result = bench.main(["--quick", "--batches", "2", "64", "--out", str(tmp_path)])
    rows = json.load(open(tmp_path / "linear_orientation.json"))["rows"]
    assert len(rows) == len(result["rows"]) == 2 * len(bench.LAYERS)
    assert all(isinstance(r["same_bits"], bool) and r["max_relative_difference"] < 1e-5 for r in rows)
    assert all(set(r["us"]) == {"usual", "other way", "other + copy", "add C+C", "add C+F", "W^T stored",
                                "dW usual", "dW, W^T", "dx usual", "dx, W^T"} for r in rows)
    assert all(r["w_t_max_relative_difference"] < 1e-5 and r["w_t_iteration_ratio"] > 0 for r in rows)


def test_bench_vm_phases_quick(tmp_path):
    """benchmarks/bench_vm_phases.py samples the probe, the two-/one-thread products (the
    one-thread one in a worker process) and a Python loop, and writes its JSON."""
    result = subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "..", "benchmarks",
                                                          "bench_vm_phases.py"),
                             "--seconds", "0.5", "--interval", "0.1", "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    samples = json.load(open(tmp_path / "vm_phases.json"))["samples"]
    assert samples and all(min(s["probe_ms"], s["product_2_threads_ms"], s["product_1_thread_ms"],
                               s["python_loop_ms"]) > 0 for s in samples)


@pytest.mark.parametrize("model, batch, convolutions", [("mnist-gan", 1, 0), ("dcgan-mnist", 2, 4)])
def test_bench_layers_quick(tmp_path, model, batch, convolutions):
    """benchmarks/bench_layers.py times every layer of G and D against PyTorch's (after
    checking each layer gives PyTorch's numbers on its input) and writes its JSON: one row
    per layer, the convolutions with the plan minigan chose."""
    pytest.importorskip("torch")
    bench = load_benchmark("bench_layers")
    bench.main(["--model", model, "--batch", str(batch), "--quick", "--no-plot", "--out", str(tmp_path)])
    result = json.load(open(tmp_path / f"layers_{model}.json"))
    from minigan import registry
    built = registry.get(model).build()
    expected = sum(len(bench.layers_of(getattr(built, net).module)) for net in ("G", "D"))
    rows = result["layers"]
    assert len(rows) == expected and result["batch"] == batch
    assert all(r[k]["minigan_ms"] > 0 and r[k]["torch_ms"] > 0 for r in rows for k in ("fwd", "fwd_bwd"))
    assert sum(r["plan"] is not None for r in rows) == convolutions
    if batch > 1:  # (the book's models take one unbatched sample)
        assert all(r["input_shape"][0] == batch for r in rows)



def test_gpu_check_script_runs_its_stages(tmp_path):
    """benchmarks/gpu_check.sh, the prepared run for a machine with a CUDA GPU, in its smoke
    mode (QUICK=1: the benchmarks' --quick; a few of the cuda tests): every stage runs with
    the options the commands accept today and leaves its files. Where no GPU is, it runs on
    tests/fake_cupy (NumPy standing in for CuPy), so its GPU stages run here too."""
    root = os.path.join(os.path.dirname(__file__), "..")
    env = dict(os.environ, QUICK="1", WORKLOADS="gan1010", TESTS_S="300", PYTHON=sys.executable,
               TESTS_FIRST="tests/test_rmsprop.py", TESTS_OPS="tests/test_cuda.py -k surface")
    if not minigan.cuda.is_available():
        env["PYTHONPATH"] = os.pathsep.join([os.path.join(root, "tests", "fake_cupy")]
                                            + os.environ.get("PYTHONPATH", "").split(os.pathsep))
    done = subprocess.run(["bash", os.path.join(root, "benchmarks", "gpu_check.sh"), str(tmp_path)],
                          env=env, capture_output=True, text=True, timeout=900, cwd=root)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log
    assert "error: unrecognized arguments" not in log and "Terminated" not in log
    for name in ("gpu.txt", "cuda_tests.log", "matmul.json", "cuda/training.json", "cpu/training.json"):
        assert (tmp_path / name).is_file(), (name, log)
    tests = (tmp_path / "cuda_tests.log").read_text()  # both passes ran, and passed
    assert "test_rmsprop.py" in tests and "test_cuda.py::test_cuda_surface PASSED" in tests, tests
    assert len(re.findall(r"\b\d+ passed", tests)) == 2 and "failed" not in tests, tests
    for device in ("cuda", "cpu"):
        rows = json.load(open(tmp_path / device / "training.json"))["rows"]
        assert [(r["workload"], r["device"]) for r in rows] == [("gan1010", device)], rows
        assert rows[0]["minigan"]["ms_per_iter"] > 0
    matmul_rows = json.load(open(tmp_path / "matmul.json"))["rows"]
    assert {r["device"] for r in matmul_rows} == {"cpu", "cuda"}


def test_cpu_check_script_runs_every_benchmark(tmp_path):
    """benchmarks/cpu_check.sh, every CPU benchmark for a new kind of machine, in its smoke mode
    (QUICK=1: each benchmark's --quick): every step runs with the options its command accepts
    today and leaves its results in the one folder."""
    root = os.path.join(os.path.dirname(__file__), "..")
    env = dict(os.environ, QUICK="1", PYTHON=sys.executable)
    done = subprocess.run(["bash", os.path.join(root, "benchmarks", "cpu_check.sh"), str(tmp_path)],
                          env=env, capture_output=True, text=True, timeout=1200, cwd=root)
    log = done.stdout + done.stderr
    assert done.returncode == 0 and "!! failed" not in log, log[-6000:]
    for name in ("training.json", "conv.json", "ops.json", "matmul.json", "adam.json",
                 "layers_mnist-gan.json", "layers_dcgan-mnist.json", "layers_conv-celeba-gan.json",
                 "cpu_check.log"):
        assert (tmp_path / name).is_file(), (name, log[-3000:])
