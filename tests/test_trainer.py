"""The C trainer: gradients, agreement with the NumPy reference, and bit-identical modes."""

import numpy as np
import pytest

import dnn
from dnn import reference
from dnn.network import Arch, Network
from dnn.offload import lib
from dnn.trainer import Config, Trainer


def random_data(rows, dim, classes, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((rows, dim), dtype=np.float32), rng.integers(0, classes, rows).astype(np.int32)


def host_trainer(arch, bunch, **kw):
    cfg = Config(Arch.parse(*arch) if isinstance(arch, tuple) else arch, mode="host", bunch=bunch,
                 chunk=max(bunch, 128), **kw)
    return Trainer(cfg, cfg.arch.sizes[0], cfg.arch.sizes[-1])


def c_gradients(t, x, y):
    """Run fetch, forward, loss and backward through the trainer's ops."""
    buf = t.buffers[0]
    buf.x[:len(x)], buf.y[:len(y)] = x, y
    buf.start(len(x))
    run = t.run_op
    run(lib.DNN_OP_FETCH, 0, buf, 0, len(x))
    for l in range(t.cfg.arch.nlayers):
        run(lib.DNN_OP_FORWARD, l, buf, 0, len(x))
    loss_sum = run(lib.DNN_OP_LOSS, 0, buf, 0, len(x))[0]
    for l in range(t.cfg.arch.nlayers - 1, -1, -1):
        run(lib.DNN_OP_BACKWARD, l, buf, 0, len(x))
    return loss_sum / len(x), t.net.layers("grads")


@pytest.mark.parametrize("activation", ["sigmoid", "relu", "tanh"])
def test_backward_matches_finite_differences(activation):
    x, y = random_data(6, 5, 3, seed=1)
    with host_trainer(("5-7-6-3", activation), 6, init="xavier", seed=3) as t:
        loss, grads = c_gradients(t, x, y)
        layers64 = [(w.astype(np.float64), b.astype(np.float64)) for w, b in t.net.layers()]
    ref_loss, _ = reference.loss_and_grads(layers64, x.astype(np.float64), y, activation)
    assert loss == pytest.approx(ref_loss, rel=1e-5)
    h = 1e-6
    for li, (w, b) in enumerate(layers64):
        for arr, g in ((w, grads[li][0]), (b, grads[li][1])):
            flat, gflat = arr.reshape(-1), g.reshape(-1)
            for k in range(flat.size):
                if activation == "relu" and k % 3:  # a sample is enough; relu kinks are rare
                    continue
                old = flat[k]
                flat[k] = old + h
                up, _ = reference.loss_and_grads(layers64, x.astype(np.float64), y, activation)
                flat[k] = old - h
                down, _ = reference.loss_and_grads(layers64, x.astype(np.float64), y, activation)
                flat[k] = old
                fd = (up - down) / (2 * h)
                assert gflat[k] == pytest.approx(fd, rel=2e-3, abs=2e-6), (li, k)


@pytest.mark.parametrize("activation", ["sigmoid", "relu", "tanh"])
def test_training_steps_match_numpy_reference(activation):
    x, y = random_data(96, 20, 4, seed=2)
    with host_trainer(("20-32-16-4", activation), 32, lr=0.1, momentum=0.9, weight_decay=1e-3, seed=5) as t:
        layers = [(w.copy(), b.copy()) for w, b in t.net.layers()]
        buf = t.buffers[0]
        buf.x[:96], buf.y[:96] = x, y
        total = t.train_chunk(buf, 96)
        got = t.net.layers()
    losses = reference.train(layers, x, y, activation, 32, lr=0.1, momentum=0.9, weight_decay=1e-3)
    assert total[0] == pytest.approx(sum(l * 32 for l in losses), rel=1e-5)
    for (w, b), (rw, rb) in zip(got, layers):
        np.testing.assert_allclose(w, rw, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(b, rb, rtol=1e-4, atol=1e-6)


MODES = [("host", "copy"), ("implicit", "copy"), ("implicit-myo", "copy"), ("implicit-myo-on-acquire", "copy"),
         ("explicit", "copy"), ("explicit", "resident")]


def train_all(mode, policy, granularity, x, y, arch="20-16-12-5", activation="tanh", chunk=128, bunch=32,
              data_shape=None):
    mode, _, coherence = mode.partition("-")  # implicit-myo-on-acquire -> implicit, myo-on-acquire
    cfg = Config(Arch.parse(arch, activation, data_shape=data_shape), mode=mode, explicit_weights=policy, granularity=granularity,
                 coherence=coherence or "shared",
                 bunch=bunch, chunk=chunk, lr=0.1, momentum=0.5, weight_decay=1e-4, seed=11)
    with Trainer(cfg, x.shape[1], cfg.arch.sizes[-1]) as t:
        for r0 in range(0, len(x), chunk):
            n = min(chunk, len(x) - r0)
            buf = t.buffers[(r0 // chunk) % 2]
            buf.x[:n], buf.y[:n] = x[r0:r0 + n], y[r0:r0 + n]
            t.train_chunk(buf, n)
        t.sync_weights()
        return t.net.blocks["params"].copy(), t.net.blocks["moment"].copy(), t.stats()


# (arch, the data's image shape): an MLP, and a CNN (two convolutions, pooling, a full layer)
# whose 28x28 images are placed into its 29x29 input on the card
NETWORKS = {"mlp": ("20-16-12-5", (20,)), "cnn": ("29x29-c3k6-m4-c4k3-f7-5", (28, 28))}


@pytest.mark.parametrize("net", list(NETWORKS))
def test_all_modes_and_granularities_are_bit_identical(net):
    arch, shape = NETWORKS[net]
    x, y = random_data(250, int(np.prod(shape)), 5, seed=4)  # 2 chunks, a short last bunch and a short last chunk
    ref_p, ref_m, _ = train_all("host", "copy", "chunk", x, y, arch=arch, data_shape=shape)
    for mode, policy in MODES:
        for g in ("chunk", "bunch", "op"):
            p, m, _ = train_all(mode, policy, g, x, y, arch=arch, data_shape=shape)
            assert np.array_equal(p, ref_p), f"{mode}-{policy}/{g}: weights differ"
            assert np.array_equal(m, ref_m), f"{mode}-{policy}/{g}: momentum differs"


def test_explicit_counters_match_array_sizes():
    x, y = random_data(100, 20, 5, seed=6)
    arch = Arch.parse("20-16-12-5", "tanh")
    probe = Network(arch, 32)
    net_bytes = sum(probe.nbytes().values())  # struct + five blocks
    chunk_bytes = x.nbytes + y.nbytes
    _, _, s = train_all("explicit", "copy", "chunk", x, y, chunk=100)
    assert s["bytes_to_card"] == net_bytes + chunk_bytes
    assert s["bytes_from_card"] == net_bytes
    _, _, s = train_all("explicit", "resident", "chunk", x, y, chunk=100)
    # once: the network; per call: the chunk; at the end: weights and momentum come back
    assert s["bytes_to_card"] == net_bytes + probe.struct.nbytes + chunk_bytes
    assert s["bytes_from_card"] == probe.blocks["params"].nbytes + probe.blocks["moment"].nbytes
    _, _, s = train_all("implicit", "copy", "chunk", x, y, chunk=100)
    assert s["bytes_to_card"] == 0 and s["bytes_from_card"] == 0


def test_nan_loss_stops_with_chunk_and_bunch():
    x, y = random_data(64, 20, 5, seed=7)
    x *= 1e30
    with host_trainer(("20-8-5", "relu"), 32, lr=10.0) as t:
        buf = t.buffers[0]
        buf.x[:64], buf.y[:64] = x, y
        with pytest.raises(dnn.KernelError, match=r"(NaN|infinite) in bunch \d+ of this chunk"):
            t.train_chunk(buf, 64)


def test_label_out_of_range_is_named():
    x, y = random_data(32, 20, 5, seed=8)
    y[7] = 9
    with host_trainer(("20-8-5", "relu"), 32) as t:
        buf = t.buffers[0]
        buf.x[:32], buf.y[:32] = x, y
        with pytest.raises(dnn.KernelError, match=r"label 9 at row 7 is out of range \[0, 5\)"):
            t.train_chunk(buf, 32)


def test_bad_configuration_messages():
    arch = Arch.parse("784-100-10")
    with pytest.raises(ValueError, match="takes 784 inputs but the data has 20"):
        Trainer(Config(arch, mode="host"), 20, 10)
    with pytest.raises(ValueError, match="ends with 10 classes but the data has 3"):
        Trainer(Config(arch, mode="host"), 784, 3)
    with pytest.raises(ValueError, match="larger than --chunk"):
        Trainer(Config(arch, mode="host", bunch=200, chunk=100), 784, 10)
    with pytest.raises(ValueError, match="unknown mode"):
        Trainer(Config(arch, mode="gpu"), 784, 10)
    with pytest.raises(ValueError, match="bad --arch"):
        Arch.parse("784-0-10")


@pytest.mark.parametrize("given, bunch, expected", [
    ({}, 100, (0.05, 0.9)),                       # a bunch averages its gradients: momentum helps
    ({}, 1, (0.01, 0.0)),                         # one image per step: CHAOS's plain SGD
    ({"lr": 0.2, "momentum": 0.5}, 1, (0.2, 0.5)),  # given values are kept
])
def test_optimiser_defaults_follow_the_bunch(given, bunch, expected):
    cfg = Config(Arch.parse("4-3-2"), bunch=bunch, **given)
    assert (cfg.lr, cfg.momentum) == expected


def test_workers_default_to_one_image_per_step_with_plain_sgd():
    """Config(workers=N) from Python gets what `dnn.train --workers N` gets: bunch 1, lr 0.01, no momentum."""
    chaos, plain = Config(Arch.parse("4-3-2"), workers=2), Config(Arch.parse("4-3-2"))
    assert (chaos.bunch, chaos.lr, chaos.momentum) == (1, 0.01, 0.0)
    assert (plain.bunch, plain.lr, plain.momentum) == (100, 0.05, 0.9)
    chaos.validate()


def test_cli_leaves_the_bunch_and_optimiser_defaults_to_config(tmp_path, small_dataset):
    """dnn.train --workers 2 without --bunch or --lr trains one image per step at Config's lr."""
    import json

    from dnn.train import main

    metrics = tmp_path / "m.json"
    assert main(["--data", str(small_dataset), "--arch", "20-8-5", "--mode", "host", "--workers", "2", "--epochs", "1",
                 "--quiet", "--metrics", str(metrics)]) == 0
    m = json.loads(metrics.read_text())
    assert (m["bunch"], m["lr"]) == (1, 0.01)


@pytest.mark.parametrize("bunch", [1, 8])
def test_a_velocity_below_the_normal_floats_is_kept_as_zero(bunch):
    """A weight whose gradient is zero: its velocity shrinks by the momentum each update and would
    stick at the smallest denormal floats (every later update then slow); below FLT_MIN it is zero,
    and a normal velocity is kept as it is."""
    tiny = np.finfo(np.float32).tiny
    with host_trainer(("20-32-4", "relu"), bunch, lr=0.1, momentum=0.9, seed=5) as t:
        w0 = t.net.weight(0).copy()
        v = t.net.weight(0, "moment")
        v[...] = 0.0
        v[0, :3] = [tiny, -tiny * 1.05, tiny * 2]  # x 0.9: denormal, denormal, normal
        v[1, 0] = 1e-45  # the smallest denormal: x 0.9 rounds back to itself
        t.net.weight(0, "grads")[...] = 0.0
        t.buffers[0].start(bunch)
        t.run_op(lib.DNN_OP_UPDATE, 0, t.buffers[0], 0, bunch)
        assert list(v[0, :3]) == [0.0, 0.0, np.float32(0.9) * np.float32(tiny * 2)]
        assert v[1, 0] == 0.0
        assert np.count_nonzero(v) == 1
        np.testing.assert_array_equal(t.net.weight(0)[1:], w0[1:])


@pytest.mark.parametrize("lr", [0.01, 0.1, 1.0])
def test_an_update_too_small_for_a_weight_gives_the_plain_step_bits(lr):
    """lr x V below FLT_MIN is not computed for a weight of 2^-100 or more (train.cilk's sgd_block:
    it is under half the weight's ulp): every weight ends with the bits of W - lr V computed in
    float32 with denormals, the tiny weights (which that product does move) and zeros included."""
    rng = np.random.default_rng(3)
    tiny = np.finfo(np.float32).tiny
    with host_trainer(("20-32-4", "relu"), 1, lr=lr, momentum=0.9, seed=5) as t:
        w, v = t.net.weight(0), t.net.weight(0, "moment")
        n = w.size
        # velocities from just above FLT_MIN to past FLT_MIN / lr, and ordinary ones
        v.flat[:] = np.where(rng.random(n) < 0.8, tiny * np.exp(rng.uniform(0, np.log(4 / lr), n)),
                             rng.normal(0, 1e-3, n)).astype(np.float32) * rng.choice([-1, 1], n)
        # weights: ordinary, at and around 2^-100, far below it (the product moves them), zero
        w.flat[:] = rng.choice([rng.normal(0, 0.1), 2.0**-100, 2.0**-100 * 0.99, 1e-35, 3e-38, 0.0, -0.0], n)
        w.flat[:8] = [1.0, 2.0**-100, -2.0**-100, np.nextafter(2.0**-100, 0), 1e-37, tiny, 0.0, -1e-30]
        t.net.weight(0, "grads")[...] = 0.0
        w0, v0 = w.astype(np.float32).copy(), v.astype(np.float32).copy()
        t.buffers[0].start(1)
        t.run_op(lib.DNN_OP_UPDATE, 0, t.buffers[0], 0, 1)
        v1 = np.float32(0.9) * v0
        v1[np.abs(v1) < tiny] = 0.0
        want = w0 - np.float32(lr) * v1
        assert np.array_equal(v, v1)
        assert np.array_equal(w.view(np.uint32), want.view(np.uint32))
        assert np.count_nonzero(want != w0) > 0  # some products do move their weights
