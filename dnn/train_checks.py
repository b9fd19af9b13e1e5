"""The ranges of dnn.train's numeric options, checked before any work, with messages that name
the limit: a value that passes here cannot crash the run later (a negative seed, a chunk larger
than this machine's memory, a layer wider than the C trainer's int32 sizes).
"""

from __future__ import annotations

import math
import os
import sys

from .errors import DnnValueError
from .machine import gigabytes as _gb
from .machine import memory_limit

MAX_SEED = 2**32 - 1
MAX_EPOCHS = 1_000_000
MAX_THREADS = 1024
MAX_LAYER = 2**31 - 1           # the C trainer keeps layer sizes in int32
MAX_CARD_MIB = 1 << 24          # 16 TiB: more than any card ever had
MAX_CARD_TIMEOUT = 86400.0
OVERSUBSCRIBE = 4               # threads per core beyond which a warning is due


def _usage(msg: str):
    raise DnnValueError(msg)


def check_ranges(args, *, inputs: int) -> None:
    """Every numeric option of dnn.train in its range (args from dnn.train's parser)."""
    if not 0 <= args.seed <= MAX_SEED:
        _usage(f"--seed must be in 0..{MAX_SEED}, got {args.seed}")
    if not 1 <= args.epochs <= MAX_EPOCHS:
        _usage(f"--epochs must be at least 1 and at most {MAX_EPOCHS:,}, got {args.epochs}")
    # None: not given, the default follows the bunch (dnn.trainer.Config)
    if args.lr is not None and not (math.isfinite(args.lr) and args.lr > 0):
        _usage(f"--lr must be a positive number, got {args.lr}")
    if args.momentum is not None and not (math.isfinite(args.momentum) and 0 <= args.momentum < 1):
        _usage(f"--momentum must be in [0, 1), got {args.momentum}")
    if not (math.isfinite(args.weight_decay) and 0 <= args.weight_decay < 1):
        _usage(f"--weight-decay must be in [0, 1), got {args.weight_decay}")
    if not (math.isfinite(args.lr_gamma) and 0 < args.lr_gamma <= 1):
        _usage(f"--lr-gamma must be in (0, 1], got {args.lr_gamma}")
    if args.lr_step < 1:
        _usage(f"--lr-step is epochs between steps and must be at least 1, got {args.lr_step}")
    if not 1 <= args.threads <= MAX_THREADS:
        _usage(f"--threads must be in 1..{MAX_THREADS}, got {args.threads}")
    if not (math.isfinite(args.card_memory) and 0 <= args.card_memory <= MAX_CARD_MIB):
        _usage(f"--card-memory must be a size in MiB from 0 (unlimited) to {MAX_CARD_MIB:,} (16 TiB), "
               f"got {args.card_memory}")
    if not (math.isfinite(args.card_timeout) and 0 <= args.card_timeout <= MAX_CARD_TIMEOUT):
        _usage(f"--card-timeout must be seconds in 0..{MAX_CARD_TIMEOUT:g} (0 = wait for ever), got {args.card_timeout}")
    if args.bunch is not None and args.bunch < 1:  # None: the default, 100 (1 with --workers)
        _usage(f"--bunch must be positive, got {args.bunch}")
    if args.chunk is not None:
        if args.chunk < 1:
            _usage(f"--chunk must be positive, got {args.chunk}")
        need, (have, what) = 2 * args.chunk * (inputs * 4 + 4), memory_limit()
        if need > have:
            _usage(f"--chunk {args.chunk:,} rows of {inputs:,} floats needs {_gb(need)} (two buffers); "
                   f"{what} {_gb(have)}")
    cores = os.cpu_count() or 1
    if args.threads > OVERSUBSCRIBE * cores:
        print(f"dnn.train: warning: --threads {args.threads} oversubscribes this machine's {cores} cores; "
              "expect it to be slower, not faster", file=sys.stderr)


def check_arch_fits(sizes, bunch: int) -> None:
    """A network this machine can hold: sizes within int32, weights (three copies: parameters,
    gradients, momentum) and a bunch's activations within its memory."""
    for s in sizes:
        if s > MAX_LAYER:
            _usage(f"--arch: a layer of {s:,} units is more than the limit of {MAX_LAYER:,}")
    weights = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    need = 3 * 4 * weights + 2 * 4 * bunch * sum(sizes)
    have, what = memory_limit()
    if need > have:
        arch = "-".join(map(str, sizes))
        _usage(f"--arch {arch}: {weights:,} parameters and the activations of --bunch {bunch} need {_gb(need)} "
               f"and {what} {_gb(have)}: they do not fit in memory; use a smaller --arch or --bunch")
