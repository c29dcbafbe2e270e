"""A classifier trained in minigan and in PyTorch, side by side.

Full MNIST is not on this machine, so the book's accuracy figures (0.88, 0.9724, 0.9814)
can't be checked directly. This script checks the next best thing: that minigan learns as
PyTorch does. For the classifier NAME (``minigan.registry.get(NAME)``: one of the book's, or
one beyond it such as ``small-cnn`` from :mod:`minigan.models.classifiers`) it

1. builds the network on minigan (``minigan.manual_seed(--seed)``, PyTorch's default init
   rules) and copies those initial weights into the PyTorch twin
   (``experiment.build(torch=torch)``), so both start from the same numbers;
2. trains both with the book's loop, one :func:`minigan.training.train_step` per step
   (forward, loss, counter, progress, ``zero_grad``, ``backward``, ``step``), the
   experiment's epochs. A book model reads one image per step in stored order; a model
   beyond the book its own batch size and shuffling (``registry.defaults``: 100 images,
   reshuffled every epoch for the tutorial classifiers), the *same* batches in both
   frameworks - epoch ``e``'s order is ``default_rng([seed, e])``, as ``minigan train``.
   minigan runs ``experiment.fit`` on the dataset's items; PyTorch gets
   ``torch.from_numpy(images / 255)`` as float32, which is checked to be bit for bit the
   numbers minigan's items hold;
3. scores both on the test split: minigan with ``experiment.accuracy``, PyTorch with the same
   argmax (the book's CNN one image at a time, BatchNorm in training mode, as the book does;
   a model with ``eval_scoring`` - the tutorial's ``small-cnn`` - after ``module.eval()``,
   and for it the training-mode figure too, on test batches of 1,000);
4. writes a JSON: the accuracies and their difference in points, train seconds and ms per
   step, how many test predictions agree, how far the final weights and the loss curves
   drifted apart, the machine (``minigan.bench.machine.describe``), versions, threads and the
   exact command.

The two frameworks run in two worker processes, in parallel by default (``--sequential``
runs one after the other), each with ``--threads`` BLAS/OpenMP threads (default 1: two
processes on two cores; PyTorch's OpenMP threads slow down many times over when another
process holds a core). Timings are wall clock on a machine that may be shared: the load
average at the start and the end is recorded.

``--control`` adds a third run, ``torch-ulp``: PyTorch again, from the same start but with
every number moved up by one ulp. How far it ends from the plain
PyTorch run is the spread that rounding alone gives this training, the yardstick for the
minigan - PyTorch difference.

Usage::

    python scripts/side_by_side.py classifier --data fashion-mnist          # 4 epochs
    python scripts/side_by_side.py classifier-improved --data fashion-mnist # 3 epochs
    python scripts/side_by_side.py cnn-classifier                           # bundled sample
    python scripts/side_by_side.py small-cnn --data fashion-mnist           # 5 epochs, batch 100
    python scripts/side_by_side.py classifier-improved --steps 500 --dtype float64 --out /tmp/x.json

``--data`` takes what ``minigan.data.load_mnist`` does (``fashion-mnist``, a folder of IDX
files, a book CSV); without it the bundled real MNIST sample (4,000 / 1,000 digits) is used.
The default output is ``benchmarks/results/side_by_side_NAME_DATA.json``.

Float32 arithmetic is not associative and the two engines sum in different orders, so the
runs match only as far as the training damps rounding. Plain SGD on the first classifier
does: both frameworks end 240,000 steps apart by under 1e-6. Adam does not (it divides each
gradient by its own running size, so rounding-sized differences become full-sized steps):
the improved classifier's runs part after about 20,000 steps and the CNN's within the first
hundred, where the bias of a convolution whose LeakyReLU output is then batch-normalised has a
gradient that is exactly zero up to rounding, and Adam turns that noise into steps of size lr.
From there on the two runs are two different trainings from the same start, and their test
accuracies agree only within the training's own spread. ``--control`` measures that spread
(PyTorch against PyTorch); in float64 (``--dtype float64``) the runs stay together to ~1e-10
for thousands of steps, which is what ``tests/test_side_by_side.py`` checks.
"""
from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
FRAMEWORKS = ("minigan", "torch")
CONTROL = "torch-ulp"       # PyTorch again, its start moved by one ulp: the noise of training itself
TOLERANCE_POINTS = 0.5      # the issue: the same test accuracy within 0.5 points
PARALLEL = 2                # worker processes at a time: the two cores
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


