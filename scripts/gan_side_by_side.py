"""An MNIST GAN beyond the book trained in minigan and in PyTorch, then judged side by side.

Issue 10 asks that minigan's GANs be "as good as PyTorch's, shown with a number". For the
model NAME (``minigan.models.get(NAME)``: gan-batched, gan-mlp, lsgan, dcgan-mnist, wgan,
wgan-gp) this script

1. builds D and G on minigan after ``minigan.manual_seed(--seed)`` and copies those initial
   weights into the PyTorch twin (the same definition built with ``torch``:
   ``model.build(torch)``), so both start from the same numbers;
2. trains minigan with the model's own loop (:meth:`GanExperiment.fit`: its default epochs,
   batch size and shuffling, the shuffled order derived from the seed) and PyTorch with the
   smallest loop that does the same: the same :func:`minigan.experiment.batches` (so the same
   batches in the same order), the same real batches (``model.real_batch``, pixels scaled to
   the model's range, handed to PyTorch as the same float32 numbers), seeds drawn on PyTorch
   with the model's ``seed(torch, n)`` after ``torch.manual_seed(--seed)``, and the *same step
   function* from :mod:`minigan.training` (``gan_step``, or ``wgan_step`` with the model's
   ``n_critic``, ``clip`` and ``penalty_weight``) - no step logic is copied here;
3. draws 1,000 images from each generator (each framework's own RNG; BatchNorm in training
   mode as in training) and judges them with the shipped judge
   (:func:`minigan.metrics.judge_generated`): class coverage, largest share, entropy, and the
   Fréchet distance on the judge's 200 hidden features (its LayerNorm outputs) against the
   1,000 held-out test digits of the bundled sample;
4. adds the real-vs-real baseline (:func:`minigan.metrics.real_baseline`: the 4,000 train
   digits cut into four sets of 1,000, each judged against the same test digits), and writes
   ``benchmarks/results/gan_side_by_side_NAME.json`` with both frameworks' numbers, train
   seconds, steps, the machine (``minigan.bench.machine.describe``), versions, threads and
   the exact command.

The two trainings run **one after the other in this process** (minigan first), each on one
thread: the BLAS/OpenMP environment variables are set to 1 before NumPy is imported (unless
already set) and ``torch.set_num_threads(1)``. Float32 rounding differs between the engines
and Adam amplifies it, so the two runs part within the first steps and are two trainings of
one model from one start (``tests/test_models_beyond.py`` checks that in float64 they are the
same training); the comparison is of how good each result is, not of the weights.

Usage::

    python scripts/gan_side_by_side.py gan-mlp                      # seed 0, the defaults
    python scripts/gan_side_by_side.py wgan-gp --steps 200 --out /tmp/x.json
    python scripts/gan_side_by_side.py --table                      # every JSON -> markdown

``--table`` collects every ``benchmarks/results/gan_side_by_side_*.json`` into one markdown
table (``benchmarks/results/gan_side_by_side.md``, or ``--table-out``) for the README.
"""
from __future__ import annotations

import os

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
# one BLAS thread for minigan: read by NumPy's BLAS when it loads, so before any import of it
for _var in THREAD_VARS:
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import shlex  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))   # this checkout's minigan, run from anywhere
RESULTS = ROOT / "benchmarks" / "results"
PREFIX = "gan_side_by_side_"
TABLE = RESULTS / "gan_side_by_side.md"
FRAMEWORKS = ("minigan", "torch")
COUNT = 1000      # generated images judged, as many as the held-out test digits
RESAMPLES = 4     # further draws of COUNT images from each trained G, judged the same way


# ============================================================================== training
def initial_state(model, seed: int) -> dict:
    """D's and G's initial weights built on minigan after ``manual_seed(seed)``, as NumPy."""
    import minigan
    minigan.manual_seed(seed)
    nets = model.build(minigan)
    return {part: {k: np.array(v.numpy(), copy=True) for k, v in net.module.state_dict().items()}
            for part, net in (("D", nets.D), ("G", nets.G))}


