"""`dnn.train --resume CK.h5` continues the run CK.h5 holds: every setting that shapes the result
comes from the checkpoint when it is not given again. The network, its initialisation, the bunch,
the chunk and the seed (which orders the data) given with another value are refused, naming both.
The optimiser's settings (learning rate and its schedule, momentum, weight decay) and the training
images' shift are meant to be changeable on resume (fine-tuning): given, they are taken and recorded
in the checkpoints written from then on. --epochs, --threads, --mode and the outputs always come from the command line.
"""

from __future__ import annotations

from .errors import DnnValueError

# option dests, as keys of the checkpoint's config (what dnn.session stores)
FIXED = ("arch", "activation", "init", "bunch", "chunk", "seed")
TUNABLE = ("lr", "momentum", "weight_decay", "lr_schedule", "lr_gamma", "lr_step", "shift")


def given_options(parser, argv) -> set[str]:
    """The dests of the options written on the command line (not defaulted)."""
    by_flag = {flag: a.dest for a in parser._actions for flag in a.option_strings}
    given = set()
    for token in argv:
        if token == "--":
            break
        flag = token.split("=", 1)[0]
        if flag in by_flag:
            given.add(by_flag[flag])
    return given


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        try:
            return float(a) == float(b)
        except (TypeError, ValueError):
            return False
    return str(a) == str(b)


def restore(args, given: set[str], stored: dict, path) -> None:
    """Set args' shaping options from the checkpoint's config; refuse conflicting ones, naming both
    values of each."""
    diffs = []
    for dest in FIXED + TUNABLE:
        if dest not in stored:  # a checkpoint from before this setting was stored: the command line's
            continue
        value, mine = stored[dest], getattr(args, dest)
        if dest in given and mine is not None and dest in TUNABLE:
            continue
        if dest in given and mine is not None and not _same(mine, value):
            diffs.append(f"--{dest.replace('_', '-')} {value} (checkpoint) vs {mine} (now)")
            continue
        setattr(args, dest, type(mine)(value) if isinstance(mine, (int, float)) and value is not None else value)
    if diffs:
        raise DnnValueError(f"checkpoint {path} does not fit this run: {'; '.join(diffs)}; a resumed run keeps "
                            "the settings it started with: drop those options or start without --resume")
