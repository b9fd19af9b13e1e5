"""Convolutional networks in the C trainer: gradients and training steps against the NumPy
reference of the same layers (dnn/reference_cnn.py, itself held to finite differences in
test_cnn_layers.py), with 28x28 images placed in a 29x29 input. Every mode and granularity
bit-identical to host mode: test_trainer.py's mode matrix runs a CNN too."""

import numpy as np
import pytest

from dnn import reference
from dnn import reference_cnn as ref
from dnn.executors import bunch_ops
from dnn.network import Arch
from dnn.offload import lib
from dnn.trainer import Config, Trainer

ACTS = ["relu", "sigmoid", "tanh", "stanh"]
# odd sizes, two convolutions, a pooling that leaves 2x2 maps, a full hidden layer; 28x28 placed in 29x29
PLACED = "29x29-c3k6-m4-c4k3-f7-5"
# 1x1 pooling, a kernel as large as its (7x7) input, a pooling straight after the input
SMALL = "9x9-m1-c2k3-m1-c3k7-4"


def images(rows, shape, classes, seed):
    rng = np.random.default_rng(seed)
    return (rng.random((rows, int(np.prod(shape))), dtype=np.float32),
            rng.integers(0, classes, rows).astype(np.int32))


def trainer(text, act, bunch, shape, threads=1, mode="host", **kw):
    arch = Arch.parse(text, act, data_shape=shape)
    cfg = Config(arch, mode=mode, bunch=bunch, chunk=64, threads=threads, **kw)
    return Trainer(cfg, arch.inputs, arch.sizes[-1])


def inputs_of(arch, x):
    """The rows as the network's input maps sees them (placed when the data's images are smaller)."""
    _, hh, ww = arch.cnn.layers[0].shape
    return ref.place(x, *arch.placed, hh, ww).reshape(len(x), -1) if arch.placed else x


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("text,shape", [(PLACED, (28, 28)), (SMALL, (9, 9))])
def test_gradients_match_the_reference(text, shape, act):
    """One bunch through the trainer's operations (fetch, forwards, loss, backwards): the loss and
    every gradient equal the reference's in float64."""
    x, y = images(6, shape, 5 if text == PLACED else 4, seed=len(act))
    with trainer(text, act, 6, shape, init="xavier", seed=3) as t:
        buf = t.buffers[0]
        buf.x[:6], buf.y[:6] = x, y
        buf.start(6)
        loss = 0.0
        for what, layer in bunch_ops(t.cfg.arch.nlayers):
            if what == lib.DNN_OP_UPDATE:
                break
            r = t.run_op(what, layer, buf, 0, 6)
            loss += r[lib.DNN_R_LOSS_SUM]
        grads = [(w.astype(np.float64), b.astype(np.float64)) for w, b in t.net.layers("grads")]
        params = [(w.astype(np.float64), b.astype(np.float64)) for w, b in t.net.layers()]
        arch = t.cfg.arch
    ref_loss, ref_grads = ref.loss_and_grads(arch.cnn, params, inputs_of(arch, x).astype(np.float64), y, act)
    assert loss / 6 == pytest.approx(ref_loss, rel=1e-5)
    for (gw, gb), (rw, rb) in zip(grads, ref_grads):
        np.testing.assert_allclose(gw, rw, rtol=2e-4, atol=1e-6)
        np.testing.assert_allclose(gb, rb, rtol=2e-4, atol=1e-6)