def build(model, fw, state: dict, dtype: str = "float32"):
    """The model's networks on framework ``fw`` loaded with ``state`` (exact copies; cast up
    for ``dtype`` float64, the parity test's)."""
    nets = model.build(fw, dtype=getattr(fw, dtype))
    for part, net in (("D", nets.D), ("G", nets.G)):
        net.module.load_state_dict({k: fw.from_numpy(v.astype(dtype) if v.dtype.kind == "f" else v.copy())
                                    for k, v in state[part].items()})
    return nets


def is_wasserstein(model) -> bool:
    from minigan.models.wgan import WassersteinGan
    return isinstance(model, WassersteinGan)


def is_infogan(model) -> bool:
    from minigan.models.infogan import InfoGanModel
    return isinstance(model, InfoGanModel)


def is_acgan(model) -> bool:
    from minigan.models.acgan import AcganModel
    return isinstance(model, AcganModel)


def fit_minigan(model, nets, train, *, epochs: int, steps, seed: int, dtype: str = "float32") -> int:
    """minigan's own loop, :meth:`GanExperiment.fit`, with the model's defaults."""
    import random

    import minigan
    minigan.manual_seed(seed)     # the seeds G reads during training come from here
    random.seed(seed)             # a conditional GAN's random labels (Python's, as minigan train)
    return model.fit(nets, train, epochs=epochs, steps=steps, batch_size=model.batch_size,
                     shuffle=model.shuffle, rng=seed,
                     dtype=None if dtype == "float32" else getattr(minigan, dtype))


def fit_torch(model, nets, train, *, epochs: int, steps, seed: int, dtype: str = "float32") -> int:
    """The same training on PyTorch: the smallest loop around the model's step function.

    :meth:`GanExperiment.iteration` draws its seeds with minigan, so it cannot drive the
    PyTorch twin; this loop does what it does with PyTorch tensors and PyTorch-drawn seeds,
    calling the same :func:`gan_step` / :func:`wgan_step` / :func:`infogan_step` /
    :func:`acgan_step` (the choice is the model's class; the settings are read from the model,
    never repeated here). A conditional model's random labels come from Python's ``random``
    seeded alike, so both frameworks are asked for the same labels.
    """
    import random

    import torch

    from minigan.experiment import batches
    from minigan.models.infogan import codes_of
    from minigan.training import acgan_step, gan_step, infogan_step, wgan_step

    torch.manual_seed(seed)
    random.seed(seed)
    fdtype = getattr(torch, dtype)
    wasserstein = is_wasserstein(model)
    done = 0
    for _, _, index in batches(len(train), epochs=epochs, batch_size=model.batch_size,
                               shuffle=model.shuffle, rng=seed):
        if steps is not None and done >= steps:
            break
        # the very float32 numbers minigan's loop reads: the model's scaling of the batch
        real = torch.from_numpy(np.array(model.real_batch(train, index).numpy(), copy=True)).to(fdtype)
        n = real.shape[0]
        seed_a, seed_b = model.seed(torch, n).to(fdtype), model.seed(torch, n).to(fdtype)
        if wasserstein:
            alpha = (torch.rand(n, *([1] * (real.ndim - 1))).to(fdtype) if model.penalty_weight
                     else None)
            wgan_step(torch, nets.D, nets.G, real, seed_a, seed_b, n_critic=model.n_critic,
                      clip=model.clip, alpha=alpha, penalty_weight=model.penalty_weight,
                      hinge=model.hinge)
        elif is_acgan(model):
            ones, zeros = model.targets(torch, n, dtype=fdtype)
            real_labels = torch.from_numpy(np.array(train.batch(index)[2].numpy(), copy=True)).to(fdtype)
            labels_a = model.random_one_hot(torch, n).to(fdtype)
            labels_b = model.random_one_hot(torch, n).to(fdtype)
            acgan_step(torch, nets.D, nets.G, real, real_labels, seed_a, labels_a, seed_b, labels_b,
                       ones, zeros)
        elif is_infogan(model):
            ones, zeros = model.targets(torch, n, dtype=fdtype)
            infogan_step(torch, nets.D, nets.G, real, seed_a, seed_b, ones, zeros, codes=codes_of,
                         lambda_cat=model.lambda_cat, lambda_con=model.lambda_con)
        else:
            ones, zeros = model.targets(torch, n, dtype=fdtype)
            gan_step(nets.D, nets.G, real, seed_a, seed_b, ones, zeros)
        done += 1
    return done


