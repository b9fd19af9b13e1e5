"""A NumPy reference of the trainer: the same network, loss and SGD, written plainly.

Used only by tests (the C trainer must match it) and benchmarks (the "framework on NumPy"
baseline). Training itself never runs here.
"""

from __future__ import annotations

import numpy as np


def activate(z: np.ndarray, activation: str) -> np.ndarray:
    if activation == "relu":
        return np.maximum(z, 0)
    if activation == "sigmoid":
        return 1 / (1 + np.exp(-z))
    if activation == "tanh":
        return np.tanh(z)
    raise ValueError(activation)


def activate_grad(y: np.ndarray, activation: str) -> np.ndarray:
    """Derivative in terms of the activation's output y."""
    if activation == "relu":
        return (y > 0).astype(y.dtype)
    if activation == "sigmoid":
        return y * (1 - y)
    return 1 - y * y


def forward(layers, x: np.ndarray, activation: str) -> list[np.ndarray]:
    """Activations [x, h1, ..., logits]; layers is [(W (out, in), B (out)), ...]."""
    ys = [x]
    for i, (w, b) in enumerate(layers):
        z = ys[-1] @ w.T + b
        ys.append(z if i == len(layers) - 1 else activate(z, activation))
    return ys


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def loss_and_grads(layers, x, y, activation: str):
    """Mean softmax cross-entropy over the bunch and its gradients [(dW, dB), ...]."""
    ys = forward(layers, x, activation)
    logits = ys[-1]
    z = logits - logits.max(axis=1, keepdims=True)
    logsum = np.log(np.exp(z).sum(axis=1))
    n = x.shape[0]
    loss = float(np.mean(logsum - z[np.arange(n), y]))
    e = softmax(logits)
    e[np.arange(n), y] -= 1
    e /= n
    grads = []
    for i in range(len(layers) - 1, -1, -1):
        w, _ = layers[i]
        grads.append((e.T @ ys[i], e.sum(axis=0)))
        if i > 0:
            e = (e @ w) * activate_grad(ys[i], activation)
    return loss, grads[::-1]


def sgd_step(layers, velocity, grads, lr: float, momentum: float, weight_decay: float) -> None:
    """In place: v = mu v + (g + wd W) (no decay on biases); W -= lr v."""
    for (w, b), (vw, vb), (gw, gb) in zip(layers, velocity, grads):
        vw *= momentum
        vw += gw + weight_decay * w
        w -= lr * vw
        vb *= momentum
        vb += gb
        b -= lr * vb


def train(layers, x, y, activation: str, bunch: int, lr: float, momentum: float = 0.0,
          weight_decay: float = 0.0, velocity=None):
    """Train over x in bunches, in order; returns the mean loss of each bunch."""
    velocity = velocity or [(np.zeros_like(w), np.zeros_like(b)) for w, b in layers]
    losses = []
    for r in range(0, x.shape[0], bunch):
        loss, grads = loss_and_grads(layers, x[r:r + bunch], y[r:r + bunch], activation)
        sgd_step(layers, velocity, grads, lr, momentum, weight_decay)
        losses.append(loss)
    return losses
