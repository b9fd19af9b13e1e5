"""The convolutional layers of native/dnn/conv.cilk against their NumPy reference (dnn/reference_cnn.py),
and both against finite differences: every activation, odd sizes, 1x1 pooling, a kernel as large
as its input, and bunches that end in a partial GEMM slice."""

from __future__ import annotations

import numpy as np
import pytest

from dnn import cnn_spec
from dnn import reference_cnn as ref
from dnn.offload import ffi, lib

ACTS = {"sigmoid": lib.DNN_SIGMOID, "relu": lib.DNN_RELU, "tanh": lib.DNN_TANH, "stanh": lib.DNN_STANH}


def _p(a, ctype="float *"):
    return ffi.NULL if a is None else ffi.cast(ctype, a.ctypes.data)


def _f32(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def _maps(c, h, w):
    return {"C": c, "H": h, "W": w}


class CLayers:
    """The C kernels on NumPy arrays, in the reference's shapes."""

    def conv(self, x, k, act, slice_=2, parts=1, split=1):
        n, h, w, c = x.shape
        kk, _, _, m = k.shape
        geo = ffi.new("dnn_conv *", {"in": _maps(c, h, w), "out": _maps(m, h - kk + 1, w - kk + 1), "k": kk,
                                     "act": act, "slice": slice_, "parts": parts, "split": split})
        return geo, np.zeros(lib.dnn_conv_scratch(geo), np.float32)

    def conv_forward(self, x, k, b, act, **kw):
        """The kernel K and its bias go in as the one (k*k*C + 1, M) matrix the layer keeps."""
        geo, scratch = self.conv(x, k, act, **kw)
        kb = np.concatenate([k.reshape(-1, k.shape[-1]), b[None]])
        y = np.full((x.shape[0], geo.out.H, geo.out.W, geo.out.C), np.nan, np.float32)
        lib.dnnConvForward(_p(y), _p(scratch), _p(x), _p(kb), x.shape[0], geo)
        return y

    def conv_backward(self, dz, x, k, want_dx=True, **kw):
        geo, scratch = self.conv(x, k, 0, **kw)
        kb = np.concatenate([k.reshape(-1, k.shape[-1]), np.full((1, k.shape[-1]), np.nan, np.float32)])
        dx = np.full(x.shape, np.nan, np.float32) if want_dx else None
        dkb = np.full(kb.shape, np.nan, np.float32)
        lib.dnnConvBackward(_p(dx), _p(dkb), _p(scratch), _p(dz), _p(x), _p(kb), x.shape[0], geo)
        return dx, dkb[:-1].reshape(k.shape), dkb[-1]

    def pool(self, shape, p):
        n, h, w, c = shape
        return ffi.new("dnn_pool *", {"in": _maps(c, h, w), "out": _maps(c, h // p, w // p), "p": p})

    def pool_forward(self, x, p):
        geo = self.pool(x.shape, p)
        y = np.full((x.shape[0], geo.out.H, geo.out.W, geo.out.C), np.nan, np.float32)
        arg = np.full(y.shape, -1, np.int32)
        lib.dnnPoolForward(_p(y), _p(arg, "int32_t *"), _p(x), x.shape[0], geo)
        return y, arg

    def pool_backward(self, dy, arg, x_shape, p):
        dx = np.full(x_shape, np.nan, np.float32)
        lib.dnnPoolBackward(_p(dx), _p(dy), _p(arg, "int32_t *"), x_shape[0], self.pool(x_shape, p))
        return dx


@pytest.fixture(scope="module")
def c():
    return CLayers()


# (n, H, W, C, M, k): odd sizes, a kernel as large as its input, one map in or out, and a bunch
# of 5 that leaves a partial slice of 2.
CONV_CASES = [(5, 9, 7, 3, 4, 3), (3, 5, 5, 2, 3, 5), (1, 6, 11, 1, 1, 2), (4, 4, 4, 5, 2, 1), (2, 29, 29, 1, 5, 4)]


def _close(got, want, tol=2e-5):
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * max(1.0, float(np.abs(want).max())))


@pytest.mark.parametrize("case", CONV_CASES)
def test_convolution_matches_reference(c, case):
    n, h, w, ch, m, k = case
    rng = np.random.default_rng(sum(case))
    x, kern, b = _f32(rng, n, h, w, ch), _f32(rng, k, k, ch, m), _f32(rng, m)
    z = ref.conv_forward(x.astype(np.float64), kern.astype(np.float64), b.astype(np.float64))
    for act, code in ACTS.items():
        _close(c.conv_forward(x, kern, b, code), ref.activate(z, act))
    dz = _f32(rng, *z.shape)
    want = ref.conv_backward(dz.astype(np.float64), x.astype(np.float64), kern.astype(np.float64))
    for got, exp in zip(c.conv_backward(dz, x, kern), want):
        _close(got, exp)
    dx, dk, db = c.conv_backward(dz, x, kern, want_dx=False)  # the first layer: no dX
    _close(dk, want[1])


def test_gemm_slices_agree(c):
    """The bunch through the GEMMs in slices of 1, 3 or all images: the same layer, to float
    rounding, and the weight gradients of the slices add up."""
    rng = np.random.default_rng(5)
    x, kern, b = _f32(rng, 7, 13, 13, 3), _f32(rng, 4, 4, 3, 6), _f32(rng, 6)
    dz = _f32(rng, 7, 10, 10, 6)
    ys = [c.conv_forward(x, kern, b, 2, slice_=s) for s in (1, 3, 7)]
    grads = [c.conv_backward(dz, x, kern, slice_=s) for s in (1, 3, 7)]
    for y, g in zip(ys[1:], grads[1:]):
        _close(y, ys[0])
        for got, want in zip(g, grads[0]):
            _close(got, want)


@pytest.fixture
def two_threads():
    """This process's OpenMP and BLAS threads at 2 for the test (a host-mode trainer sets them to its
    --threads), back to 1 after it."""
    lib.dnn_set_threads(2)
    yield
    lib.dnn_set_threads(1)


# One image whose GEMMs are large enough to be split (conv_gemm.c): by rows (many pixels, few
# maps) and by columns (few pixels, many maps and a long kernel).
SPLIT_CASES = [(1, 29, 29, 8, 64, 5), (1, 9, 9, 64, 128, 6)]


@pytest.mark.parametrize("case", CONV_CASES + SPLIT_CASES)
def test_threads_sharing_a_convolution_match_reference(c, two_threads, case):
    """A bunch cut into parts, one per thread, each with its own im2col and kernel gradient (the
    gradients added at the end), and one image's GEMMs split by rows or columns (the backward's two
    GEMMs at once: each whole on its own thread with 2, one of them cut in two with 3): the same
    layer as the reference, to float rounding."""
    n, h, w, ch, m, k = case
    rng = np.random.default_rng(sum(case) + 1)
    x, kern, b = _f32(rng, n, h, w, ch), _f32(rng, k, k, ch, m), _f32(rng, m)
    z = ref.conv_forward(x.astype(np.float64), kern.astype(np.float64), b.astype(np.float64))
    dz = _f32(rng, *z.shape)
    want = ref.conv_backward(dz.astype(np.float64), x.astype(np.float64), kern.astype(np.float64))
    shares = [{"split": 2}, {"split": 3}] if case in SPLIT_CASES else [{"parts": 2, "slice_": 1}, {"parts": 3, "slice_": 2}]
    tol = 1e-4 if case in SPLIT_CASES else 2e-5  # float sums of up to 2,305 terms
    for share in shares:
        _close(c.conv_forward(x, kern, b, lib.DNN_TANH, **share), ref.activate(z, "tanh"), tol)
        for got, exp in zip(c.conv_backward(dz, x, kern, **share), want):
            _close(got, exp, tol)
        _close(c.conv_backward(dz, x, kern, want_dx=False, **share)[1], want[1], tol)


def test_parts_add_their_kernel_gradients(c, two_threads):
    """Two parts: the kernel's gradient is part 0's plus part 1's (each half of the bunch alone)."""
    rng = np.random.default_rng(8)
    x, kern, dz = _f32(rng, 6, 8, 8, 2), _f32(rng, 3, 3, 2, 4), _f32(rng, 6, 6, 6, 4)
    _, dk, db = c.conv_backward(dz, x, kern, parts=2)
    halves = [c.conv_backward(dz[h], x[h], kern) for h in (slice(0, 3), slice(3, 6))]
    np.testing.assert_array_equal(dk, halves[0][1] + halves[1][1])
    np.testing.assert_array_equal(db, halves[0][2] + halves[1][2])


# Few maps (1 to 5: pixel runs shorter than a vector) and many (8, 17).
@pytest.mark.parametrize("p,shape", [(1, (2, 5, 3, 4)), (2, (3, 6, 4, 5)), (3, (2, 9, 3, 1)), (5, (1, 5, 5, 2)),
                                     (2, (2, 4, 6, 8)), (3, (1, 6, 3, 17))])
def test_pooling_matches_reference(c, p, shape):
    rng = np.random.default_rng(p)
    x = _f32(rng, *shape)
    x[0, 0, 0, 0] = x[0, 0, min(1, shape[2] - 1), 0] = 9.0  # a tie: the first maximum wins
    y, arg = c.pool_forward(x, p)
    ry, rarg = ref.pool_forward(x, p)
    np.testing.assert_array_equal(y, ry)
    np.testing.assert_array_equal(arg, rarg)
    dy = _f32(rng, *y.shape)
    np.testing.assert_array_equal(c.pool_backward(dy, arg, x.shape, p), ref.pool_backward(dy, arg, x.shape))


@pytest.mark.parametrize("act", list(ACTS))
def test_activation_gradient_and_bias_sums_match_reference(act):
    rng = np.random.default_rng(ACTS[act])
    rows, width = 1001, 7
    y0, b = _f32(rng, rows, width), _f32(rng, width)
    y = y0.copy()
    lib.dnnBiasAct(_p(y), _p(b), rows, width, ACTS[act])
    _close(y, ref.activate(y0.astype(np.float64) + b, act))
    flat = y0.copy()
    lib.dnnActivate(_p(flat), flat.size, ACTS[act])
    _close(flat, ref.activate(y0.astype(np.float64), act))
    e0 = _f32(rng, rows, width)
    e = e0.copy()
    lib.dnnActGrad(_p(e), _p(y), rows, width, ACTS[act])
    _close(e, e0 * ref.activate_grad(y.astype(np.float64), act))
    sums = np.zeros(width, np.float32)
    lib.dnnColumnSums(_p(sums), _p(e0), rows, width)
    _close(sums, e0.astype(np.float64).sum(axis=0))


def test_28x28_images_go_top_left_of_29x29():
    x = np.arange(2 * 28 * 28, dtype=np.float32).reshape(2, 784) + 1
    out = np.full((2, 29, 29), np.nan, np.float32)
    lib.dnnPlaceImages(_p(out), _p(x), 2, 28, 28, 29, 29)
    np.testing.assert_array_equal(out, ref.place(x, 28, 28, 29, 29))
    assert (out[:, 28, :] == 0).all() and (out[:, :, 28] == 0).all() and out[1, 0, 0] == 785


# ---- finite differences -----------------------------------------------------------------------

def _numeric_grad(f, a, eps, picks):
    """Central differences of the scalar f() at a few picked flat indices of a (changed in place)."""
    flat, out = a.reshape(-1), []
    for i in picks:
        keep = flat[i]
        flat[i] = keep + eps
        up = f()
        flat[i] = keep - eps
        down = f()
        flat[i] = keep
        out.append((up - down) / (2 * eps))
    return np.array(out)


NETS = ["9x7-c3k2-m2-c2k3-f5-3",     # odd sizes, two convolutions, a full layer
        "5x5-c2k5-4",                # a kernel as large as its input
        "7x7-c3k3-m1-m5-f3-2",       # 1x1 pooling, and a window as large as the maps
        "11x15-c2k4-m4-c3k1-3"]     # a 1x1 kernel on pooled maps


def _init(spec, rng):
    params = []
    for i, l in enumerate(spec.layers[1:], 1):
        c, h, w = spec.layers[i - 1].shape
        if l.kind == "conv":
            kernel = rng.standard_normal((l.kernel, l.kernel, c, l.size)) * 0.5
            params.append((kernel, rng.standard_normal(l.size) * 0.1))
        elif l.kind in ("full", "output"):
            params.append((rng.standard_normal((l.size, c * h * w)) * 0.5, rng.standard_normal(l.size) * 0.1))
    return params


@pytest.mark.parametrize("act", list(ACTS))
@pytest.mark.parametrize("text", NETS)
def test_reference_gradients_match_finite_differences(text, act):
    """The reference backward (float64) against central differences of its loss, every weight and
    bias tensor of every layer."""
    spec = cnn_spec.parse(text)
    rng = np.random.default_rng(len(text))
    params = _init(spec, rng)
    x = rng.standard_normal((3, spec.inputs))
    labels = rng.integers(0, spec.classes, 3)
    _, grads = ref.loss_and_grads(spec, params, x, labels, act)

    def loss():
        return ref.loss_and_grads(spec, params, x, labels, act)[0]

    for (w, b), (gw, gb) in zip(params, grads):
        for a, g in ((w, gw), (b, gb)):
            picks = rng.choice(a.size, min(a.size, 6), replace=False)
            np.testing.assert_allclose(_numeric_grad(loss, a, 1e-6, picks), g.reshape(-1)[picks], rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("act", list(ACTS))
def test_c_convolution_and_pooling_gradients_match_finite_differences(c, act):
    """The C layers in float32 on their own: loss = sum(G * pool(act(conv(X)))), its gradient from
    dnnPoolBackward, dnnActGrad and dnnConvBackward against central differences of the C forward."""
    rng = np.random.default_rng(ACTS[act])
    x, kern, b = _f32(rng, 2, 7, 9, 2), _f32(rng, 3, 3, 2, 3) * 0.5, _f32(rng, 3) * 0.1
    g = _f32(rng, 2, 5, 7, 3)  # pooled 1x1: every output counts

    def outputs():
        y = c.conv_forward(x, kern, b, ACTS[act])
        return y, c.pool_forward(y, 1)

    def loss():
        return float(np.sum(g.astype(np.float64) * outputs()[1][0]))

    y, (_, arg) = outputs()
    dz = c.pool_backward(g, arg, y.shape, 1)
    lib.dnnActGrad(_p(dz), _p(y), dz.size // 3, 3, ACTS[act])
    dx, dk, db = c.conv_backward(dz, x, kern)
    for a, grad in ((kern, dk), (b, db), (x, dx)):
        picks = rng.choice(a.size, min(a.size, 8), replace=False)
        np.testing.assert_allclose(_numeric_grad(loss, a, 1e-3, picks), grad.reshape(-1)[picks], rtol=1e-2, atol=1e-2)


def test_c_pooling_gradient_matches_finite_differences(c):
    rng = np.random.default_rng(3)
    x, g = _f32(rng, 2, 6, 9, 2), _f32(rng, 2, 2, 3, 2)
    _, arg = c.pool_forward(x, 3)
    dx = c.pool_backward(g, arg, x.shape, 3)
    loss = lambda: float(np.sum(g.astype(np.float64) * c.pool_forward(x, 3)[0]))  # noqa: E731
    picks = np.arange(x.size)
    np.testing.assert_allclose(_numeric_grad(loss, x, 1e-3, picks), dx.reshape(-1), rtol=1e-2, atol=1e-2)
