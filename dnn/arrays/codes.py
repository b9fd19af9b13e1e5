"""The numbers the card kernels and Python agree on: dtype and operation codes of
native/arrays/arr.h (tests/test_arrays.py reads the header and checks they match)."""

from __future__ import annotations

import numpy as np

# dtype codes (ARR_F32 ...): the four dtypes the card kernels know
DTYPES = {np.dtype(np.float32): 0, np.dtype(np.float64): 1, np.dtype(np.int64): 2, np.dtype(np.bool_): 3}

# arr_binary: arithmetic writes the operands' dtype, comparisons (from EQ on) write bool
ADD, SUB, MUL, DIV, MAX = 0, 1, 2, 3, 4
EQ, NE, GT, LOR = 10, 11, 12, 13
COMPARISONS = frozenset({EQ, NE, GT, LOR})

# arr_unary
ABS, NEG, EXP, LOG = 0, 1, 2, 3

# arr_reduce
SUM, AMAX, ARGMAX = 0, 1, 2

# The names as arr.h spells them, for the test that holds the two files together.
C_NAMES = {
    "ARR_F32": 0, "ARR_F64": 1, "ARR_I64": 2, "ARR_BOOL": 3,
    "ARR_ADD": ADD, "ARR_SUB": SUB, "ARR_MUL": MUL, "ARR_DIV": DIV, "ARR_MAX": MAX,
    "ARR_EQ": EQ, "ARR_NE": NE, "ARR_GT": GT, "ARR_LOR": LOR,
    "ARR_ABS": ABS, "ARR_NEG": NEG, "ARR_EXP": EXP, "ARR_LOG": LOG,
    "ARR_SUM": SUM, "ARR_AMAX": AMAX, "ARR_ARGMAX": ARGMAX,
}


def code_of(dtype) -> int:
    """The card's code for a dtype; a TypeError naming the four it knows otherwise."""
    dt = np.dtype(dtype)
    if dt not in DTYPES:
        raise TypeError(f"dnn.arrays: dtype {dt} has no card kernels (float32, float64, int64 and bool do)")
    return DTYPES[dt]