# ============================================================================== data
def data_tag(data) -> str:
    """A short name for a ``--data`` value, for the output file name."""
    if data is None or str(data).lower() == "bundled":
        return "bundled"
    if str(data).lower() in ("fashion", "fashion-mnist") and not os.path.exists(str(data)):
        return "fashion-mnist"
    name = Path(str(data)).name
    for ext in (".gz", ".csv"):
        name = name[:-len(ext)] if name.endswith(ext) else name
    return name or "data"


def load_data(data):
    """``(train, test)`` MnistDatasets for a ``--data`` value (``None``: the bundled sample)."""
    from minigan.data import load_mnist
    return load_mnist(data, "train"), load_mnist(data, "test")


def describe_data(data, train, test) -> dict:
    return {"data": "bundled" if data is None else str(data), "train_source": train.source,
            "test_source": test.source, "train_size": len(train), "test_size": len(test),
            "classes": train.classes}


def torch_inputs(torch, ds, dtype):
    """``(images, targets)`` for PyTorch: ``from_numpy(images / 255)`` as float32, one-hot.

    Checked against minigan's own items (``ds.batch``): the very same float32 numbers (the
    float64 quotient rounds to the correctly rounded float32 one). In float64 mode both
    frameworks cast those float32 numbers up, as ``experiment.fit(dtype=...)`` does.
    """
    images = torch.from_numpy(ds.images / 255.0).to(torch.float32)
    _, mine, mine_targets = ds.batch(np.arange(len(ds)))
    if not np.array_equal(images.numpy(), mine.numpy()):
        raise AssertionError("PyTorch's inputs differ from minigan's items")
    targets = torch.from_numpy(np.asarray(mine_targets.numpy()).copy())
    return images.to(dtype), targets.to(dtype)


# ============================================================================== weights
def initial_state(name: str, seed: int) -> dict:
    """The network's initial state on minigan (seeded), as NumPy arrays by state_dict name."""
    import minigan
    from minigan import registry
    minigan.manual_seed(seed)
    net = registry.get(name).build(minigan)
    return {k: np.array(v.numpy(), copy=True) for k, v in net.module.state_dict().items()}


def load_state(fw, module, state: dict, dtype) -> None:
    """Load ``state`` (NumPy) into a module of framework ``fw``, floats cast to ``dtype``."""
    np_dtype = np.dtype(str(dtype).replace("torch.", ""))
    module.load_state_dict({k: fw.from_numpy(v.astype(np_dtype) if v.dtype.kind == "f" else v.copy())
                            for k, v in state.items()})


def nudged(state: dict, dtype: str) -> dict:
    """``state`` with every floating-point number moved up by one ulp (of ``dtype``).

    The control run: PyTorch against PyTorch from starts that differ by the least floats can,
    which shows how far apart rounding alone takes two runs of the same training. (Moving a
    single number is not enough: the first steps' rounding can absorb one ulp again.)
    """
    return {k: np.nextafter(v.astype(dtype), np.inf) if v.dtype.kind == "f" else v
            for k, v in state.items()}


def state_of(module) -> dict:
    return {k: np.array(v.detach().cpu().numpy() if hasattr(v, "detach") else v.numpy(), copy=True)
            for k, v in module.state_dict().items()}


