#!/usr/bin/env python
"""Thin wrapper: the same as ``minigan bench train``, run from a source checkout.

    python benchmarks/bench_training.py [--quick] [--workloads ...] [--profile WORKLOAD]

The code lives in minigan/bench/training.py (the book's networks are minigan.book's experiments,
stepped by minigan.training); results go to benchmarks/results/ next to this file.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # import this checkout's minigan

from minigan.bench.training import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(default_out=os.path.join(HERE, "results")))
