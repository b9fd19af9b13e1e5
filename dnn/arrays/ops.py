"""The operations of dnn.arrays with NumPy's semantics, each one call of a card kernel.

NumPy's rules are decided here, before the call: the result dtype (np.result_type, with
Python scalars weak as in NumPy 2), casts of operands to it (arr_cast on the card), the
broadcast shape (broadcast.plan), `axis`, `keepdims` and `out=`. The kernels then see one
dtype and at most three dimensions. Python computes no element here.

Operands may be offload arrays, Python or NumPy scalars (they travel with the call, through
the shared arena, as a by-value argument would), or host NumPy arrays, which cross to the
card for that call only (counted like any transfer).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from . import codes
from .array import OffloadArray
from .broadcast import plan, result_shape
from .storage import pointer

BINARY = {"add": codes.ADD, "subtract": codes.SUB, "multiply": codes.MUL, "divide": codes.DIV,
          "true_divide": codes.DIV, "maximum": codes.MAX, "equal": codes.EQ, "not_equal": codes.NE,
          "greater": codes.GT, "less": codes.GT, "logical_or": codes.LOR}
UNARY = {"absolute": codes.ABS, "negative": codes.NEG, "exp": codes.EXP, "log": codes.LOG}


class _Upload:
    """A host array that crosses to the card for one call (a fresh copy: its own address)."""

    def __init__(self, a: np.ndarray, dtype):
        self.array = np.array(a, dtype=dtype, order="C", copy=True)
        self.shape, self.dtype = self.array.shape, self.array.dtype

    def arg(self, elements: int = 0):
        return pointer(self.array.ctypes.data + elements * self.dtype.itemsize)


def _device(*xs):
    devs = {id(x.device): x.device for x in xs if isinstance(x, OffloadArray)}
    if len(devs) != 1:
        raise ValueError("dnn.arrays: an operation needs offload arrays of exactly one card"
                         + ("" if devs else " (none given)"))
    return next(iter(devs.values()))


def _promotes_as(x):
    """What np.result_type should see: Python scalars as themselves (weak), else a dtype."""
    if isinstance(x, OffloadArray):
        return x.dtype
    if isinstance(x, (bool, numbers.Number)) and not isinstance(x, np.generic):
        return x
    return np.asarray(x).dtype


def _explicit(xs) -> bool:
    return any(isinstance(x, OffloadArray) and x.buffer.explicit for x in xs)


def _as_operand(dev, x, dtype):
    """x as an operand of dtype: an offload array (cast on the card if needed), a scalar in the
    arena, or a host array uploaded for the call."""
    if isinstance(x, OffloadArray):
        return x if x.dtype == dtype else cast(x, dtype)
    a = np.asarray(x)
    if a.ndim == 0:
        s = dev.result((), dtype, explicit=False)
        s.host_view()[...] = a.astype(dtype)
        return s
    return _Upload(a, dtype)


def _split(operands):
    arrays = [x for x in operands if isinstance(x, OffloadArray)]
    uploads = [x.array for x in operands if isinstance(x, _Upload)]
    return arrays, uploads


def _result(dev, shape, dtype, explicit: bool, out):
    """The array a result goes into, and whether it must then be cast into `out`."""
    if out is None:
        return dev.result(shape, dtype, explicit), None
    if not isinstance(out, OffloadArray):
        raise TypeError("dnn.arrays: out= must be an offload array")
    if tuple(out.shape) != tuple(shape):
        raise ValueError(f"non-broadcastable output operand with shape {out.shape} doesn't match the "
                         f"broadcast shape {shape}")
    if not np.can_cast(dtype, out.dtype, "same_kind"):
        raise TypeError(f"Cannot cast ufunc output from dtype('{dtype}') to dtype('{out.dtype}') with "
                        "casting rule 'same_kind'")
    if out.dtype == dtype:
        return out, None
    return dev.result(shape, dtype, out.buffer.explicit), out


def _finish(tmp, out):
    if out is None:
        return tmp
    cast(tmp, out.dtype, out=out)
    return out


# ---- element-wise --------------------------------------------------------------------------
def binary(name: str, x, y, out=None) -> OffloadArray:
    if name == "less":
        x, y = y, x
    op = BINARY[name]
    dev = _device(x, y, *([out] if out is not None else []))
    dt = np.result_type(_promotes_as(x), _promotes_as(y))
    if op == codes.DIV and dt.kind not in "f":
        dt = np.dtype(np.float64)
    if dt == np.bool_:
        if op == codes.SUB:
            raise TypeError("numpy boolean subtract, the `-` operator, is not supported, use the bitwise_xor, "
                            "the `^` operator, or the logical_xor function instead.")
        if op == codes.ADD:
            op = codes.LOR  # NumPy's bool add is logical or
    code = codes.code_of(dt)
    res_dt = np.dtype(np.bool_) if op in codes.COMPARISONS else dt
    shape = result_shape(np.shape(x) if not isinstance(x, OffloadArray) else x.shape,
                         np.shape(y) if not isinstance(y, OffloadArray) else y.shape)
    explicit = _explicit([x, y, out])
    a, b = (_as_operand(dev, v, dt) for v in (x, y))
    z, final = _result(dev, shape, res_dt, explicit, out)
    if z.size:
        arrays, uploads = _split([a, b])
        for p in plan(shape, [a.shape, b.shape]):
            args = [op, code, z.arg(p.out_offset), a.arg(p.offsets[0]), b.arg(p.offsets[1]), *p.dims,
                    *p.strides[0], *p.strides[1]]
            dev.run(name, "cilkpp_arr_binary", args, outputs=[z], inputs=arrays, uploads=uploads)
    return _finish(z, final)


def unary(name: str, x: OffloadArray, out=None) -> OffloadArray:
    op, dt = UNARY[name], x.dtype
    if op in (codes.EXP, codes.LOG):
        if dt == np.bool_:
            raise TypeError(f"dnn.arrays: numpy.{name} of a bool array is float16 in NumPy, which has no card "
                            "kernel; cast with .astype(np.float32) first")
        if dt.kind != "f":
            dt = np.dtype(np.float64)
    if op == codes.NEG and dt == np.bool_:
        raise TypeError("The numpy boolean negative, the `-` operator, is not supported, use the `~` operator "
                        "or the logical_not function instead.")
    a = x if x.dtype == dt else cast(x, dt)
    z, final = _result(x.device, x.shape, dt, x.buffer.explicit, out)
    if z.size:
        x.device.run(name, "cilkpp_arr_unary", [op, codes.code_of(dt), z.arg(), a.arg(), z.size],
                     outputs=[z], inputs=[a])
    return _finish(z, final)


def cast(x: OffloadArray, dtype, out=None) -> OffloadArray:
    """x.astype(dtype), on the card; into `out` when given (same shape)."""
    dtype = np.dtype(dtype)
    z = out if out is not None else x.device.result(x.shape, dtype, x.buffer.explicit)
    if z.size:
        x.device.run("astype", "cilkpp_arr_cast", [codes.code_of(x.dtype), codes.code_of(dtype), z.arg(), x.arg(),
                                                     z.size], outputs=[z], inputs=[x])
    return z


# ---- reductions ----------------------------------------------------------------------------
def _axis(x: OffloadArray, axis):
    """(n0, n1, n2) with the reduced axis in the middle, and the result shape without keepdims."""
    if axis is None:
        return (1, x.size, 1), ()
    if not isinstance(axis, (int, np.integer)):
        raise TypeError(f"dnn.arrays: axis={axis!r}: the card reduces one axis or all (axis=None)")
    k = int(axis) + x.ndim if axis < 0 else int(axis)
    if not 0 <= k < x.ndim:
        raise np.exceptions.AxisError(int(axis), x.ndim)
    s = x.shape
    return (math.prod(s[:k]), s[k], math.prod(s[k + 1:])), s[:k] + s[k + 1:]


def reduce(name: str, x: OffloadArray, axis=None, keepdims=False, out=None) -> OffloadArray:
    """sum, mean, max (amax) and argmax over one axis or all."""
    dims, shape = _axis(x, axis)
    if keepdims:
        shape = tuple(1 for _ in x.shape) if axis is None else tuple(
            1 if i == (axis % x.ndim) else n for i, n in enumerate(x.shape))
    kind, div, dt = {"sum": codes.SUM, "mean": codes.SUM, "max": codes.AMAX, "argmax": codes.ARGMAX}[name], 1.0, x.dtype
    if name in ("sum", "mean") and dt.kind in "bi":
        dt = np.dtype(np.int64 if name == "sum" else np.float64)
    if name == "mean":
        div = float(dims[1])
    if name in ("max", "argmax") and dims[1] == 0:
        raise ValueError(f"attempt to get {name} of an empty sequence" if name == "argmax" else
                         "zero-size array to reduction operation maximum which has no identity")
    res_dt = np.dtype(np.int64) if name == "argmax" else dt
    a = x if x.dtype == dt else cast(x, dt)
    z, final = _result(x.device, shape, res_dt, x.buffer.explicit, out)
    if z.size:
        x.device.run(name, "cilkpp_arr_reduce", [kind, codes.code_of(dt), z.arg(), a.arg(), *dims, div],
                     outputs=[z], inputs=[a])
    return _finish(z, final)


# ---- linear algebra ------------------------------------------------------------------------
def matmul(x, y, out=None) -> OffloadArray:
    """x @ y for 1-D and 2-D operands, floats through BLAS; np.dot is the same for them."""
    dev = _device(x, y, *([out] if out is not None else []))
    xs = x.shape if isinstance(x, OffloadArray) else np.shape(x)
    ys = y.shape if isinstance(y, OffloadArray) else np.shape(y)
    if not (1 <= len(xs) <= 2 and 1 <= len(ys) <= 2):
        raise TypeError(f"dnn.arrays: matmul of shapes {xs} and {ys} has no card kernel (1-D and 2-D only)")
    M, K = (1, xs[0]) if len(xs) == 1 else xs
    K2, N = (ys[0], 1) if len(ys) == 1 else ys
    if K != K2:
        raise ValueError(f"matmul: Input operand 1 has a mismatch in its core dimension 0, with gufunc signature "
                         f"(n?,k),(k,m?)->(n?,m?) (size {K2} is different from {K})")
    shape = (() if len(xs) == 1 else (M,)) + (() if len(ys) == 1 else (N,))
    dt = np.result_type(_promotes_as(x), _promotes_as(y))
    work = np.dtype(np.int64) if dt.kind in "bi" else dt
    codes.code_of(dt)
    explicit = _explicit([x, y, out])
    a, b = (_as_operand(dev, v, work) for v in (x, y))
    z, final = _result(dev, shape, work, explicit, out if dt == work else None)
    if M and N:
        arrays, uploads = _split([a, b])
        if work == np.int64:
            dev.run("matmul", "cilkpp_arr_matmul_i64", [z.arg(), a.arg(), b.arg(), M, K, N], outputs=[z],
                    inputs=arrays, uploads=uploads)
        else:
            dev.run("matmul", "cilkpp_arr_matmul", [codes.code_of(work), z.arg(), a.arg(), b.arg(), M, K, N],
                    outputs=[z], inputs=arrays, uploads=uploads)
    if dt != work:  # bool: NumPy's matmul is the or of ands, i.e. a nonzero count
        return cast(z, dt, out=out)
    return _finish(z, final)


def transpose(x: OffloadArray) -> OffloadArray:
    if x.ndim < 2:
        return x
    if x.ndim > 2:
        raise TypeError(f"dnn.arrays: transpose of a {x.ndim}-D array has no card kernel (2-D only)")
    R, C = x.shape
    z = x.device.result((C, R), x.dtype, x.buffer.explicit)
    if z.size:
        x.device.run("transpose", "cilkpp_arr_transpose", [codes.code_of(x.dtype), z.arg(), x.arg(), R, C],
                     outputs=[z], inputs=[x])
    return z


# ---- z[np.arange(n), y]: the picked logits of a softmax ------------------------------------
def _rows_and_columns(x: OffloadArray, key):
    if not (isinstance(key, tuple) and len(key) == 2 and x.ndim == 2):
        raise TypeError("dnn.arrays: indexing supports x[i], x[a:b] and x[np.arange(n), cols] on a 2-D array")
    rows, cols = key
    n = x.shape[0]
    if not (isinstance(rows, np.ndarray) and rows.shape == (n,) and np.array_equal(rows, np.arange(n))):
        raise TypeError("dnn.arrays: x[rows, cols] needs rows = np.arange(len(x)) (one element per row)")
    if isinstance(cols, OffloadArray):
        if cols.dtype != np.int64 or cols.shape != (n,):
            raise TypeError("dnn.arrays: x[rows, cols] needs int64 cols of one element per row")
        return cols, []
    cols = np.asarray(cols)
    if cols.shape != (n,) or cols.dtype.kind not in "iu":
        raise TypeError("dnn.arrays: x[rows, cols] needs integer cols of one element per row")
    up = _Upload(cols, np.int64)
    return up, [up.array]


def pick(x: OffloadArray, key) -> OffloadArray:
    cols, uploads = _rows_and_columns(x, key)
    n, C = x.shape
    z = x.device.result((n,), x.dtype, x.buffer.explicit)
    if n:
        x.device.run("pick", "cilkpp_arr_pick", [codes.code_of(x.dtype), z.arg(), x.arg(), cols.arg(), n, C],
                     outputs=[z], inputs=[x] + ([cols] if isinstance(cols, OffloadArray) else []), uploads=uploads)
    return z


def place(x: OffloadArray, key, value) -> None:
    cols, uploads = _rows_and_columns(x, key)
    n, C = x.shape
    v = value if isinstance(value, OffloadArray) else None
    if v is None:
        v = x.device.full((n,), np.asarray(value).item(), x.dtype, shared=True)
    elif v.shape != (n,):
        v = binary("add", x.device.zeros((n,), x.dtype, shared=not x.buffer.explicit), v)  # broadcast
    if v.dtype != x.dtype:
        v = cast(v, x.dtype)
    if n:
        x.device.run("place", "cilkpp_arr_place", [codes.code_of(x.dtype), x.arg(), cols.arg(), v.arg(), n, C],
                     outputs=[x], inputs=[x, v] + ([cols] if isinstance(cols, OffloadArray) else []), uploads=uploads)
