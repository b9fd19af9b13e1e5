"""Plain SGD stores only the 64-byte lines of the weights whose bits change (native/dnn/train.cilk,
sgd_lines.c): one image's step, taken operation by operation in host mode, against the dense step
W + (-lr G) computed in float32 by NumPy, bit for bit, with zeros of both signs, a NaN and gradients
too small to move their weight planted in it; and the lines counted as stored are exactly those
whose bits changed."""

import subprocess

import numpy as np
import pytest

from dnn.executors import bunch_ops
from dnn.network import Arch
from dnn.offload import lib
from dnn.trainer import Config, Trainer

LR = 0.01


def lines_changed(before: np.ndarray, after: np.ndarray) -> int:
    """The 64-byte lines (by address) of a tensor in which some float's bits differ."""
    changed = (before.view(np.uint32) != after.view(np.uint32)).ravel()
    line = (after.ctypes.data + 4 * np.arange(after.size)) // 64
    return len(np.unique(line[changed]))


def plant(w: np.ndarray, g: np.ndarray) -> None:
    """Values a dense step treats in its own way, in the first rows of a layer: a weight of -0 under a
    gradient of +0 (stays -0) and of -0 (becomes +0), a NaN under a zero gradient, and gradients
    far too small to move their weights."""
    w, g = w.reshape(-1), g.reshape(-1)
    w[0:3], g[0:3] = -0.0, [0.0, -0.0, 0.0]
    w[3], g[3] = np.nan, 0.0
    g[16:32] = np.float32(1e-30) * np.sign(w[16:32] + 1)


def one_step(text, act, shape, threads, planted):
    """Fetch, forward, loss and backward of one image; then the gradients and weights as they are,
    the update, and the weights after it with the line counts of the timing hook."""
    arch = Arch.parse(text, act, data_shape=shape)
    cfg = Config(arch, mode="host", granularity="op", bunch=1, chunk=8, threads=threads, lr=LR, momentum=0.0,
                 seed=4)
    rng = np.random.default_rng(1)
    with Trainer(cfg, arch.inputs, arch.sizes[-1]) as t:
        buf = t.buffers[0]
        buf.x[:1], buf.y[:1] = rng.random((1, arch.inputs), dtype=np.float32), 1
        buf.start(1)
        ops = bunch_ops(arch.nlayers)
        for what, layer in ops:
            if what == lib.DNN_OP_UPDATE:
                break
            t.run_op(what, layer, buf, 0, 1)
        layers, grads = t.net.layers(), t.net.layers("grads")
        if planted:
            plant(layers[-2][0], grads[-2][0])
        before = [(w.copy(), b.copy()) for w, b in layers]
        dense = [(w + np.float32(-LR) * gw, b + np.float32(-LR) * gb) for (w, b), (gw, gb) in zip(before, grads)]
        t.net.time_operations(True)
        for what, layer in ops:
            if what == lib.DNN_OP_UPDATE:
                t.run_op(what, layer, buf, 0, 1)
        counts = [t.net.update_lines()[l] for l in t.net.weighted()]
        after = [(w.copy(), b.copy()) for w, b in t.net.layers()]
        changed = [lines_changed(bw, aw) + lines_changed(bb, ab) for (bw, bb), (aw, ab) in
                   zip(before, t.net.layers())]
    return before, dense, after, counts, changed


@pytest.mark.parametrize("text,shape,act,threads", [
    ("chaos-small", (28, 28), "relu", 1),  # a convolution's bias shares the line its kernel ends in
    ("29x29-c3k6-m4-c4k3-f7-5", (28, 28), "relu", 1),
    ("784-100-10", None, "relu", 2),  # 78,400 weights: the step shared between two threads (sgd)
    ("784-100-10", None, "tanh", 1),
])
@pytest.mark.parametrize("planted", [False, True])
def test_sparse_step_is_the_dense_step_to_the_bit(text, shape, act, threads, planted):
    before, dense, after, counts, changed = one_step(text, act, shape, threads, planted)
    for (dw, db), (aw, ab) in zip(dense, after):
        assert np.array_equal(dw.view(np.uint32), aw.view(np.uint32))
        assert np.array_equal(db.view(np.uint32), ab.view(np.uint32))
    for (lines, stored), moved, (w, b) in zip(counts, changed, before):
        assert lines >= (w.nbytes + b.nbytes) // 64 and stored == moved


def test_a_relu_image_leaves_most_lines_of_a_full_layer_alone():
    """The point of it: a relu unit that did not fire has a zero gradient row, so those lines are not
    stored (the full layer after the convolutions of chaos-small: 30 % stored in the speed runs)."""
    _, _, _, counts, _ = one_step("chaos-small", "relu", (28, 28), 1, False)
    lines, stored = counts[-2]
    assert stored < 0.8 * lines, counts


@pytest.mark.parametrize("avx512", [True, False])
def test_every_alignment_and_length_against_the_dense_step(tmp_path, avx512):
    """sgd_lines.c alone, in both its builds (AVX-512's masked lanes and the plain C fallback)."""
    from dnn import buildconfig as cfg

    exe = tmp_path / "sgd_lines_check"
    flags = [f for f in cfg.CFLAGS if f != "-fopenmp"] + ([] if avx512 else ["-mno-avx512f"])
    subprocess.run(["gcc", *flags, f"-I{cfg.NATIVE / 'include'}", str(cfg.NATIVE / "tests" / "sgd_lines_check.c"),
                    str(cfg.NATIVE / "dnn" / "sgd_lines.c"), "-o", str(exe), "-lm"], check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stdout
