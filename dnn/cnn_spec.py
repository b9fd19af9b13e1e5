"""Convolutional network specs: the three networks of CHAOS (Viebke & Pllana, Table I) by name,
and a written form for any stack of their layers.

Written form, layers joined by '-':

    29x29           input maps, H x W (one channel: the datasets are grey levels)
    c20k4           convolution: 20 maps, kernel 4x4, stride 1, no padding ("valid")
    m2              max pooling over non-overlapping 2x2 windows (m1 keeps the maps as they are)
    f150            fully connected hidden layer of 150 units
    10              the output layer: 10 classes, softmax (the last item, a bare number)

e.g. `29x29-c5k4-m2-c10k5-m3-f50-10` is chaos-small. Hidden layers (convolutions and full ones)
share one activation; pooling has none. Every map of a convolution sees every map of the layer
before and has one bias, so a convolution has M*(k*k*C + 1) weights.

Images of 28x28 (MNIST, Fashion-MNIST) go into a 29x29 input as the papers did: at the top left,
with one zero row below and one zero column to the right (`Spec.placement`).

Counted by that rule, every weight count of Table I holds but one: chaos-large's full layer. The
table gives it 135,150 weights (150 x (900 + 1), the 900 "neurons" of its last pooling row), but
the same row pools 6x6 maps in 3x3 windows, which leaves 2x2 maps: 400 inputs and 60,150
weights. The layers are kept as the table lists them (`m3`); `...-c100k6-m2-f150-10` would give
3x3 maps and the table's 135,150.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import DnnValueError


@dataclass(frozen=True)
class Layer:
    """One layer and the shape of its output, (maps, H, W); a full layer has (units, 1, 1)."""

    kind: str  # "input", "conv", "pool", "full", "output"
    size: int  # maps (input: channels, conv), window (pool), units (full, output)
    kernel: int  # conv only, else 0
    shape: tuple[int, int, int]
    weights: int
    text: str  # how the layer was written

    def describe(self) -> str:
        c, h, w = self.shape
        name = {"input": "input", "conv": f"conv {self.kernel}x{self.kernel}",
                "pool": f"max {self.size}x{self.size}", "full": "full", "output": "output (softmax)"}[self.kind]
        out = f"{c} x {h}x{w}" if self.kind in ("input", "conv", "pool") else f"{c}"
        return f"{name:<17} {out:>14} {self.weights:>10,} weights"


NAMED = {
    "chaos-small": "29x29-c5k4-m2-c10k5-m3-f50-10",
    "chaos-medium": "29x29-c20k4-m2-c40k5-m3-f150-10",
    "chaos-large": "29x29-c20k4-m1-c60k5-m2-c100k6-m3-f150-10",
}

# The papers' input is 29x29 and their data 28x28: these sizes are placed into it (see module doc).
PLACED = {(29, 29): (28, 28)}

_INPUT = re.compile(r"^(\d+)x(\d+)$")
_CONV = re.compile(r"^c(\d+)k(\d+)$")
_POOL = re.compile(r"^m(\d+)$")
_FULL = re.compile(r"^f(\d+)$")
_OUT = re.compile(r"^(\d+)$")

FORM_HELP = ("HxW-cMkK-mP-fN-CLASSES (input HxW; convolution of M maps, kernel KxK; max pooling PxP; "
             "full layer of N; output classes), e.g. 29x29-c5k4-m2-c10k5-m3-f50-10; or one of "
             + ", ".join(NAMED))

# Said plainly wherever the named networks are offered (dnn.train --help), since it contradicts Table I.
LARGE_FULL_NOTE = ("chaos-large's full layer has 60,150 weights, not Table I's 135,150: its 3x3 pooling of "
                   "6x6 maps leaves 100 maps of 2x2, 400 inputs, and 400 x 150 + 150 = 60,150")


def is_cnn_spec(text: str) -> bool:
    """True when text names a network of this module rather than an MLP's sizes (784-800-10)."""
    first = text.split("-", 1)[0]
    return text in NAMED or bool(_INPUT.match(first) and "-" in text)


