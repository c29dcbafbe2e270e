"""The ``minigan`` command's subcommands: one module each, with ``add_arguments(parser)`` and
``run(args) -> exit status``; :mod:`minigan.cli` lists them.

Bad input (a missing or malformed data file, a model file of the wrong kind) ends a command
with one short line naming the file and the problem, and exit status 2 - not a traceback.
"""
from __future__ import annotations

import argparse
import sys


def seed_arg(text: str) -> int:
    """argparse type of ``--seed``: an integer ``minigan.manual_seed`` takes (PyTorch's range),
    refused at parsing, in one line, otherwise."""
    from ..backend import seed_value
    try:
        seed_value(int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    except RuntimeError as e:
        raise argparse.ArgumentTypeError(str(e).removeprefix("manual_seed: ")) from None
    return int(text)


def device_arg(text: str) -> str:
    """argparse type of ``--device``: a device minigan can use here (``cpu``, ``cuda``,
    ``cuda:1`` ...), or one line saying why not (an unknown name, no CuPy, no such GPU)."""
    from ..backend import get_backend
    try:
        get_backend(text)
    except (ValueError, TypeError, RuntimeError) as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def fail(command: str, message: str) -> int:
    """Print ``minigan COMMAND: MESSAGE`` to stderr; return the exit status 2."""
    print(f"minigan {command}: {message}", file=sys.stderr)
    return 2


def bad_input_errors() -> tuple:
    """The exception types that mean "the user's file or argument is wrong"."""
    from ..data import DataError
    from ..modelfile import ModelFileError
    from ..resume import ResumeError
    from ..serialization import CheckpointError
    return DataError, ModelFileError, CheckpointError, ResumeError, FileNotFoundError


def run_reporting(command: str, fn, *args, **kwargs) -> int:
    """``fn(*args, **kwargs)``; 0 when it returns, 2 (and one line) on bad input."""
    try:
        fn(*args, **kwargs)
    except bad_input_errors() as e:
        return fail(command, str(e))
    return 0
