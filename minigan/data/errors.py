"""``DataError``: what every reader in :mod:`minigan.data` raises for bad input.

It is a ``ValueError`` (so ``except ValueError`` still catches it), and its message always
names the file, the line or entry where relevant, what was found and what was expected, so
that a wrong ``--data`` value is fixed from the message alone.
"""
from __future__ import annotations


class DataError(ValueError):
    """A data file or ``--data`` value that minigan cannot use, and why."""