def sample(model, fw, G_module, count: int, seed: int) -> np.ndarray:
    """``count`` images from G as (N, 1, 28, 28) in [0, 1], seeds from ``fw``'s own RNG
    after ``manual_seed(seed + 1)`` (a fixed draw, whatever the training consumed).

    minigan: ``model.sample`` (what ``minigan train`` judges); PyTorch: the same thing -
    ``model.seed(torch, count)`` through G under ``no_grad`` (G left in training mode, as
    in both loops), then ``model.to_images``. A conditional G (ACGAN) is asked for the labels
    0..9 in turn, all ``count`` in one batch on both frameworks (a batch of every label
    evenly: no crowd needed for its BatchNorm).
    """
    fw.manual_seed(seed + 1)
    if is_acgan(model):
        from minigan.experiment import cycling_labels, one_hot
        seeds = model.seed(fw, count)
        with fw.no_grad():
            out = G_module(seeds, one_hot(fw, cycling_labels(count), model.num_classes).to(seeds.dtype))
        return model.to_images(np.asarray(out.numpy()))
    if fw.__name__ == "minigan":
        return model.sample(G_module, count)
    with fw.no_grad():
        out = G_module(model.seed(fw, count)).numpy()
    return model.to_images(np.asarray(out))


def run_one(name: str, framework: str, state: dict, *, seed: int, steps, epochs: int) -> dict:
    """Train ``name`` on ``framework`` from ``state``; judge 1,000 samples. A result dict."""
    import minigan
    from minigan import metrics, models
    from minigan.data import load_mnist

    model = models.get(name)
    train = load_mnist(None, "train")
    if framework == "minigan":
        fw, fit = minigan, fit_minigan
    elif framework == "torch":
        import torch as fw
        fit = fit_torch
    else:
        raise ValueError(f"framework must be one of {FRAMEWORKS}, got {framework!r}")
    nets = build(model, fw, state)
    load_start = os.getloadavg()
    t0, cpu0 = time.perf_counter(), time.process_time()
    done = fit(model, nets, train, epochs=epochs, steps=steps, seed=seed)
    train_s, train_cpu = time.perf_counter() - t0, time.process_time() - cpu0
    t0 = time.perf_counter()
    images = sample(model, fw, nets.G.module, COUNT, seed)
    judged = metrics.judge_generated(images)
    judge_s = time.perf_counter() - t0
    # the same generator judged on other draws of 1,000: how much of a difference between the
    # two frameworks is only the luck of the sample
    resamples = []
    for k in range(1, RESAMPLES + 1):
        again = metrics.judge_generated(sample(model, fw, nets.G.module, COUNT, seed + k))
        resamples.append({key: again[key] for key in ("frechet_distance", "classes_covered",
                                                      "largest_share", "meets_bar")})
    out = {
        "framework": framework, "steps": done,
        "d_steps": nets.D.counter, "g_steps": nets.G.counter,
        "frechet_distance": judged["frechet_distance"],
        "classes_covered": judged["classes_covered"], "largest_class": judged["largest_class"],
        "largest_share": judged["largest_share"], "entropy_bits": judged["entropy_bits"],
        "meets_bar": judged["meets_bar"], "histogram": judged["histogram"],
        "resamples": resamples,
        "train_seconds": round(train_s, 2), "ms_per_step": round(1000 * train_s / max(done, 1), 3),
        # CPU time of this one-thread process: what the wall clock would read on an idle core
        # (the machine is shared, and other people's jobs stretch the wall clock)
        "train_cpu_seconds": round(train_cpu, 2),
        "judge_seconds": round(judge_s, 3),
        "d_loss_mean_last_100": _tail_mean(nets.D.progress),
        "g_loss_mean_last_100": _tail_mean(nets.G.progress),
        "load_average_start": [round(x, 2) for x in load_start],
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
    }
    if is_infogan(model):   # Q's code as a classifier of the held-out real digits
        from minigan.models.infogan_codes import matched_accuracy, q_reading
        test = load_mnist(None, "test")
        images = fw.from_numpy(np.array(test.batch(np.arange(len(test)))[1].numpy(), copy=True))
        read = matched_accuracy(q_reading(nets.D.module, images, torch=fw), test.labels)
        out["q_accuracy"], out["q_code_to_label"] = read["accuracy"], read["code_to_label"]
    if is_acgan(model):   # the requested labels read back by the judge; D's class head on test digits
        from minigan.experiment import cycling_labels
        from minigan.models.acgan import class_reading
        asked = cycling_labels(COUNT)
        read = metrics.load_judge().predict(sample(model, fw, nets.G.module, COUNT, seed))
        out["label_accuracy"] = float(np.mean(read == asked))
        out["worst_label_accuracy"] = float(min(np.mean(read[asked == k] == k) for k in range(10)))
        test = load_mnist(None, "test")
        images = fw.from_numpy(np.array(model.scale(test.batch(np.arange(len(test)))[1]).numpy(), copy=True))
        out["class_head_accuracy"] = float(np.mean(class_reading(nets.D.module, images, torch=fw) == test.labels))
    if framework == "torch":
        out["torch_threads"] = fw.get_num_threads()
    return out