@dataclass(frozen=True)
class Spec:
    text: str
    layers: tuple[Layer, ...]

    @property
    def name(self) -> str:
        return next((n for n, t in NAMED.items() if t == self.text), self.text)

    @property
    def input_shape(self) -> tuple[int, int]:
        return self.layers[0].shape[1:]

    @property
    def inputs(self) -> int:
        c, h, w = self.layers[0].shape
        return c * h * w

    @property
    def classes(self) -> int:
        return self.layers[-1].size

    def weights(self) -> list[int]:
        """Weights (with biases) of each layer that has any, in order."""
        return [l.weights for l in self.layers if l.weights]

    def placement(self, data_shape) -> tuple[int, int] | None:
        """The (h, w) of the data's images when they are placed into the input, None when they
        are the input's size; a one-line error naming the input layer otherwise."""
        data_shape = tuple(int(s) for s in data_shape)
        placed = PLACED.get(self.input_shape)
        if data_shape in (self.input_shape, (self.inputs,)):
            return None
        if placed and data_shape in (placed, (placed[0] * placed[1],)):
            return placed
        have = "x".join(map(str, data_shape))
        raise DnnValueError(f"network {self.name}: layer 0 (input {self.layers[0].text}) does not match the data's "
                            f"{have} images: write the input as {have} or prepare data of "
                            f"{'x'.join(map(str, self.input_shape))}")

    def describe(self) -> list[str]:
        lines = [f"{i:>2} {l.describe()}" for i, l in enumerate(self.layers)]
        return lines + [f"   total {sum(self.weights()):,} weights"]

    def _forward_macs(self) -> list[int]:
        """Multiply-adds of each layer's forward per image (a pooling's none), from the first layer on."""
        macs = []
        for i, l in enumerate(self.layers[1:], 1):
            c, h, w = self.layers[i - 1].shape
            if l.kind == "conv":
                macs.append(l.shape[0] * l.shape[1] * l.shape[2] * l.kernel * l.kernel * c)
            elif l.kind in ("full", "output"):
                macs.append(l.size * c * h * w)
            else:
                macs.append(0)
        return macs

    def flops_per_image(self) -> int:
        """Multiply-adds x 2 of one training step per image (forward, both gradients; none into the input)."""
        return sum(2 * fwd * (2 if i == 0 else 3) for i, fwd in enumerate(self._forward_macs()))

    def forward_flops_per_image(self) -> int:
        """Multiply-adds x 2 of one forward per image (evaluation)."""
        return 2 * sum(self._forward_macs())


def _fail(text, index, item, why):
    raise DnnValueError(f"bad network '{text}': layer {index} ({item}): {why}")


def parse(text: str) -> Spec:
    """A name (chaos-small, ...) or the written form; errors are one line naming the layer."""
    text = text.strip()
    form = NAMED.get(text, text)
    items = form.split("-")
    m = _INPUT.match(items[0])
    if not m:
        _fail(text, 0, items[0], "the first layer is the input, written HxW (e.g. 29x29)")
    h, w = int(m[1]), int(m[2])
    if h < 1 or w < 1:
        _fail(text, 0, items[0], "the input needs at least one pixel")
    if len(items) < 2:
        _fail(text, 0, items[0], "a network needs an output layer after its input, e.g. 29x29-10")
    layers = [Layer("input", 1, 0, (1, h, w), 0, items[0])]
    for i, item in enumerate(items[1:], 1):
        c, h, w = layers[-1].shape
        last = i == len(items) - 1
        if (m := _CONV.match(item)):
            maps, k = int(m[1]), int(m[2])
            if maps < 1 or k < 1:
                _fail(text, i, item, "maps and kernel must be positive")
            if layers[-1].kind in ("full",):
                _fail(text, i, item, "a convolution needs maps below it, not a full layer")
            if k > h or k > w:
                _fail(text, i, item, f"kernel {k}x{k} is larger than its {h}x{w} input")
            layers.append(Layer("conv", maps, k, (maps, h - k + 1, w - k + 1), maps * (k * k * c + 1), item))
        elif (m := _POOL.match(item)):
            p = int(m[1])
            if p < 1:
                _fail(text, i, item, "the pooling window must be positive")
            if layers[-1].kind == "full":
                _fail(text, i, item, "pooling needs maps below it, not a full layer")
            if h % p or w % p:
                _fail(text, i, item, f"pooling {p}x{p} does not divide its {h}x{w} maps")
            layers.append(Layer("pool", p, 0, (c, h // p, w // p), 0, item))
        elif (m := _FULL.match(item)) or (last and (m := _OUT.match(item))):
            units = int(m[1])
            kind = "output" if last else "full"
            if units < (2 if last else 1):
                _fail(text, i, item, "the output needs at least 2 classes" if last else "units must be positive")
            layers.append(Layer(kind, units, 0, (units, 1, 1), units * (c * h * w + 1), item))
        else:
            _fail(text, i, item, "write cMkK (convolution), mP (max pooling), fN (full) or, last, the classes")
        if last and layers[-1].kind != "output":
            _fail(text, i, item, "the last layer is the output: a bare number of classes, e.g. 10")
    return Spec(form, tuple(layers))
