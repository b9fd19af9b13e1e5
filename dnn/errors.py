"""Exceptions of dnn.

Every class inherits from both the builtin that fits and :class:`DnnError`, so callers can
catch either (``except MemoryError`` or ``except dnn.DnnError``).
"""

import os


def no_such_file(path: str | os.PathLike, what: str, make: str) -> str:
    """How every command says that a file it needs is missing, and what to type to make it:
    "PATH: no such WHAT; make one with 'COMMAND'"."""
    return f"{path}: no such {what}; make one with '{make}'"


class DnnError(Exception):
    """Base class of every error dnn raises on purpose."""


class DnnValueError(DnnError, ValueError):
    """A bad argument: wrong shape, dtype, size, or a pointer the card cannot use."""


class DataError(DnnError, ValueError):
    """A dataset file is malformed or does not hold what is expected."""


class ArenaFullError(DnnError, MemoryError):
    """The shared arena (Cilk shared memory) has no block large enough."""


class HostMemoryError(DnnError, MemoryError):
    """This machine's memory cannot hold what was asked for (host and explicit modes: no arena)."""


class CardMemoryError(DnnError, MemoryError):
    """The card's private memory capacity is exhausted (explicit transfers)."""


class CardDiedError(DnnError, RuntimeError):
    """The card process exited or was killed while it was needed."""


class KernelError(DnnError, RuntimeError):
    """A kernel reported an error, or no kernel of that name is registered."""


class CardStartError(DnnError, OSError):
    """The card could not be started (executable missing, address taken, ...)."""
