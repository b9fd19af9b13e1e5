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


def _on_sigterm(signum, frame):
    raise Terminated()


def run_cli(prog: str, main, argv=None) -> int:
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return main(argv) or 0
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