# ============================================================================== one framework
def _torch_predict(torch, exp, module, images, eval_mode: bool):
    """PyTorch's argmax predictions as ``exp.predict`` makes minigan's: the book's per-sample
    CNN one image at a time, the others in batches of 1,000; in eval mode if asked."""
    was_training = module.training
    module.train(not eval_mode)
    try:
        with torch.no_grad():
            if exp.per_sample:   # BatchNorm in training mode: one image at a time, as the book
                return np.array([int(module(exp.view(images[i])).argmax().item())
                                 for i in range(len(images))])
            return np.concatenate([module(exp.view(images[s:s + 1000])).argmax(dim=1).numpy()
                                   for s in range(0, len(images), 1000)])
    finally:
        module.train(was_training)


def train_and_score(name: str, framework: str, train, test, state: dict, *, epochs: int,
                    steps: int | None = None, dtype: str = "float32", keep: bool = False,
                    batch_size: int | None = None, shuffle: bool | None = None,
                    shuffle_seed: int = 0) -> dict:
    """Train experiment ``name`` on ``framework`` from ``state`` with the book's loop; score it.

    ``batch_size`` and ``shuffle`` default to the model's (``registry.defaults``: the book's
    1 and stored order for its models); a shuffled epoch ``e`` is ordered by
    ``default_rng([shuffle_seed, e])`` in both frameworks. Returns accuracy, correct count,
    steps, train/score seconds, ms per step, the progress list (every 10th loss), the test
    predictions and (``keep``) the final weights as NumPy. A model scored in eval mode
    (``eval_scoring``) also gets ``test_accuracy_train_mode``.
    """
    import minigan
    from minigan import registry
    from minigan.experiment import batches
    from minigan.training import train_step

    exp = registry.get(name)
    default_batch, default_shuffle = registry.defaults(exp)
    batch_size = default_batch if batch_size is None else batch_size
    shuffle = default_shuffle if shuffle is None else shuffle
    eval_scoring = getattr(exp, "eval_scoring", False)
    if framework == "minigan":
        fw = minigan
    elif framework in ("torch", CONTROL):
        import torch as fw
    else:
        raise ValueError(f"framework must be one of {FRAMEWORKS + (CONTROL,)}, got {framework!r}")
    if framework == CONTROL:
        state = nudged(state, dtype)
    fdtype = getattr(fw, dtype)
    net = exp.build(fw, dtype=fdtype)
    load_state(fw, net.module, state, dtype)
    start = state_of(net.module)
    identical = all(np.array_equal(start[k], state[k].astype(start[k].dtype)) for k in state)

    if framework == "minigan":
        t0 = time.perf_counter()
        done = exp.fit(net, train, epochs=epochs, steps=steps, batch_size=batch_size,
                       shuffle=shuffle, rng=shuffle_seed,
                       dtype=None if fdtype == minigan.float32 else fdtype)
        train_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        predictions = exp.predict(net.module, test, dtype=None if fdtype == minigan.float32 else fdtype)
        score_s = time.perf_counter() - t0
    else:
        torch = fw
        images, targets = torch_inputs(torch, train, fdtype)
        test_images, _ = torch_inputs(torch, test, fdtype)
        done = 0
        t0 = time.perf_counter()
        # the same loop, and the same batches, as experiment.fit
        for _, _, i in batches(len(train), epochs=epochs, batch_size=batch_size, shuffle=shuffle,
                               rng=shuffle_seed):
            if steps is not None and done >= steps:
                break
            i = i if batch_size == 1 else torch.from_numpy(i)
            train_step(net, exp.view(images[i]), targets[i])
            done += 1
        train_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        predictions = _torch_predict(torch, exp, net.module, test_images, eval_scoring)
        score_s = time.perf_counter() - t0

    predictions = np.asarray(predictions)
    correct = int(np.sum(predictions == test.labels))
    out = {
        "framework": framework, "dtype": dtype, "steps": done,
        "test_accuracy": correct / len(test), "test_correct": correct,
        "train_seconds": round(train_s, 3), "ms_per_step": round(1000 * train_s / max(done, 1), 4),
        "score_seconds": round(score_s, 3), "initial_weights_identical": identical,
        "progress": list(net.progress), "predictions": predictions,
    }
    if keep:
        out["weights"] = state_of(net.module)
    if eval_scoring:
        # after the weights are kept: scoring in training mode moves BatchNorm's running stats
        if framework == "minigan":
            other = exp.predict(net.module, test, eval_mode=False,
                                dtype=None if fdtype == minigan.float32 else fdtype)
        else:
            other = _torch_predict(fw, exp, net.module, test_images, eval_mode=False)
        out["test_accuracy_eval_mode"] = out["test_accuracy"]
        out["test_accuracy_train_mode"] = float(np.mean(np.asarray(other) == test.labels))
    out["batch_size"], out["shuffle"] = batch_size, shuffle
    return out


