"""A NumPy reference of the convolutional layers (native/dnn/conv.cilk), written plainly, in the
trainer's layouts: maps NHWC (n, H, W, C), kernels (k, k, C, M), full weights (out, in) reading
the (H, W, C) image of the layer below as a flat row.

Used by tests (the C layers must match it, and it must match finite differences) and benchmarks.
Training itself never runs here.
"""

from __future__ import annotations

import numpy as np

from . import reference

STANH_A, STANH_S = 1.7159, 2.0 / 3.0


def activate(z: np.ndarray, activation: str) -> np.ndarray:
    if activation == "stanh":
        return STANH_A * np.tanh(STANH_S * z)
    return reference.activate(z, activation)


def activate_grad(y: np.ndarray, activation: str) -> np.ndarray:
    """Derivative in terms of the activation's output y."""
    if activation == "stanh":
        return STANH_S * (STANH_A - y * y / STANH_A)
    return reference.activate_grad(y, activation)


def conv_forward(x: np.ndarray, k: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pre-activation z (n, OH, OW, M) of a valid, stride-1 convolution of x (n, H, W, C)."""
    kk, _, _, m = k.shape
    n, h, w, _ = x.shape
    oh, ow = h - kk + 1, w - kk + 1
    z = np.zeros((n, oh, ow, m), np.result_type(x, k))
    for dy in range(kk):
        for dx in range(kk):
            z += x[:, dy:dy + oh, dx:dx + ow, :] @ k[dy, dx]
    return z + b


def conv_backward(dz: np.ndarray, x: np.ndarray, k: np.ndarray):
    """(dx, dK, dB) from dz = d(loss)/d(pre-activation)."""
    kk = k.shape[0]
    _, oh, ow, _ = dz.shape
    dx = np.zeros_like(x, dtype=np.result_type(x, dz))
    dk = np.zeros_like(k, dtype=np.result_type(k, dz))
    for dy in range(kk):
        for dxx in range(kk):
            patch = x[:, dy:dy + oh, dxx:dxx + ow, :]
            dk[dy, dxx] = np.einsum("nhwc,nhwm->cm", patch, dz)
            dx[:, dy:dy + oh, dxx:dxx + ow, :] += dz @ k[dy, dxx].T
    return dx, dk, dz.sum(axis=(0, 1, 2))


def pool_forward(x: np.ndarray, p: int):
    """Window maxima (n, H/p, W/p, C) and, per output, the flat index in its image of the first
    maximum (as the C layer keeps it)."""
    n, h, w, c = x.shape
    oh, ow = h // p, w // p
    win = x.reshape(n, oh, p, ow, p, c).transpose(0, 1, 3, 5, 2, 4).reshape(n, oh, ow, c, p * p)
    first = win.argmax(axis=-1)  # argmax takes the first of equal maxima
    dy, dx = first // p, first % p
    rows = np.arange(oh)[None, :, None, None] * p + dy
    cols = np.arange(ow)[None, None, :, None] * p + dx
    arg = (rows * w + cols) * c + np.arange(c)
    return np.take_along_axis(win, first[..., None], -1)[..., 0], arg.astype(np.int32)


def pool_backward(dy: np.ndarray, arg: np.ndarray, in_shape) -> np.ndarray:
    n = dy.shape[0]
    dx = np.zeros((n, int(np.prod(in_shape[1:]))), dy.dtype)
    np.put_along_axis(dx, arg.reshape(n, -1), dy.reshape(n, -1), axis=1)
    return dx.reshape(in_shape)


def place(x: np.ndarray, h: int, w: int, H: int, W: int) -> np.ndarray:
    """Rows of h*w pixels into (n, H, W) at the top left, zeros below and to the right."""
    out = np.zeros((x.shape[0], H, W), x.dtype)
    out[:, :h, :w] = x.reshape(-1, h, w)
    return out


def shift(images: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """images (n, H, W) moved dx right and dy down, zeros where nothing lands (--shift)."""
    out = np.zeros_like(images)
    H, W = images.shape[1:]
    out[:, max(dy, 0):H + min(dy, 0), max(dx, 0):W + min(dx, 0)] = \
        images[:, max(-dy, 0):H - max(dy, 0), max(-dx, 0):W - max(dx, 0)]
    return out


def forward(spec, params, x: np.ndarray, activation: str):
    """Outputs of every layer of spec (dnn.cnn_spec.Spec) for x (n, H*W) and the pooling arg-maxes;
    params is [(K or W, B), ...] for the layers with weights, in order."""
    c, h, w = spec.layers[0].shape
    ys, args, weights = [x.reshape(-1, h, w, c)], {}, iter(params)
    for i, layer in enumerate(spec.layers[1:], 1):
        below = ys[-1]
        if layer.kind == "conv":
            k, b = next(weights)
            ys.append(activate(conv_forward(below, k, b), activation))
        elif layer.kind == "pool":
            y, args[i] = pool_forward(below, layer.size)
            ys.append(y)
        else:
            wt, b = next(weights)
            z = below.reshape(below.shape[0], -1) @ wt.T + b
            ys.append(z if layer.kind == "output" else activate(z, activation))
    return ys, args


def loss_and_grads(spec, params, x, labels, activation: str):
    """Mean softmax cross-entropy over the bunch and the gradients [(dK or dW, dB), ...]."""
    ys, args = forward(spec, params, x, activation)
    logits = ys[-1]
    n = logits.shape[0]
    z = logits - logits.max(axis=1, keepdims=True)
    loss = float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(n), labels]))
    e = reference.softmax(logits)
    e[np.arange(n), labels] -= 1
    e /= n
    grads, weights = [], list(params)
    for i in range(len(spec.layers) - 1, 0, -1):
        layer, below = spec.layers[i], ys[i - 1]
        if layer.kind == "pool":
            e = pool_backward(e.reshape(ys[i].shape), args[i], below.shape)
        else:
            wt, _ = weights.pop()
            if layer.kind == "conv":
                dx, dk, db = conv_backward(e.reshape(ys[i].shape), below, wt)
                grads.append((dk, db))
                e = dx
            else:
                flat = below.reshape(n, -1)
                grads.append((e.T @ flat, e.sum(axis=0)))
                e = (e @ wt).reshape(below.shape)
        if i > 1 and spec.layers[i - 1].kind in ("conv", "full"):
            e = e * activate_grad(below, activation)
    return loss, grads[::-1]