@pytest.mark.parametrize("act", ["relu", "stanh"])
def test_training_steps_match_the_reference(act):
    x, y = images(40, (28, 28), 5, seed=9)
    with trainer(PLACED, act, 16, (28, 28), lr=0.1, momentum=0.9, weight_decay=1e-3, seed=5) as t:
        params = [(w.astype(np.float64), b.astype(np.float64)) for w, b in t.net.layers()]
        buf = t.buffers[0]
        buf.x[:40], buf.y[:40] = x, y
        total = t.train_chunk(buf, 40)  # bunches of 16, 16 and 8
        got = t.net.layers()
        arch = t.cfg.arch
    xin, losses = inputs_of(arch, x).astype(np.float64), []
    velocity = [(np.zeros_like(w), np.zeros_like(b)) for w, b in params]
    for r in range(0, 40, 16):
        loss, grads = ref.loss_and_grads(arch.cnn, params, xin[r:r + 16], y[r:r + 16], act)
        reference.sgd_step(params, velocity, grads, 0.1, 0.9, 1e-3)
        losses.append(loss * len(y[r:r + 16]))
    assert total[lib.DNN_R_LOSS_SUM] == pytest.approx(sum(losses), rel=1e-5)
    for (w, b), (rw, rb) in zip(got, params):
        np.testing.assert_allclose(w, rw, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(b, rb, rtol=1e-4, atol=1e-5)


def _steps_with_threads(mode, bunch, threads, x, y, text=PLACED, lr=0.1):
    with trainer(text, "relu", bunch, (28, 28), threads=threads, mode=mode, lr=lr, momentum=0.9, seed=5) as t:
        params = [(w.astype(np.float64), b.astype(np.float64)) for w, b in t.net.layers()]
        buf = t.buffers[0]
        buf.x[:len(x)], buf.y[:len(x)] = x, y
        t.train_chunk(buf, len(x))
        return params, [(w.copy(), b.copy()) for w, b in t.net.layers()], t.cfg.arch


# One image's steps shared by the card's threads (team.c): every convolution's forward (patches,
# GEMM, activation), both poolings (the backward with the derivative below) and the full layers'
# updates are large enough to be shared; PLACED's are not.
TEAM = "29x29-c16k4-m1-c20k5-m2-f100-f90-5"


@pytest.mark.parametrize("bunch,text,lr", [(16, PLACED, 0.1), (1, PLACED, 0.1), (1, TEAM, 0.01)])
def test_two_threads_match_the_reference_and_every_mode(bunch, text, lr):
    """Two card threads: a bunch shared by the threads (each its own images and kernel gradient)
    or one image's GEMMs and small steps split between them trains as the reference does, to float
    rounding (TEAM, larger, at a smaller learning rate: at 0.1 it diverges); and host and implicit
    mode, at the same thread count, end with the same bits."""
    x, y = images(24, (28, 28), 5, seed=11)
    params, got, arch = _steps_with_threads("host", bunch, 2, x, y, text, lr)
    xin = inputs_of(arch, x).astype(np.float64)
    velocity = [(np.zeros_like(w), np.zeros_like(b)) for w, b in params]
    for r in range(0, len(x), bunch):
        _, grads = ref.loss_and_grads(arch.cnn, params, xin[r:r + bunch], y[r:r + bunch], "relu")
        reference.sgd_step(params, velocity, grads, lr, 0.9, 0.0)
    for (w, b), (rw, rb) in zip(got, params):
        np.testing.assert_allclose(w, rw, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(b, rb, rtol=1e-4, atol=1e-5)
    for (w, b), (iw, ib) in zip(got, _steps_with_threads("implicit", bunch, 2, x, y, text, lr)[1]):
        np.testing.assert_array_equal(w, iw)
        np.testing.assert_array_equal(b, ib)


def test_data_that_does_not_fit_the_input_names_the_layer():
    with pytest.raises(ValueError, match=r"layer 0 \(input 29x29\) does not match the data's 32x32 images"):
        Arch.parse("chaos-small", "relu", data_shape=(32, 32))


def _train_cards(mode, cards):
    x, y = images(96, (28, 28), 5, seed=12)
    arch = Arch.parse(PLACED, "tanh", data_shape=(28, 28))
    cfg = Config(arch, mode=mode, granularity="bunch", bunch=32, chunk=96, threads=1, cards=cards, lr=0.1, seed=5)
    with Trainer(cfg, arch.inputs, arch.sizes[-1]) as t:
        buf = t.buffers[0]
        buf.x[:96], buf.y[:96] = x, y
        t.train_chunk(buf, 96)
        t.sync_weights()
        return t.net.blocks["params"].copy()


def test_two_cards_train_the_weights_of_one():
    """Data parallelism over cards splits each bunch's rows (and their placed images) and sums the
    gradients of convolutions and poolings as of any layer: one card's weights to float rounding."""
    one, two = _train_cards("host", 1), _train_cards("implicit", 2)
    assert np.abs(two - one).max() <= 1e-5 * np.abs(one).max()
    assert not np.array_equal(two, one)  # the rows really were split


def test_timing_hook_times_every_operation_and_changes_no_bits():
    """With the trainer's timing on, the fetch, the loss, every layer's forward and backward and
    the updates of the layers with weights have taken time; off (the default) nothing is counted;
    and the weights trained either way are the same bits."""
    x, y = images(40, (28, 28), 5, seed=4)
    runs = []
    for timed in (False, True):
        with trainer(PLACED, "relu", 16, (28, 28), lr=0.1, momentum=0.9, seed=5) as t:
            buf = t.buffers[0]
            buf.x[:40], buf.y[:40] = x, y
            if timed:
                t.net.time_operations(True)
            t.train_chunk(buf, 40)
            t.net.time_operations(False)
            runs.append(([w.copy() for w, _ in t.net.layers()], t.net.operation_seconds(), t.net.weighted()))
    (w_off, off, _), (w_on, on, weighted) = runs
    for a, b in zip(w_off, w_on):
        np.testing.assert_array_equal(a, b)
    assert not any(off["forward"] + off["backward"] + off["update"] + [off["fetch"], off["loss"]])
    assert all(s > 0 for s in on["forward"] + on["backward"] + [on["fetch"], on["loss"]])
    assert all(on["update"][l] > 0 for l in weighted)
