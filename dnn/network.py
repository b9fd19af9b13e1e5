"""The network as Python sees it: an architecture (fully connected, or convolutional as
dnn.cnn_spec writes it), and the five blocks plus the `dnn_net` structure that the C trainer
works on.

Where the memory comes from is the caller's choice (`alloc`): host memory for host and explicit
modes, the card's shared arena for implicit mode. The layout itself (offsets of every tensor)
is decided by C (`dnn_plan`), so Python and the card can never disagree about it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from . import cnn_spec
from .errors import DnnValueError
from .offload import ffi, lib

# stanh: the scaled tanh 1.7159 tanh(2x/3) of LeCun's and Cireşan's networks
ACTIVATIONS = {"sigmoid": lib.DNN_SIGMOID, "relu": lib.DNN_RELU, "tanh": lib.DNN_TANH, "stanh": lib.DNN_STANH}
KINDS = {"conv": lib.DNN_CONV, "pool": lib.DNN_POOL, "full": lib.DNN_FULL, "output": lib.DNN_FULL}
INITS = {"uniform": lib.DNN_INIT_UNIFORM, "xavier": lib.DNN_INIT_XAVIER, "he": lib.DNN_INIT_HE}
BLOCKS = ("params", "grads", "moment", "acts", "errs")
# The rows of dnn_timing.seconds: the operations of a bunch from DNN_OP_FETCH on.
TIMED_OPS = ("fetch", "forward", "loss", "backward", "update")


@dataclass(frozen=True)
class Arch:
    """Floats per image of each layer's output (inputs first, classes last) and the hidden
    activation; a convolutional network also has its spec (dnn.cnn_spec) and, when the data's
    images are smaller than its input, their (h, w) placed into it."""

    sizes: tuple[int, ...]
    activation: str = "relu"
    cnn: cnn_spec.Spec | None = None
    placed: tuple[int, int] | None = None

    @classmethod
    def parse(cls, text: str, activation: str = "relu", data_shape=None) -> "Arch":
        """'784-800-800-10' -> Arch((784, 800, 800, 10)); a CNN by name or written form (see
        dnn.cnn_spec), fitted to images of data_shape when given."""
        if activation not in ACTIVATIONS:
            raise DnnValueError(f"unknown activation '{activation}': use one of {', '.join(ACTIVATIONS)}")
        if cnn_spec.is_cnn_spec(text):
            spec = cnn_spec.parse(text)
            if len(spec.layers) - 1 > lib.DNN_MAX_LAYERS:
                raise DnnValueError(f"bad --arch '{text}': at most {lib.DNN_MAX_LAYERS} layers after the input")
            arch = cls(tuple(c * h * w for c, h, w in (l.shape for l in spec.layers)), activation, spec)
            return arch if data_shape is None else arch.for_data(data_shape)
        try:
            sizes = tuple(int(s) for s in text.replace("x", "-").split("-"))
        except ValueError:
            raise DnnValueError(f"bad --arch '{text}': write layer sizes joined by '-', e.g. 784-800-800-10, "
                                f"or a convolutional network: {cnn_spec.FORM_HELP}") from None
        if len(sizes) < 2:
            raise DnnValueError(f"bad --arch '{text}': give at least inputs and classes, e.g. 784-10")
        if any(s <= 0 for s in sizes):
            raise DnnValueError(f"bad --arch '{text}': every layer size must be positive")
        if len(sizes) - 1 > lib.DNN_MAX_LAYERS:
            raise DnnValueError(f"bad --arch '{text}': at most {lib.DNN_MAX_LAYERS} weight layers")
        return cls(sizes, activation)

    def for_data(self, data_shape) -> "Arch":
        """This network on data whose images have data_shape ((h, w), or (inputs,)): a CNN places
        28x28 images into a 29x29 input (cnn_spec.PLACED), and names its input layer when they do
        not fit; an MLP is unchanged."""
        return replace(self, placed=self.cnn.placement(data_shape)) if self.cnn else self

    @property
    def inputs(self) -> int:
        """Floats per data row: the placed images', or the first layer's."""
        return self.placed[0] * self.placed[1] if self.placed else self.sizes[0]

    def describe(self) -> list[str]:
        """Each layer with its output shape and weight count (a CNN), for the trainer to print."""
        if not self.cnn:
            return [f"{self} ({self.activation})"]
        lines = [f"{self.cnn.name} ({self.activation} hidden layers):"] + self.cnn.describe()
        if self.placed:
            h, w = self.placed
            hh, ww = self.cnn.input_shape
            lines.insert(1, f"    the data's {h}x{w} images go in at the top left of {hh}x{ww}: "
                            f"{hh - h} zero row(s) below, {ww - w} zero column(s) to the right")
        return lines

    @property
    def nlayers(self) -> int:
        return len(self.sizes) - 1

    def __str__(self) -> str:
        return self.cnn.text if self.cnn else "-".join(map(str, self.sizes))

    def flops_per_image(self) -> int:
        """Multiply-adds x 2 of the three GEMMs per layer in one training step, per image."""
        if self.cnn:
            return self.cnn.flops_per_image()
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
    def plan(arch: Arch, bunch: int, threads: int = 1):
        """The layout C decides for this network (no memory is allocated): (spec, layout). threads:
        the card threads its convolutions share a bunch among (each has scratch of its own)."""
        spec = ffi.new("dnn_spec *")
        spec.nlayers = arch.nlayers
        for i, s in enumerate(arch.sizes):
            spec.sizes[i] = s
        spec.activation = ACTIVATIONS[arch.activation]
        spec.bunch = int(bunch)
        spec.threads = int(threads)
        if arch.cnn:
            for l, layer in enumerate(arch.cnn.layers[1:]):
                spec.kind[l] = KINDS[layer.kind]
                spec.window[l] = layer.kernel if layer.kind == "conv" else layer.size if layer.kind == "pool" else 0
            spec.input.C, spec.input.H, spec.input.W = arch.cnn.layers[0].shape
            if arch.placed:
                spec.placed.C, (spec.placed.H, spec.placed.W) = 1, arch.placed
        layout = ffi.new("dnn_layout *")
        why = ffi.new("char[]", lib.DNN_WHY_LEN)
        if lib.dnn_plan(spec, layout, why, len(why)) != 0:
            raise DnnValueError(ffi.string(why).decode())
        return spec, layout

    @classmethod
    def block_bytes(cls, arch: Arch, bunch: int, threads: int = 1) -> dict:
        """Bytes of each block and of the structure, without allocating them."""
        _, layout = cls.plan(arch, bunch, threads)
        return {k: 4 * n for k, n in _block_floats(layout).items()} | {"struct": ffi.sizeof("dnn_net")}

    def __init__(self, arch: Arch, bunch: int, alloc=None, threads: int = 1):
        self.arch, self.bunch = arch, int(bunch)
        alloc = alloc or (lambda shape, dtype: np.zeros(shape, dtype))
        spec, layout = self.plan(arch, bunch, threads)
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

    def set_shift(self, most: int, seed: int, epoch: int) -> None:
        """Images the next calls fetch move by up to `most` pixels in x and y (0: not at all), the
        offsets drawn in C from (seed, epoch, the image's index in the dataset)."""
        s = self.net.hyper.shift
        s.most, s.seed, s.epoch = int(most), int(seed) & (2**64 - 1), int(epoch)

    def rows_from(self, first: int) -> None:
        """Row 0 of the chunk the next call sees is dataset image `first` (the shift's counter)."""
        self.net.hyper.shift.first = int(first)

    # -- views ------------------------------------------------------------------------------
    def weight(self, l: int, block: str = "params") -> np.ndarray:
        """W[l] as a view into a block (params, grads or moment): (out, in) for a full layer,
        (k, k, C, M) for a convolution (its bias follows it: the (k*k*C + 1, M) GEMM matrix)."""
        off, n = int(self.layout.w_off[l]), int(self.layout.w_len[l])
        if self.layout.w_len[l] and self.net.spec.kind[l] == lib.DNN_CONV:
            c = self.layout.conv[l]
            shape = (c.k, c.k, getattr(c, "in").C, c.out.C)  # `in`: a C field, a Python keyword
        else:
            shape = (self.arch.sizes[l + 1], self.arch.sizes[l]) if n else (0,)
        return self.blocks[block][off:off + n].reshape(shape)

    def bias(self, l: int, block: str = "params") -> np.ndarray:
        off = int(self.layout.b_off[l])
        return self.blocks[block][off:off + int(self.layout.b_len[l])]

    def weighted(self) -> list[int]:
        """The layers that have weights (all but poolings)."""
        return [l for l in range(self.arch.nlayers) if self.layout.w_len[l]]

    def layers(self, block: str = "params"):
        """[(W, B), ...] views of the layers that have weights, in order."""
        return [(self.weight(l, block), self.bias(l, block)) for l in self.weighted()]

    # -- the C trainer's timing hook (dnn_timing) ------------------------------------------
    def time_operations(self, on: bool = True) -> None:
        """Start (the sums zeroed) or stop the C trainer's timing of each operation of the bunches
        it trains. Read back in host and implicit mode, and in explicit mode when it copies the
        structure out (--explicit-weights copy)."""
        if on:
            ffi.buffer(ffi.addressof(self.net, "timing"))[:] = bytes(ffi.sizeof("dnn_timing"))
        self.net.timing.on = int(on)

    def operation_seconds(self) -> dict:
        """Seconds summed since time_operations(): {"fetch": s, "loss": s, "forward": [s per layer],
        "backward": [...], "update": [...]}."""
        L, rows = self.arch.nlayers, self.net.timing.seconds
        per_layer = {name: [float(rows[i][l]) for l in range(L)] for i, name in enumerate(TIMED_OPS)}
        return per_layer | {"fetch": per_layer["fetch"][0], "loss": per_layer["loss"][0]}

    def update_lines(self) -> list[tuple[int, int]]:
        """Per layer, since time_operations(): the 64-byte lines of its weights and biases its updates
        went over, and those they stored (a line whose bits the step would not change is left alone,
        native/dnn/train.cilk)."""
        t = self.net.timing
        return [(int(t.lines[l]), int(t.stored[l])) for l in range(self.arch.nlayers)]

    def nbytes(self) -> dict:
        return {name: a.nbytes for name, a in self.blocks.items()} | {"struct": self.struct.nbytes}

    def __repr__(self) -> str:
        mb = sum(self.nbytes().values()) / 2**20
        return f"Network({self.arch}, {self.arch.activation}, bunch={self.bunch}, {mb:.1f} MiB)"
