"""The devices a test can be parametrised over: "cpu" (NumPy), "strict" (array-api-strict,
which refuses the NumPy-only idioms that would break on CuPy) and "cuda" (CuPy on a GPU,
marked ``cuda``, and skipped, saying why, wherever ``minigan.cuda.is_available()`` is False)."""
from __future__ import annotations

import pytest

import minigan

CUDA = pytest.param("cuda", marks=[
    pytest.mark.cuda,
    pytest.mark.skipif(not minigan.cuda.is_available(),
                       reason=f"CUDA is not available: {minigan.cuda.unavailable_reason()}")])
DEVICES = ["cpu", "strict", CUDA]
NOT_NUMPY = ["strict", CUDA]  # the backends that run the generic (non-NumPy) paths
