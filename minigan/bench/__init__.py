"""Benchmarks of minigan against its references (NumPy, PyTorch, CuPy) and the machine's peak.

``minigan bench matmul`` and ``minigan bench ops`` (see :mod:`minigan.cli`) run the modules
here; ``benchmarks/bench_*.py`` are thin wrappers around the same code. The reusable parts:

* :mod:`minigan.bench.timing`: warm-up, synchronised GPU timing, medians of long-enough blocks,
  rotated inputs, interleaved A/B sampling, foreign-load watching (BASELINES.md's method);
* :mod:`minigan.bench.machine`: what the figures were measured on.

Nothing here is imported by ``import minigan``; pandas and matplotlib (the ``dev`` extra) are
imported only when results are written.
"""
