"""The network as Python sees it: an architecture, and the five blocks plus the `dnn_net`
structure that the C trainer works on.

Where the memory comes from is the caller's choice (`alloc`): host memory for host and explicit
modes, the card's shared arena for implicit mode. The layout itself (offsets of every tensor)
is decided by C (`dnn_plan`), so Python and the card can never disagree about it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import DnnValueError
from .offload import ffi, lib

ACTIVATIONS = {"sigmoid": lib.DNN_SIGMOID, "relu": lib.DNN_RELU, "tanh": lib.DNN_TANH}
INITS = {"uniform": lib.DNN_INIT_UNIFORM, "xavier": lib.DNN_INIT_XAVIER, "he": lib.DNN_INIT_HE}
BLOCKS = ("params", "grads", "moment", "acts", "errs")


@dataclass(frozen=True)
class Arch:
    """Layer sizes (inputs first, classes last) and the hidden activation."""

    sizes: tuple[int, ...]
    activation: str = "relu"

    @classmethod
    def parse(cls, text: str, activation: str = "relu") -> "Arch":
        """'784-800-800-10' -> Arch((784, 800, 800, 10))."""
        try:
            sizes = tuple(int(s) for s in text.replace("x", "-").split("-"))
        except ValueError:
            raise DnnValueError(f"bad --arch '{text}': write layer sizes joined by '-', e.g. 784-800-800-10") from None
        if len(sizes) < 2:
            raise DnnValueError(f"bad --arch '{text}': give at least inputs and classes, e.g. 784-10")
        if any(s <= 0 for s in sizes):
            raise DnnValueError(f"bad --arch '{text}': every layer size must be positive")
        if len(sizes) - 1 > lib.DNN_MAX_LAYERS:
            raise DnnValueError(f"bad --arch '{text}': at most {lib.DNN_MAX_LAYERS} weight layers")
        if activation not in ACTIVATIONS:
            raise DnnValueError(f"unknown activation '{activation}': use one of {', '.join(ACTIVATIONS)}")
        return cls(sizes, activation)

    @property
    def nlayers(self) -> int:
        return len(self.sizes) - 1

    def __str__(self) -> str:
        return "-".join(map(str, self.sizes))

    def flops_per_image(self) -> int:
        """Multiply-adds x 2 of the three GEMMs per layer in one training step, per image."""
        fwd = sum(a * b for a, b in zip(self.sizes[:-1], self.sizes[1:]))
        first = self.sizes[0] * self.sizes[1]  # no error is propagated into the inputs
        return 2 * (3 * fwd - first)


def _block_floats(layout) -> dict:
    """Floats in each of the five blocks (gradients and momentum share the parameters' layout)."""
    p = int(layout.params)
    return {"params": p, "grads": p, "moment": p, "acts": int(layout.acts), "errs": int(layout.errs)}


def _ptr(a: np.ndarray, ctype: str = "float *"):
    return ffi.cast(ctype, a.ctypes.data)


class Network:
    """Parameters, gradients, momentum, activations and errors, each one contiguous block, and
    the dnn_net structure of per-layer pointers into them."""

    @staticmethod
    def plan(arch: Arch, bunch: int):
        """The layout C decides for this network (no memory is allocated): (spec, layout)."""
        spec = ffi.new("dnn_spec *")
        spec.nlayers = arch.nlayers
        for i, s in enumerate(arch.sizes):
            spec.sizes[i] = s
        spec.activation = ACTIVATIONS[arch.activation]
        spec.bunch = int(bunch)
        layout = ffi.new("dnn_layout *")
        why = ffi.new("char[]", lib.DNN_WHY_LEN)
        if lib.dnn_plan(spec, layout, why, len(why)) != 0:
            raise DnnValueError(ffi.string(why).decode())
        return spec, layout

    @classmethod
    def block_bytes(cls, arch: Arch, bunch: int) -> dict:
        """Bytes of each block and of the structure, without allocating them."""
        _, layout = cls.plan(arch, bunch)
        return {k: 4 * n for k, n in _block_floats(layout).items()} | {"struct": ffi.sizeof("dnn_net")}

    def __init__(self, arch: Arch, bunch: int, alloc=None):
        self.arch, self.bunch = arch, int(bunch)
        alloc = alloc or (lambda shape, dtype: np.zeros(shape, dtype))
        spec, layout = self.plan(arch, bunch)
        self.layout = layout
        self.blocks = {name: alloc(n, np.float32) for name, n in _block_floats(layout).items()}
        # The structure itself: bytes in the same memory as the blocks.
        self.struct = alloc(ffi.sizeof("dnn_net"), np.uint8)
        self.net = ffi.cast("dnn_net *", self.struct.ctypes.data)
        b = self.blocks
        lib.dnn_net_init(self.net, spec, layout, _ptr(b["params"]), _ptr(b["grads"]), _ptr(b["moment"]),
                         _ptr(b["acts"]), _ptr(b["errs"]))

    # -- set-up -----------------------------------------------------------------------------
    def initialize(self, scheme: str, seed: int) -> None:
        if scheme not in INITS:
            raise DnnValueError(f"unknown init '{scheme}': use one of {', '.join(INITS)}")
        lib.dnn_init_params(self.net, INITS[scheme], seed & (2**64 - 1))

    def set_hyper(self, lr: float, momentum: float, weight_decay: float) -> None:
        self.net.hyper.lr, self.net.hyper.momentum, self.net.hyper.weight_decay = lr, momentum, weight_decay

    # -- views ------------------------------------------------------------------------------
    def weight(self, l: int, block: str = "params") -> np.ndarray:
        """W[l] as an (out, in) view into a block (params, grads or moment)."""
        out, inp = self.arch.sizes[l + 1], self.arch.sizes[l]
        off = int(self.layout.w_off[l])
        return self.blocks[block][off:off + out * inp].reshape(out, inp)

    def bias(self, l: int, block: str = "params") -> np.ndarray:
        out = self.arch.sizes[l + 1]
        off = int(self.layout.b_off[l])
        return self.blocks[block][off:off + out]

    def layers(self, block: str = "params"):
        """[(W0, B0), (W1, B1), ...] views."""
        return [(self.weight(l, block), self.bias(l, block)) for l in range(self.arch.nlayers)]

    def nbytes(self) -> dict:
        return {name: a.nbytes for name, a in self.blocks.items()} | {"struct": self.struct.nbytes}

    def __repr__(self) -> str:
        mb = sum(self.nbytes().values()) / 2**20
        return f"Network({self.arch}, {self.arch.activation}, bunch={self.bunch}, {mb:.1f} MiB)"