def _tail_mean(values, n=100):
    return float(np.mean(values[-n:])) if values else None


def side_by_side(name: str, *, seed: int = 0, steps=None, epochs=None, frameworks=FRAMEWORKS,
                 command: str = "", log=print) -> dict:
    """Both frameworks, one after the other, from one start; the JSON-ready result."""
    import torch

    from minigan import metrics, models
    from minigan.bench import machine
    from minigan.data import load_mnist
    from minigan.experiment import epochs_for

    torch.set_num_threads(1)
    model = models.get(name)
    if model.data != "mnist":
        raise SystemExit(f"{name} draws {model.data} images; the judge reads MNIST digits")
    train = load_mnist(None, "train")
    epochs = epochs_for(steps, epochs or model.default_epochs, len(train), model.batch_size)
    state = initial_state(model, seed)
    results = {}
    for fw in frameworks:
        log(f"{name}: training on {fw} ({epochs} epochs"
            + (f", at most {steps} steps" if steps else "") + ") ...")
        results[fw] = run_one(name, fw, state, seed=seed, steps=steps, epochs=epochs)
        r = results[fw]
        log(f"  {fw}: {r['steps']} steps in {r['train_seconds']:.1f} s; FD {r['frechet_distance']:.2f}, "
            f"{r['classes_covered']} classes, largest {r['largest_share']:.1%}"
            + (f"; Q's code reads {r['q_accuracy']:.1%} of the test digits right" if "q_accuracy" in r else "")
            + (f"; the judge reads the asked label in {r['label_accuracy']:.1%} (worst label "
               f"{r['worst_label_accuracy']:.0%}), D's class head {r['class_head_accuracy']:.1%} of the "
               "test digits" if "label_accuracy" in r else ""))
    baseline = metrics.real_baseline(COUNT, seed=seed)
    baseline.pop("sets")
    baseline["frechet_distance_reference_count"] = len(metrics.held_out_digits())
    per_epoch = -(-len(train) // model.batch_size)
    return {
        "model": name, "title": model.title, "reference": model.reference,
        "seed": seed, "epochs": epochs, "steps_cap": steps, "steps_per_epoch": per_epoch,
        "batch_size": model.batch_size, "shuffle": model.shuffle,
        "defaults": steps is None and epochs == model.default_epochs,
        "data": {"train": train.source, "train_size": len(train), "test_size": len(metrics.held_out_digits())},
        "judged": f"{COUNT} generated images vs the {baseline['frechet_distance_reference_count']} held-out "
                  f"test digits of the bundled sample; Fréchet distance on the judge's 200 hidden "
                  f"features (LayerNorm outputs of the book's improved classifier); coverage: classes "
                  f"holding >= {metrics.MIN_SHARE:.0%} of the samples",
        "bar": f">= {metrics.BAR_CLASSES} classes, none above {metrics.BAR_LARGEST_SHARE:.0%}",
        "initial_weights": f"minigan.manual_seed({seed}); built on minigan, copied into PyTorch",
        "loop": ("minigan: GanExperiment.fit; PyTorch: the same batches (minigan.experiment.batches, "
                 f"rng={seed}), the same real batches, seeds from torch.manual_seed({seed}) via the "
                 "model's seed(torch, n), and the same minigan.training step function ("
                 + ("wgan_step" if is_wasserstein(model) else "infogan_step" if is_infogan(model)
                    else "acgan_step" if is_acgan(model) else "gan_step") + ")"),
        "run": "one process, the frameworks one after the other (" + ", ".join(frameworks) + ")",
        "threads": {"env": {k: os.environ.get(k) for k in THREAD_VARS},
                    "torch": torch.get_num_threads()},
        "frameworks": results,
        "real_baseline": baseline,
        "machine": machine.describe(include_torch=True),
        "command": command,
        "finished_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
    }


# ============================================================================== the table
def _fmt_share(r):
    return f"{r['classes_covered']} / {r['largest_share']:.1%}"


def table(results: list[dict]) -> str:
    """A markdown table of ``results`` (the JSON dicts), with the real-vs-real baseline."""
    if not results:
        raise SystemExit(f"no {PREFIX}*.json files in {RESULTS}")
    lines = ["| model | steps | FD minigan | FD PyTorch | classes / largest, minigan | "
             "classes / largest, PyTorch | train s minigan (CPU s) | train s PyTorch (CPU s) | "
             "bar met (minigan, PyTorch) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in results:
        m, t = r["frameworks"].get("minigan"), r["frameworks"].get("torch")
        steps = (m or t)["steps"]
        note = ("" if r.get("defaults") else " (not the defaults)") \
            + ("" if r["seed"] == 0 else f", seed {r['seed']}")

        def cell(x, key, fmt):
            return "-" if x is None else format(x[key], fmt)

        def seconds(x):
            if x is None:
                return "-"
            cpu = x.get("train_cpu_seconds")
            return f"{x['train_seconds']:.0f}" + ("" if cpu is None else f" ({cpu:.0f})")
        def fd(x):
            if x is None:
                return "-"
            draws = [x["frechet_distance"]] + [d["frechet_distance"] for d in x.get("resamples", [])]
            spread = f" ({min(draws):.0f}-{max(draws):.0f})" if len(draws) > 1 else ""
            return f"{x['frechet_distance']:.1f}{spread}"
        bar = ", ".join("-" if x is None else ("yes" if x["meets_bar"] else "no") for x in (m, t))
        lines.append(f"| {r['model']}{note} | {steps:,} | {fd(m)} | {fd(t)} | "
                     f"{'-' if m is None else _fmt_share(m)} | "
                     f"{'-' if t is None else _fmt_share(t)} | {seconds(m)} | {seconds(t)} | {bar} |")
    b = results[0]["real_baseline"]
    lines += ["", f"FD: of the 1,000 images judged for coverage; in brackets the range over "
                  f"{1 + RESAMPLES} draws of 1,000 from the same generator, where recorded.",
              f"Real vs real (the scale): {b['what']}: Fréchet distance "
                  f"{b['frechet_distance_mean']:.1f} (min {b['frechet_distance_min']:.1f}, "
                  f"max {b['frechet_distance_max']:.1f}).",
              f"Judged: {results[0]['judged']}. Bar: {results[0]['bar']}. Seed(s): "
              + ", ".join(sorted({str(r['seed']) for r in results})) + "; one thread per framework, "
              "run one after the other in one process.",
              *_machine_lines(results),
              "", "Commands:", ""]
    lines += [f"    {r['command']}" for r in results]
    return "\n".join(lines) + "\n"


def _machine_lines(results):
    """One "Machine:" line per machine the rows were measured on, naming its rows when there
    are several (the sessions do not always get the same kind of VM)."""
    machines = {}
    for r in results:
        line = _machine_line(r["machine"])
        machines.setdefault(line, []).append(r["model"] + (f", seed {r['seed']}" if r["seed"] else ""))
    if len(machines) == 1:
        return ["Machine: " + next(iter(machines)) + "."]
    return [f"Machine for {'; '.join(rows)}: {line}." for line, rows in machines.items()]


def _machine_line(m):
    from minigan.bench.machine import summary_line
    return summary_line(m)


def collect(paths=None) -> list[dict]:
    paths = sorted(RESULTS.glob(f"{PREFIX}*.json")) if paths is None else paths
    order = ("gan-mlp", "lsgan", "gan-batched", "wgan-gp", "wgan", "dcgan-mnist")
    results = [json.loads(Path(p).read_text()) for p in paths]
    return sorted(results, key=lambda r: (order.index(r["model"]) if r["model"] in order else 99,
                                          r["model"], r["seed"]))


# ============================================================================== command line
def main(argv=None) -> int:
    from minigan import models

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("name", nargs="?", choices=models.NAMES, help="the model (minigan.models)")
    p.add_argument("--seed", type=int, default=0, help="initial weights, batch order and noise")
    p.add_argument("--steps", type=int, default=None, help="stop after this many steps (default: "
                                                            "the model's default epochs)")
    p.add_argument("--epochs", type=int, default=None, help="default: the model's")
    p.add_argument("--frameworks", nargs="+", choices=FRAMEWORKS, default=list(FRAMEWORKS))
    p.add_argument("--out", default=None,
                   help=f"default: benchmarks/results/{PREFIX}NAME.json (NAME_seedN.json for a seed other than 0)")
    p.add_argument("--table", action="store_true",
                   help=f"collect benchmarks/results/{PREFIX}*.json into a markdown table")
    p.add_argument("--table-out", default=str(TABLE), help=f"default: {TABLE.relative_to(ROOT)}")
    args = p.parse_args(argv)
    if args.table:
        text = table(collect())
        Path(args.table_out).write_text(text)
        print(text, end="")
        print(f"wrote {args.table_out}")
        return 0
    if args.name is None:
        p.error("give a model NAME, or --table")
    if args.steps is not None and args.steps < 1:
        p.error(f"--steps must be at least 1, got {args.steps}")
    command = "python scripts/gan_side_by_side.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    result = side_by_side(args.name, seed=args.seed, steps=args.steps, epochs=args.epochs,
                          frameworks=tuple(args.frameworks), command=command)
    # a seed of its own gets a file of its own (a second seed used to overwrite the first)
    suffix = f"_seed{args.seed}" if args.seed else ""
    out = Path(args.out) if args.out else RESULTS / f"{PREFIX}{args.name}{suffix}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    b = result["real_baseline"]
    print(f"real vs real: FD {b['frechet_distance_mean']:.2f} "
          f"({b['frechet_distance_min']:.2f}-{b['frechet_distance_max']:.2f})")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
