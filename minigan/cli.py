"""The ``minigan`` command (also ``python -m minigan``).

::

    minigan train NAME [--data ...] [--epochs N] [--steps N] [--out DIR]   train a book model
    minigan sample MODEL.npz --count N --out FILE.png|.npz                 draw from a generator
    minigan seeds MODEL.npz --out DIR                                      the seed experiments
    minigan eval MODEL.npz [--data ...]                                    accuracy / class coverage
    minigan data pack-celeba SRC OUT.h5 [--limit N]                        CelebA into the book's HDF5
    minigan bench matmul|ops|train                                         benchmarks vs NumPy, PyTorch

A command is a module with ``add_arguments(parser)`` and ``run(args) -> exit status`` and a
line in :data:`COMMANDS` (alone, or in a group such as ``bench``); its module is imported only
when the parser is built, and the modules import their heavy dependencies (torch, pandas,
matplotlib) only when they run.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# command -> (module, help), or group -> (help of the group, {command: (module, help)})
COMMANDS = {
    "train": ("minigan.commands.train",
              "train one of the book's models on real data; writes weights, loss plots, samples, GIF"),
    "sample": ("minigan.commands.sample", "draw images from a trained generator (PNG grid or .npz)"),
    "seeds": ("minigan.commands.seeds",
              "the book's seed experiments: interpolation, sum, difference, product of two seeds"),
    "eval": ("minigan.commands.evaluate",
             "score a model: classifier accuracy, or class coverage of a digit generator"),
    "data": ("prepare data sets in the book's formats", {
        "pack-celeba": ("minigan.commands.pack_celeba",
                        "pack CelebA's img_align_celeba.zip (or a folder of images) into the book's HDF5"),
    }),
    "bench": ("run a benchmark and write its results (JSON, CSV, PNG) to benchmarks/results/", {
        "matmul": ("minigan.bench.matmul",
                   "matrix-product GFLOP/s: minigan vs NumPy/torch/CuPy, CPU vs GPU, the book's 600x600"),
        "ops": ("minigan.bench.ops",
                "per-op overhead at the book's batch-1 scale: minigan vs NumPy vs PyTorch (us per call)"),
        "train": ("minigan.bench.training",
                  "the book's training loops (1010 GAN, MNIST classifier and GAN, CNN, conv GAN): "
                  "minigan vs PyTorch, ms per iteration"),
    }),
}


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    parser = argparse.ArgumentParser(
        prog="minigan", description="minigan: a from-scratch autograd engine and the GANs of "
                                    "'Make Your First GAN With PyTorch'.")
    parser.add_argument("--version", action="version", version=f"minigan {__version__}")
    groups = parser.add_subparsers(dest="group", metavar="COMMAND")
    groups.required = True
    for name, (first, second) in COMMANDS.items():
        if isinstance(second, dict):  # a group: minigan bench matmul ...
            gp = groups.add_parser(name, help=first, description=first)
            sub = gp.add_subparsers(dest="command", metavar=name.upper())
            sub.required = True
            for command, (module_name, help_text) in second.items():
                _add_command(sub, command, module_name, help_text, f"{name} {command}")
        else:
            _add_command(groups, name, first, second, name)
    return parser


def _add_command(subparsers, name, module_name, help_text, full_name):
    try:
        module = importlib.import_module(module_name)
    except Exception as e:  # one broken command must not take the others down
        cp = subparsers.add_parser(name, help=f"{help_text} [unavailable: {type(e).__name__}]")
        cp.set_defaults(_run=_unavailable(full_name, module_name, e))
        return
    cp = subparsers.add_parser(name, help=help_text, description=(module.__doc__ or help_text).strip(),
                               formatter_class=argparse.RawDescriptionHelpFormatter)
    module.add_arguments(cp)
    cp.set_defaults(_run=module.run)


def _unavailable(command, module_name, error):
    def run(args):
        print(f"minigan {command}: {module_name} could not be imported "
              f"({type(error).__name__}: {error})", file=sys.stderr)
        return 2
    return run


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
