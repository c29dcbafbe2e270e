"""The ``minigan`` command (also ``python -m minigan``).

::

    minigan bench matmul [--sizes ...] [--dtypes ...] [--quick]   matrix products, CPU vs GPU
    minigan bench ops [--quick]                                   per-op overhead at batch 1
    minigan bench train [--workloads ...] [--quick] [--profile W]  the book's training loops vs PyTorch

Commands come in groups (``bench`` now; ``train`` for the book's GANs later). A command is a
module with ``add_arguments(parser)`` and ``run(args) -> exit status`` and a line in
:data:`COMMANDS`; its module is imported only when the parser is built, and the modules import
their heavy dependencies (torch, pandas, matplotlib) only when they run. Adding
``minigan bench train`` is one line below plus its module.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# group -> (help of the group, {command: (module, help)})
COMMANDS = {
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
    for group, (group_help, commands) in COMMANDS.items():
        gp = groups.add_parser(group, help=group_help, description=group_help)
        sub = gp.add_subparsers(dest="command", metavar=group.upper())
        sub.required = True
        for name, (module_name, help_text) in commands.items():
            try:
                module = importlib.import_module(module_name)
            except Exception as e:  # one broken command must not take the others down
                cp = sub.add_parser(name, help=f"{help_text} [unavailable: {type(e).__name__}]")
                cp.set_defaults(_run=_unavailable(f"{group} {name}", module_name, e))
                continue
            cp = sub.add_parser(name, help=help_text, description=(module.__doc__ or help_text).strip(),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
            module.add_arguments(cp)
            cp.set_defaults(_run=module.run)
    return parser


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