def _worker(name, framework, data, state, epochs, steps, dtype, threads, batch_size=None,
            shuffle=None, shuffle_seed=0):
    """One framework in its own process: load the data, set the threads, train, score."""
    if threads is not None and framework != "minigan":
        import torch
        torch.set_num_threads(threads)
    train, test = load_data(data)
    out = train_and_score(name, framework, train, test, state, epochs=epochs, steps=steps,
                          dtype=dtype, keep=True, batch_size=batch_size, shuffle=shuffle,
                          shuffle_seed=shuffle_seed)
    out["threads"] = {"env": {k: os.environ.get(k) for k in THREAD_VARS if os.environ.get(k)}}
    if framework != "minigan":
        import torch
        out["threads"]["torch"] = torch.get_num_threads()
    out["pid"] = os.getpid()
    return out


# ============================================================================== both
def compare(results: dict, a: str = "minigan", b: str = "torch") -> dict:
    """How far apart runs ``a`` and ``b`` ended: accuracy points, predictions, weights, losses."""
    m, t = results[a], results[b]
    diff = 100.0 * (m["test_accuracy"] - t["test_accuracy"])
    out = {"runs": f"{a} - {b}", "accuracy_difference_points": round(diff, 4),
           "within_tolerance": abs(diff) <= TOLERANCE_POINTS + 1e-9,
           "tolerance_points": TOLERANCE_POINTS,
           "predictions_agree": float(np.mean(m["predictions"] == t["predictions"]))}
    if "weights" in m and "weights" in t:
        w = {}
        for k, a in m["weights"].items():
            b = t["weights"][k]
            if a.dtype.kind != "f":
                continue
            d = np.abs(a.astype(np.float64) - b.astype(np.float64))
            w[k] = {"max_abs": float(d.max()),
                    "relative": float(np.linalg.norm(d) / max(np.linalg.norm(b.astype(np.float64)), 1e-300))}
        out["final_weights"] = w
        out["final_weights_max_abs_difference"] = max(v["max_abs"] for v in w.values())
    pm, pt = np.asarray(m["progress"]), np.asarray(t["progress"])
    n = min(len(pm), len(pt))
    if n:
        d = np.abs(pm[:n] - pt[:n])
        out["loss_curve"] = {"points": n, "every_steps": 10,
                             "max_abs_difference_first_100_points": float(d[:100].max())}
        for limit in (1e-6, 1e-3, 1e-1):
            apart = np.flatnonzero(d > limit)
            out["loss_curve"][f"first_step_apart_by_{limit:g}"] = \
                int(10 * (apart[0] + 1)) if apart.size else None
    return out


