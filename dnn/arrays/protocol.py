"""NumPy runs dnn.arrays: __array_ufunc__ and __array_function__ for OffloadArray.

np.exp(x), x + y, np.sum(x, axis=0), x @ w on offload arrays run on the card and return
offload arrays. Anything without a card kernel is refused with a TypeError naming it: an
offload array never goes back to the host behind the caller's back.
"""

from __future__ import annotations

import numpy as np


def _refuse(name: str):
    return TypeError(f"dnn.arrays: numpy.{name} has no card kernel; bring the array to the host with "
                     ".get() and call NumPy there")


def _ufuncs():
    from . import ops

    table = {getattr(np, n): (lambda n: lambda a, b, out=None: ops.binary(n, a, b, out))(n) for n in ops.BINARY}
    table.update({getattr(np, n): (lambda n: lambda a, out=None: ops.unary(n, a, out))(n) for n in ops.UNARY})
    table[np.matmul] = lambda a, b, out=None: ops.matmul(a, b, out)
    return table


def _functions():
    from . import ops

    def reduction(name):
        def run(a, axis=None, dtype=None, out=None, keepdims=False, **kw):
            if dtype is not None or kw.get("where", True) is not True or kw.get("initial") is not None:
                raise TypeError(f"dnn.arrays: numpy.{name} with dtype=, where= or initial= has no card kernel")
            return ops.reduce(name, a, axis, keepdims, out)
        return run

    def argmax(a, axis=None, out=None, keepdims=False):
        return ops.reduce("argmax", a, axis, keepdims, out)

    def zeros_like(a, dtype=None, order="K", subok=True, shape=None, device=None):
        return a.device.zeros(a.shape if shape is None else shape, dtype or a.dtype, shared=a.shared)

    def dot(a, b, out=None):
        if np.ndim(a) == 0 or np.ndim(b) == 0:
            return ops.binary("multiply", a, b, out)
        return ops.matmul(a, b, out)

    def transpose(a, axes=None):
        if axes is not None:
            raise _refuse("transpose with axes")
        return ops.transpose(a)

    def reshape(a, shape=None, order="C", **kw):
        if order != "C":
            raise _refuse(f"reshape with order={order!r}")
        return a.reshape(shape if shape is not None else kw["newshape"])

    # metadata: no data moves
    def shape(a):
        return a.shape

    def ndim(a):
        return a.ndim

    def size(a, axis=None):
        return a.size if axis is None else a.shape[axis]

    return {np.sum: reduction("sum"), np.mean: reduction("mean"), np.max: reduction("max"),
            np.amax: reduction("max"), np.argmax: argmax, np.dot: dot, np.zeros_like: zeros_like,
            np.transpose: transpose, np.reshape: reshape, np.shape: shape, np.ndim: ndim, np.size: size}


_UFUNCS: dict = {}
_FUNCTIONS: dict = {}


def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
    if not _UFUNCS:
        _UFUNCS.update(_ufuncs())
    if method != "__call__":
        raise _refuse(f"{ufunc.__name__}.{method}")
    if ufunc not in _UFUNCS:
        raise _refuse(ufunc.__name__)
    if kwargs.get("dtype") is not None or kwargs.get("where", True) is not True or set(kwargs) - {"dtype", "where", "casting"}:
        raise TypeError(f"dnn.arrays: numpy.{ufunc.__name__} with {', '.join(sorted(kwargs))}= has no card kernel")
    if out is not None:
        if len(out) != 1:
            raise TypeError(f"dnn.arrays: numpy.{ufunc.__name__} has one output")
        out = out[0]
    return _UFUNCS[ufunc](*inputs, out=out)


def __array_function__(self, func, types, args, kwargs):
    if not _FUNCTIONS:
        _FUNCTIONS.update(_functions())
    impl = _FUNCTIONS.get(func)
    if impl is None:
        raise _refuse(func.__name__)
    return impl(*args, **kwargs)
