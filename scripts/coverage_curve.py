"""How a GAN's class coverage moves during training: judge it every few epochs of one run.

These GANs are chaotic on the 4,000 bundled digits: the largest class's share wanders by
several points from one epoch to the next, so a default length is chosen from the curve, not
from one end point. This runs ``minigan train NAME --seed S`` the way :mod:`minigan.runs` does
(same seeding, display seeds drawn first, the same shuffled batches) and, every ``--every``
epochs from ``--first`` on, judges 1,000 samples (:func:`minigan.runs.judge_generator`) with
the random generator's state saved and restored around it, so judging does not change the run.

    OPENBLAS_NUM_THREADS=1 python scripts/coverage_curve.py gan-mlp --seed 0 --epochs 150

writes ``benchmarks/results/coverage_curve_NAME_seedS.json``: [epoch, classes, largest share].
"""
from __future__ import annotations

import argparse
import json
import time

from minigan import registry, runs
from minigan.backend import host_generator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--first", type=int, default=30)
    parser.add_argument("--every", type=int, default=5)
    parser.add_argument("--out")
    args = parser.parse_args()
    experiment = registry.get(args.name)
    runs._seed_everything(args.seed)
    dataset = runs.load_real_data(experiment, None, "train")
    runs._display_inputs(experiment, "cpu")      # drawn before the networks, as a run does
    nets = experiment.build()
    it, curve, start = 0, [], time.time()
    for epoch in range(1, args.epochs + 1):
        it = experiment.fit(nets, dataset, epochs=epoch, batch_size=experiment.batch_size,
                            shuffle=True, rng=args.seed, start=it)
        if epoch >= args.first and epoch % args.every == 0:
            generator = host_generator()
            state = generator.bit_generator.state
            judged = runs.judge_generator(experiment, nets.G.module)
            generator.bit_generator.state = state
            curve.append([epoch, judged["classes_covered"], round(judged["largest_share"], 3)])
            print(args.name, args.seed, *curve[-1], f"{time.time() - start:.0f} s", flush=True)
    out = args.out or f"benchmarks/results/coverage_curve_{args.name}_seed{args.seed}.json"
    with open(out, "w") as f:
        json.dump({"model": args.name, "seed": args.seed, "columns": ["epoch", "classes", "largest_share"],
                   "curve": curve}, f, indent=1)
        f.write("\n")
    print("wrote", out)


if __name__ == "__main__":
    main()
