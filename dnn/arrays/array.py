"""OffloadArray: a C-contiguous array whose bytes live on the card (or in the shared arena).

It carries shape, dtype and where its bytes are; every operation on it is a card kernel
(ops.py), reached from Python's operators, its methods, and NumPy itself through
__array_ufunc__ / __array_function__ (protocol.py). Its bytes come to the host only when asked:
get(), update_host(), float(x). np.asarray(x) is refused rather than copied silently.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .broadcast import c_strides
from .storage import pointer


class OffloadArray:
    __array_priority__ = 100  # NumPy defers its operators to ours

    def __init__(self, device, buffer, shape, dtype, offset: int = 0):
        self.device, self.buffer = device, buffer
        self.shape, self.dtype, self.offset = tuple(shape), np.dtype(dtype), int(offset)

    # -- what it is ---------------------------------------------------------------------------
    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: math.prod(self.shape))
    itemsize = property(lambda self: self.dtype.itemsize)
    nbytes = property(lambda self: self.size * self.dtype.itemsize)
    strides = property(lambda self: tuple(s * self.itemsize for s in c_strides(self.shape)))
    shared = property(lambda self: not self.buffer.explicit)

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __repr__(self) -> str:
        where = "shared" if self.shared else "card"
        return f"OffloadArray(shape={self.shape}, dtype={self.dtype}, {where})"

    def arg(self, elements: int = 0):
        """Kernel argument: the address of element `elements` (the card maps it to its copy)."""
        return pointer(self.buffer.address + self.offset + elements * self.itemsize)

    def host_view(self) -> np.ndarray:
        """The host's bytes of this array: for a shared array the very bytes the card uses, for
        a card array the host copy, current only after update_host()."""
        raw = self.buffer.host_bytes()[self.offset:self.offset + self.nbytes]
        return raw.view(self.dtype).reshape(self.shape)

    # -- moving data --------------------------------------------------------------------------
    def update_host(self) -> "OffloadArray":
        self.device.update_host(self)
        return self

    def update_device(self) -> "OffloadArray":
        self.device.update_device(self)
        return self

    def get(self) -> np.ndarray:
        """A NumPy copy of the array, after every operation posted before has run."""
        self.device.sync()  # with transfers="every-op" the last result may be coming back already
        self.device.update_host(self)
        self.device.sync()
        return self.host_view().copy()

    def __array__(self, dtype=None, copy=None):
        raise TypeError("dnn.arrays: an offload array is not converted to NumPy silently: call .get() to copy "
                        "it to the host")

    def _scalar(self):
        if self.size != 1:
            raise TypeError("only arrays of one element can be converted to Python scalars")
        return self.get().reshape(()).item()

    __float__ = lambda self: float(self._scalar())  # noqa: E731
    __int__ = lambda self: int(self._scalar())  # noqa: E731
    __bool__ = lambda self: bool(self._scalar())  # noqa: E731

    # -- views (no kernel: the same bytes) ----------------------------------------------------
    def reshape(self, *shape) -> "OffloadArray":
        shape = shape[0] if len(shape) == 1 and not isinstance(shape[0], numbers.Integral) else shape
        shape = [int(s) for s in shape]
        if shape.count(-1) == 1:
            known = math.prod(s for s in shape if s != -1)
            shape[shape.index(-1)] = self.size // known if known else 0
        if math.prod(shape) != self.size:
            raise ValueError(f"cannot reshape array of size {self.size} into shape {tuple(shape)}")
        return OffloadArray(self.device, self.buffer, shape, self.dtype, self.offset)

    def ravel(self) -> "OffloadArray":
        return self.reshape(-1)

    def __getitem__(self, key):
        from . import ops

        if isinstance(key, (numbers.Integral, slice)) and self.ndim >= 1:
            n, row = self.shape[0], math.prod(self.shape[1:]) * self.itemsize
            if isinstance(key, slice):
                start, stop, step = key.indices(n)
                if step != 1:
                    raise TypeError("dnn.arrays: slices with a step are not C-contiguous: no card view")
                count = max(0, stop - start)
                return OffloadArray(self.device, self.buffer, (count,) + self.shape[1:], self.dtype,
                                    self.offset + start * row)
            i = int(key) + n if key < 0 else int(key)
            if not 0 <= i < n:
                raise IndexError(f"index {int(key)} is out of bounds for axis 0 with size {n}")
            return OffloadArray(self.device, self.buffer, self.shape[1:], self.dtype, self.offset + i * row)
        return ops.pick(self, key)

    def __setitem__(self, key, value) -> None:
        from . import ops

        ops.place(self, key, value)

    # -- operations (ops.py) ------------------------------------------------------------------
    def astype(self, dtype, copy=True) -> "OffloadArray":
        from . import ops

        return self if (np.dtype(dtype) == self.dtype and not copy) else ops.cast(self, dtype)

    def copy(self) -> "OffloadArray":
        return self.astype(self.dtype)

    def sum(self, axis=None, keepdims=False, out=None):
        from . import ops

        return ops.reduce("sum", self, axis, keepdims, out)

    def mean(self, axis=None, keepdims=False, out=None):
        from . import ops

        return ops.reduce("mean", self, axis, keepdims, out)

    def max(self, axis=None, keepdims=False, out=None):
        from . import ops

        return ops.reduce("max", self, axis, keepdims, out)

    def argmax(self, axis=None, keepdims=False, out=None):
        from . import ops

        return ops.reduce("argmax", self, axis, keepdims, out)

    def dot(self, other):
        return self @ other

    @property
    def T(self):  # noqa: N802 - NumPy's name
        from . import ops

        return ops.transpose(self)

    def transpose(self):
        return self.T

    # NumPy's protocols and the operators that go through them
    from .protocol import __array_function__, __array_ufunc__  # noqa: E402,F401

    def _ufunc(name):  # noqa: N805 - builds methods
        def forward(self, other):
            return getattr(np, name)(self, other)

        def backward(self, other):
            return getattr(np, name)(other, self)

        def inplace(self, other):
            return getattr(np, name)(self, other, out=(self,))

        return forward, backward, inplace

    __add__, __radd__, __iadd__ = _ufunc("add")
    __sub__, __rsub__, __isub__ = _ufunc("subtract")
    __mul__, __rmul__, __imul__ = _ufunc("multiply")
    __truediv__, __rtruediv__, __itruediv__ = _ufunc("true_divide")
    __matmul__, __rmatmul__, _ = _ufunc("matmul")
    __eq__, _, _ = _ufunc("equal")
    __ne__, _, _ = _ufunc("not_equal")
    __gt__, __lt__, _ = _ufunc("greater")
    del _ufunc, _
    __hash__ = None

    def __or__(self, other):
        if self.dtype != np.bool_:
            raise TypeError("dnn.arrays: `|` of non-bool arrays is bitwise_or, which has no card kernel")
        return np.logical_or(self, other)

    __ror__ = __or__

    def __neg__(self):
        return np.negative(self)

    def __abs__(self):
        return np.absolute(self)