def epoch_losses(progress, steps_per_epoch: int) -> list:
    """Mean recorded loss per epoch (progress holds every 10th step's loss)."""
    per = max(steps_per_epoch // 10, 1)
    return [round(float(np.mean(progress[s:s + per])), 6) for s in range(0, len(progress), per)]


def side_by_side(name: str, data=None, *, epochs: int | None = None, steps: int | None = None,
                 frameworks=FRAMEWORKS, seed: int = 0, dtype: str = "float32",
                 parallel: bool = True, threads: int | None = 1, command: str = "",
                 batch_size: int | None = None, shuffle: bool | None = None) -> dict:
    """Train ``name`` on each framework in worker processes from the same start; the result dict.

    ``batch_size`` and ``shuffle`` default to the model's (``minigan.registry.defaults``);
    ``seed`` gives the initial weights and, for shuffled epochs, the batch order."""
    from minigan import registry
    from minigan.bench import machine

    try:
        exp = registry.get(name)
    except KeyError as e:
        raise SystemExit(e.args[0]) from None
    if exp.kind != "classifier":
        raise SystemExit(f"{name} is a {exp.kind}, not a classifier experiment")
    book_model = getattr(exp, "book_model", True)
    if epochs is None:   # the book's epochs for its models, the tutorial's for the others
        epochs = exp.book_epochs if book_model else exp.default_epochs
    default_batch, default_shuffle = registry.defaults(exp)
    batch_size = default_batch if batch_size is None else batch_size
    shuffle = default_shuffle if shuffle is None else shuffle
    if batch_size < 1:
        raise SystemExit(f"--batch-size must be at least 1, got {batch_size}")
    if exp.per_sample and batch_size != 1:
        raise SystemExit(f"{name} reads one image at a time (the book's batch of one)")
    train, test = load_data(data)
    state = initial_state(name, seed)
    load_start = os.getloadavg()

    saved = {k: os.environ.get(k) for k in THREAD_VARS}
    if threads is not None:   # the workers are spawned: they read these when NumPy/torch load
        os.environ.update({k: str(threads) for k in THREAD_VARS})
    try:
        workers = min(len(frameworks), PARALLEL) if parallel else 1
        with ProcessPoolExecutor(max_workers=workers,
                                 mp_context=get_context("spawn")) as pool:
            t0 = time.perf_counter()
            futures = {fw: pool.submit(_worker, name, fw, data, state, epochs, steps, dtype, threads,
                                       batch_size, shuffle, seed)
                       for fw in frameworks}
            results = {fw: f.result() for fw, f in futures.items()}
            wall = time.perf_counter() - t0
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    if batch_size == 1 and not shuffle:
        loop = "the book's: batch 1, stored order, minigan.training.train_step per image"
    else:
        loop = (f"batches of {batch_size}, "
                + (f"reshuffled every epoch (epoch e: numpy default_rng([{seed}, e]).permutation), "
                   if shuffle else "stored order, ")
                + "the same batches in both frameworks, minigan.training.train_step per batch")
    if exp.per_sample:
        scoring = "one image at a time, BatchNorm in training mode (the book)"
    elif getattr(exp, "eval_scoring", False):
        scoring = ("argmax of the 10 outputs over the test split after module.eval() (BatchNorm's "
                   "running statistics, as the tutorial); test_accuracy_train_mode: BatchNorm in "
                   "training mode, test batches of 1,000")
    else:
        scoring = "argmax of the 10 outputs over the test split"
    out = {
        "experiment": name, "title": exp.title, "book_section": exp.section,
        "book_result": exp.book_result, "data": describe_data(data, train, test),
        "epochs": epochs, "steps_cap": steps, "seed": seed, "dtype": dtype,
        "batch_size": batch_size, "shuffle": shuffle,
        "loop": loop,
        "scoring": scoring,
        "initial_weights": f"minigan.manual_seed({seed}); built on minigan, copied into PyTorch",
        **({} if book_model else {"reference": exp.reference}),
        "run": f"worker processes, {workers} at a time",
        "threads_per_process": threads, "wall_seconds": round(wall, 2),
        "load_average_start": [round(x, 2) for x in load_start],
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "frameworks": {},
    }
    for fw, r in results.items():
        out["frameworks"][fw] = {k: v for k, v in r.items()
                                 if k not in ("progress", "predictions", "weights", "framework")}
        out["frameworks"][fw]["epoch_mean_loss"] = epoch_losses(r["progress"],
                                                               -(-len(train) // batch_size))
    if "minigan" in results and "torch" in results:
        out["comparison"] = compare(results)
    if CONTROL in results and "torch" in results:
        out["control"] = compare(results, CONTROL, "torch")
        out["control"]["what"] = ("PyTorch against PyTorch, every number of the control run's "
                                  "start moved up by one ulp: the spread that rounding alone "
                                  "gives this training")
    out["machine"] = machine.describe(include_torch=True)
    out["minigan_source"] = str(Path(machine.__file__).resolve().parent.parent)
    out["pythonpath"] = os.environ.get("PYTHONPATH")
    out["command"] = command
    return out


def table(result: dict) -> str:
    d = result["data"]
    lines = [f"{result['experiment']} ({result['book_section']}) on {d['data']}: "
             f"{d['train_size']} train / {d['test_size']} test, {result['epochs']} epochs, "
             f"{result['dtype']}, {result['run']}, {result['threads_per_process']} thread(s) each",
             f"{'framework':<10}{'accuracy':>10}{'steps':>9}{'train s':>10}{'ms/step':>9}"]
    for fw, r in result["frameworks"].items():
        lines.append(f"{fw:<10}{r['test_accuracy']:>10.4f}{r['steps']:>9}{r['train_seconds']:>10.1f}"
                     f"{r['ms_per_step']:>9.3f}"
                     + (f"   (BatchNorm in training mode: {r['test_accuracy_train_mode']:.4f})"
                        if "test_accuracy_train_mode" in r else ""))
    for key in ("comparison", "control"):
        c = result.get(key)
        if not c:
            continue
        lines.append(f"difference ({c['runs']}): {c['accuracy_difference_points']:+.2f} points "
                     f"({'within' if c['within_tolerance'] else 'OUTSIDE'} {c['tolerance_points']}); "
                     f"predictions agree on {100 * c['predictions_agree']:.2f}% of the test set; "
                     f"final weights max |diff| {c.get('final_weights_max_abs_difference', float('nan')):.3g}")
    return "\n".join(lines)


def main(argv=None) -> int:
    import json

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("name", help="a classifier: the book's classifier, classifier-improved, cnn-classifier, "
                                "or one beyond it: logistic-regression, mlp-classifier, small-cnn")
    p.add_argument("--data", default=None, help="fashion-mnist, a folder or CSV (default: the bundled sample)")
    p.add_argument("--epochs", type=int, default=None, help="default: the book's for the experiment")
    p.add_argument("--steps", type=int, default=None, help="stop after this many steps in all")
    p.add_argument("--frameworks", nargs="+", choices=FRAMEWORKS, default=list(FRAMEWORKS))
    p.add_argument("--control", action="store_true",
                   help=f"also train PyTorch from a start one ulp away ({CONTROL!r}): the noise floor")
    p.add_argument("--seed", type=int, default=0,
                   help="minigan.manual_seed for the initial weights; also orders shuffled epochs")
    p.add_argument("--batch-size", type=int, default=None,
                   help="images per step (default: the model's - 1 for the book's, 100 for the tutorials')")
    p.add_argument("--shuffle", action=argparse.BooleanOptionalAction, default=None,
                   help="reshuffle every epoch (default: the model's)")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    p.add_argument("--threads", type=int, default=1,
                   help="BLAS/OpenMP threads per worker process (0: leave the libraries' default)")
    p.add_argument("--sequential", action="store_true", help="run the frameworks one after the other")
    p.add_argument("--out", default=None, help="default: benchmarks/results/side_by_side_NAME_DATA.json")
    args = p.parse_args(argv)

    command = "python scripts/side_by_side.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    result = side_by_side(args.name, args.data, epochs=args.epochs, steps=args.steps,
                          frameworks=tuple(args.frameworks) + ((CONTROL,) if args.control else ()),
                          seed=args.seed, dtype=args.dtype,
                          parallel=not args.sequential, threads=args.threads or None,
                          command=command, batch_size=args.batch_size, shuffle=args.shuffle)
    out = Path(args.out) if args.out else RESULTS / f"side_by_side_{args.name}_{data_tag(args.data)}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
