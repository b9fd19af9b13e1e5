"""What every dnn command line shares: a failure we can name is one line on stderr and exit
status 2 (no traceback); Ctrl-C is 130 and SIGTERM 143, after the `finally` blocks have
stopped the card and removed temporary files."""

from __future__ import annotations

import os
import signal
import sys

from .errors import DnnError


class Terminated(BaseException):
    """SIGTERM, raised like KeyboardInterrupt so cleanup runs."""


# The signals received, kept: a signal's exception is raised wherever Python happens to be, and
# where that is a weakref callback or a __del__ Python only reports it and goes on; raise_pending()
# raises it again at a point of the caller's choosing, so a Ctrl-C is never lost.
_pending: list[type[BaseException]] = []


def _unraisable(unraisable) -> None:
    """sys.unraisablehook: a signal's exception swallowed by a __del__ or weakref callback is not
    reported (it would print a traceback; raise_pending() raises it again); anything else is, as
    Python would."""
    if _pending and isinstance(unraisable.exc_value, (KeyboardInterrupt, Terminated)):
        return
    sys.__unraisablehook__(unraisable)


def _on_signal(signum, frame):
    exc = KeyboardInterrupt if signum == signal.SIGINT else Terminated
    _pending.append(exc)
    raise exc()


def raise_pending() -> None:
    """Raise the first signal received, if any (one whose exception was swallowed)."""
    if _pending:
        raise _pending[0]()


def run_cli(prog: str, main, argv=None) -> int:
    _pending.clear()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _on_signal)
    sys.unraisablehook = _unraisable
    try:
        status = main(argv) or 0
        raise_pending()  # one that arrived where it could not stop the command
        return status
    except DnnError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print(f"{prog}: terminated", file=sys.stderr)
        return 143
    except BrokenPipeError:  # output piped into `head`: not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0
    finally:
        _pending.clear()  # answered: code that runs after this command starts afresh
