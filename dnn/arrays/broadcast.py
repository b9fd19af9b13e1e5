"""Broadcasting reduced to what a card kernel walks: at most three dimensions.

NumPy's broadcasting of C-contiguous operands, with the output's dimensions merged wherever
every operand steps through them as through one (contiguous runs, or repeats of one element),
gives the kernels of arr_elementwise.cilk a fixed shape (n0, n1, n2) and per operand the
element strides of each dimension; the innermost stride is always 1 or 0. Shapes that do not
merge down to three dimensions are walked as several calls over the leading ones.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np


def c_strides(shape) -> tuple[int, ...]:
    """Element strides of a C-contiguous array of this shape."""
    out, step = [], 1
    for n in reversed(shape):
        out.append(step)
        step *= n
    return tuple(reversed(out))


@dataclass(frozen=True)
class Piece:
    """One kernel call: element offsets of output and operands, three dims, strides per operand."""

    out_offset: int
    offsets: tuple[int, ...]
    dims: tuple[int, int, int]
    strides: tuple[tuple[int, int, int], ...]


def plan(out_shape, shapes) -> list[Piece]:
    """The calls that compute an output of out_shape from operands of these shapes."""
    nd = len(out_shape)
    rows = []  # per kept output dimension: (size, stride of the output, strides of the operands)
    ops = []
    for shape in shapes:
        padded = (1,) * (nd - len(shape)) + tuple(shape)
        own = c_strides(padded)
        ops.append([0 if (p == 1 and o != 1) else s for p, o, s in zip(padded, out_shape, own)])
    out_st = c_strides(out_shape)
    for d in range(nd):
        if out_shape[d] != 1:
            rows.append([out_shape[d], out_st[d], [st[d] for st in ops]])
    merged = []
    for size, ost, sts in reversed(rows):  # innermost first
        if merged:
            n_in, o_in, s_in = merged[-1]
            if ost == o_in * n_in and all(s == si * n_in for s, si in zip(sts, s_in)):
                merged[-1] = [n_in * size, o_in, s_in]
                continue
        merged.append([size, ost, sts])
    merged.reverse()  # outermost first
    lead, core = merged[:-3] if len(merged) > 3 else [], merged[-3:]
    while len(core) < 3:
        core.insert(0, [1, 0, [0] * len(shapes)])
    dims = tuple(c[0] for c in core)
    strides = tuple(tuple(c[2][k] for c in core) for k in range(len(shapes)))
    pieces = []
    for idx in itertools.product(*(range(l[0]) for l in lead)):
        out_off = sum(i * l[1] for i, l in zip(idx, lead))
        offs = tuple(sum(i * l[2][k] for i, l in zip(idx, lead)) for k in range(len(shapes)))
        pieces.append(Piece(out_off, offs, dims, strides))
    return pieces


def result_shape(*shapes) -> tuple[int, ...]:
    """NumPy's broadcast shape, with NumPy's error when the shapes do not broadcast."""
    return tuple(np.broadcast_shapes(*shapes))
